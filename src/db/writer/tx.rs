//! One write: a savepoint in the current batch (SQLite), a transaction of
//! its own begun at its first statement (PostgreSQL), or — made by
//! `Writer::one` on PostgreSQL — one statement in autocommit. Only the
//! writer makes one, and only the writer ends it.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement, TransactionTrait};
use tokio::sync::{OnceCell, oneshot};

use super::sums::{SumSet, Sums};
use super::{Turn, Writer, run_all, shared};

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What `WriteTx::defer` takes: inserts (sealed).
pub trait Deferrable: sea_orm::QueryTrait + sealed::Insert {}
impl<A: sea_orm::ActiveModelTrait> Deferrable for sea_orm::Insert<A> {}
impl<A: sea_orm::ActiveModelTrait> Deferrable for sea_orm::InsertMany<A> {}

mod sealed {
    pub trait Insert {}
    impl<A: sea_orm::ActiveModelTrait> Insert for sea_orm::Insert<A> {}
    impl<A: sea_orm::ActiveModelTrait> Insert for sea_orm::InsertMany<A> {}
}

/// The handle a write's closure gets (`Writer::transaction`, `Writer::one`).
/// Cheap to clone, but it must not outlive the closure: the writer ends the
/// write when the closure returns (a handle kept beyond fails the write).
#[derive(Clone)]
pub struct WriteTx(pub(super) Arc<TxState>);

pub(super) struct TxState {
    /// The transaction (SQLite: the savepoint), begun when first needed on
    /// PostgreSQL: a write of deferred statements only never sends `BEGIN`.
    pub(super) inner: OnceCell<DatabaseTransaction>,
    pub(super) writer: Writer,
    turn: Option<Turn>,
    /// One statement, in autocommit on PostgreSQL (`Writer::one`).
    pub(super) single: bool,
    /// A statement was sent (a `single` write's second one fails).
    pub(super) sent: AtomicBool,
    /// Commit-time additions (`Sums`).
    sums: std::sync::Mutex<SumSet>,
    /// Statements whose results nobody reads, sent when this write commits.
    deferred: std::sync::Mutex<Vec<Statement>>,
    /// What runs once the write is durable.
    hooks: std::sync::Mutex<Vec<Hook>>,
    rollback_only: AtomicBool,
}

fn taken<T>(m: std::sync::Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|p| p.into_inner())
}

impl TxState {
    pub(super) fn handle(
        writer: Writer,
        inner: OnceCell<DatabaseTransaction>,
        turn: Option<Turn>,
        single: bool,
    ) -> WriteTx {
        WriteTx(Arc::new(TxState {
            inner,
            writer,
            turn,
            single,
            sent: AtomicBool::new(false),
            sums: Default::default(),
            deferred: Default::default(),
            hooks: Default::default(),
            rollback_only: AtomicBool::new(false),
        }))
    }
}

impl WriteTx {
    /// Adds to this write's commit-time sums of kind `S`.
    pub fn sum<S: Sums>(&self, add: impl FnOnce(&mut S) -> Result<(), DbErr>) -> Result<(), DbErr> {
        add(self
            .0
            .sums
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .of::<S>())
    }

    /// Queues an insert nothing later in this write reads (rows known in
    /// full): it is sent when the write commits, in order with the others —
    /// on PostgreSQL all of them, and the sums, as one statement. Only
    /// inserts can be deferred ([`Deferrable`]): within one statement two
    /// parts must not touch the same row, and two inserts of one row fail
    /// the commit (its key) instead of one silently missing the other. Its
    /// errors are the commit's.
    pub fn defer(&self, q: &impl Deferrable) {
        let stmt = q.build(self.get_database_backend());
        self.0
            .deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stmt);
    }

    /// Runs `hook` once this write is durable (not at all if it rolls back):
    /// wake-ups, events to subscribers. The write's caller gets its answer
    /// after the hooks ran.
    pub fn on_commit(&self, hook: impl Future<Output = ()> + Send + 'static) {
        self.0
            .hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::pin(hook));
    }

    /// Rolls this write back when its closure returns, even with `Ok`: for
    /// a write that found nothing to do halfway.
    pub fn rollback_only(&self) {
        self.0.rollback_only.store(true, Ordering::Release);
    }

    /// The transaction, begun now if it was not yet.
    pub(super) async fn tx(&self) -> Result<&DatabaseTransaction, DbErr> {
        self.0
            .inner
            .get_or_try_init(|| self.0.writer.0.db.begin())
            .await
    }

    /// Ends the write as its closure's `result` says; commit failures are
    /// the closure's error type.
    pub(super) async fn end<T, E: From<DbErr>>(self, result: Result<T, E>) -> Result<T, E> {
        let hooks = std::mem::take(&mut *self.0.hooks.lock().unwrap_or_else(|p| p.into_inner()));
        let commit = result.is_ok() && !self.0.rollback_only.load(Ordering::Acquire);
        if commit {
            self.commit().await?;
            for hook in hooks {
                hook.await;
            }
            return result;
        }
        if let Err(e) = self.rollback().await {
            // The savepoint's rollback failed: the batch was abandoned (its
            // writes fail); this write answers with its own outcome.
            tracing::error!(error = %e, "a write's rollback failed");
            if result.is_ok() {
                return Err(e.into());
            }
        }
        result
    }

    fn into_state(self) -> Result<TxState, DbErr> {
        Arc::try_unwrap(self.0).map_err(|_| {
            // The other handle's drop rolls the write back (`Turn::drop`).
            DbErr::Custom("a write's handle outlived its closure".into())
        })
    }

    /// Makes the write durable: returns once the `COMMIT` holding it did.
    pub(super) async fn commit(self) -> Result<(), DbErr> {
        let TxState {
            inner,
            writer,
            turn,
            single,
            sent,
            sums,
            deferred,
            ..
        } = self.into_state()?;
        let sums = taken(sums);
        let mut deferred = taken(deferred);
        let Some(mut turn) = turn else {
            deferred.extend(sums.statements(writer.backend()));
            if single && sent.load(Ordering::Acquire) && !deferred.is_empty() {
                return Err(DbErr::Custom(
                    "a one-statement write deferred statements after its statement".into(),
                ));
            }
            let Some(inner) = inner.into_inner() else {
                // Nothing ran yet (or one statement in autocommit): the
                // deferred statements alone, as one statement (atomic by
                // itself), without `BEGIN`/`COMMIT`.
                return run_all(&writer.0.autocommit, deferred).await;
            };
            if let Err(e) = run_all(&inner, deferred).await {
                let _ = inner.rollback().await;
                return Err(e);
            }
            return inner.commit().await;
        };
        let inner = inner
            .into_inner()
            .ok_or_else(|| DbErr::Custom("a batched write without its savepoint".into()))?;
        let mut batch = turn.batch.take().expect("the turn is held until the end");
        // The batch's sums with this write's, kept only if its savepoint is
        // released: a write that fails here leaves nothing behind.
        let mut batch_sums = batch.sums.clone();
        let failed = match batch_sums.merge(sums) {
            Ok(()) => run_all(&inner, deferred).await.err(),
            Err(e) => Some(e),
        };
        // The savepoint released or rolled back; if that fails, the batch's
        // transaction broke (`abandon`).
        let ended = match &failed {
            None => inner.commit().await,
            Some(_) => inner.rollback().await,
        };
        if let Err(broke) = ended {
            turn.writer.abandon(&mut batch, &broke).await;
            return Err(failed.unwrap_or(broke));
        }
        if let Some(e) = failed {
            drop(batch);
            turn.writer.commit_soon();
            return Err(e);
        }
        batch.sums = batch_sums;
        let (done, committed) = oneshot::channel();
        batch.waiting.push(done);
        drop(batch);
        turn.writer.commit_soon();
        match committed.await {
            // The batch's own error (`shared`): a full disk, an I/O error,
            // a busy database answer 503 (`db::is_unavailable`).
            Ok(result) => result,
            Err(_) => Err(shared(
                &DbErr::Custom("no answer".into()),
                "group commit abandoned",
            )),
        }
    }

    /// Undoes this write only; the batch goes on.
    pub(super) async fn rollback(self) -> Result<(), DbErr> {
        let TxState { inner, turn, .. } = self.into_state()?;
        let result = match inner.into_inner() {
            Some(inner) => inner.rollback().await,
            None => Ok(()),
        };
        if let Some(mut turn) = turn {
            let mut batch = turn.batch.take().expect("the turn is held until the end");
            match &result {
                // The savepoint could not be rolled back: the batch broke.
                Err(broke) => turn.writer.abandon(&mut batch, broke).await,
                Ok(()) => {
                    drop(batch);
                    turn.writer.commit_soon();
                }
            }
        }
        result
    }
}
