//! Group commit: on SQLite every write transaction of the process shares
//! one `BEGIN IMMEDIATE … COMMIT` with the others that arrive meanwhile, so
//! one fsync makes many of them durable.
//!
//! There are two ways to write, and no other (the writer is not a
//! connection: passing it where one is expected does not compile):
//! - `writer.transaction(|tx| async move { … })`: what the closure runs on
//!   `tx` commits when it returns `Ok` (the call returns once it is
//!   durable, then runs the `on_commit` hooks), and rolls back on `Err` or
//!   when `tx.rollback_only()` was called.
//! - `writer.one(|c| async move { … })`: one statement, atomic by itself
//!   (on PostgreSQL sent alone in autocommit — no `BEGIN`/`COMMIT` round
//!   trips —, and a second statement fails there).
//!
//! On SQLite a write takes the writer's connection in turn (a FIFO lock:
//! callers queue, none fails — that is the backpressure), runs inside its
//! own `SAVEPOINT` (a failing write rolls back alone and answers its own
//! error), releases the savepoint and waits. A committer task queued behind
//! the writers waiting at that moment commits them all at once and answers
//! each; writes arriving meanwhile form the next batch. Nobody is told a
//! write succeeded before the `COMMIT` that holds it returned
//! (synchronous=FULL: durability unchanged), and a batch that fails gives
//! each of its writes the database's own error (`shared`). Reads stay on
//! the WAL reader pool.
//!
//! PostgreSQL already shares WAL flushes between concurrent commits, and its
//! writers run in parallel: there a write is a plain transaction, begun at
//! its first statement.
//!
//! Either way a write may defer statements nothing later in it reads (rows
//! known in full: the inserts of a create, the outbox rows — `tx.defer`)
//! and commit-time additions (`Sums`, `tx.sum`): they are sent when it
//! commits. On PostgreSQL they go as one statement; a write made only of
//! them (a create) is that one statement, without `BEGIN` and `COMMIT` —
//! one round trip.
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OnceCell, OwnedMutexGuard, oneshot};

pub use sums::Sums;
pub use tx::WriteTx;

use sums::SumSet;
use tx::TxState;

/// The open batch: its transaction, the writes waiting for its commit and
/// the sums they added.
#[derive(Default)]
struct Batch {
    tx: Option<DatabaseTransaction>,
    waiting: Vec<oneshot::Sender<Result<(), DbErr>>>,
    sums: SumSet,
    /// A write was dropped halfway (a panic): its savepoint's rollback was
    /// only queued, and may have failed unseen. The batch is committed
    /// before the next write joins it (a failure then shows there).
    dropped: bool,
}

/// The process's writer (cheap to clone: one shared state).
#[derive(Clone)]
pub struct Writer(Arc<Shared>);

struct Shared {
    db: DatabaseConnection,
    /// For a write that is one statement outside any transaction (PostgreSQL:
    /// the reads' pool, which skips the release check — a connection that
    /// never sent `BEGIN` cannot come back inside a transaction).
    autocommit: DatabaseConnection,
    batched: bool,
    batch: Arc<Mutex<Batch>>,
    commit_queued: AtomicBool,
    /// The last batch failed to commit (a full disk, an I/O error): writes
    /// cannot be trusted to commit until one does (`Writer::can_commit`).
    failing: AtomicBool,
}

/// The writer's turn held by one write.
struct Turn {
    writer: Writer,
    batch: Option<OwnedMutexGuard<Batch>>,
}

impl Drop for Turn {
    /// A write dropped without commit or rollback (a panic inside it): its
    /// savepoint is rolled back (sea-orm, on dropping it, before this), and
    /// the writes already released into the batch still get their commit.
    fn drop(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            batch.dropped = true;
            drop(batch);
            self.writer.commit_soon();
        }
    }
}

/// A copy of `e` for each write of a failed batch (`DbErr` is not `Clone`):
/// the database's own error where there is one (its `Arc` shared), so a
/// unique violation or a full disk is recognised as such (`db::
/// is_unique_violation`, `db::is_unavailable`); otherwise a connection-
/// level error (503): the store failed the write, not its request.
fn shared(e: &DbErr, context: &str) -> DbErr {
    use sea_orm::RuntimeErr::SqlxError;
    match e {
        DbErr::Conn(SqlxError(s)) => DbErr::Conn(SqlxError(s.clone())),
        DbErr::Exec(SqlxError(s)) => DbErr::Exec(SqlxError(s.clone())),
        DbErr::Query(SqlxError(s)) => DbErr::Query(SqlxError(s.clone())),
        other => DbErr::Conn(sea_orm::RuntimeErr::Internal(format!("{context}: {other}"))),
    }
}

impl Writer {
    /// Writes on `db`; one-statement writes outside a transaction on
    /// `autocommit` (may be the same pool).
    pub fn new(db: DatabaseConnection, autocommit: DatabaseConnection) -> Writer {
        Writer(Arc::new(Shared {
            batched: db.get_database_backend() == DbBackend::Sqlite,
            db,
            autocommit,
            batch: Arc::default(),
            commit_queued: AtomicBool::new(false),
            failing: AtomicBool::new(false),
        }))
    }

    pub fn backend(&self) -> DbBackend {
        self.0.db.get_database_backend()
    }

    /// One write transaction: `work`'s statements on its `WriteTx` commit
    /// together when it returns `Ok` (this returns once the commit is
    /// durable, then runs the write's `on_commit` hooks), or roll back
    /// together on `Err` (or after `rollback_only`). A failure to commit is
    /// `work`'s error type, from the `DbErr`.
    pub async fn transaction<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(WriteTx) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<DbErr>,
    {
        let tx = self.begin(false).await?;
        let result = work(tx.clone()).await;
        tx.end(result).await
    }

    /// A write of one statement (`work` runs one on `c`): batched like any
    /// other on SQLite; on PostgreSQL the statement alone, in autocommit
    /// (a second one fails: it would not be atomic with the first).
    pub async fn one<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(WriteTx) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<DbErr>,
    {
        let tx = self.begin(true).await?;
        let result = work(tx.clone()).await;
        tx.end(result).await
    }

    /// Whether writes commit. Free while they do; after a batch failed to
    /// commit, not until a probe write commits, within `within`: page 1
    /// rewritten (`PRAGMA user_version` set to itself, nothing else
    /// changes). A write that changes nothing would prove nothing: on a
    /// full disk its `COMMIT` succeeds, writing nothing.
    pub async fn can_commit(&self, within: std::time::Duration) -> bool {
        if !self.0.failing.load(Ordering::Acquire) {
            return true;
        }
        let probe = self.transaction(|tx| async move {
            let version = tx
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA user_version",
                ))
                .await?
                .map(|r| r.try_get_by_index::<i64>(0))
                .transpose()?
                .unwrap_or(0);
            tx.execute_unprepared(&format!("PRAGMA user_version = {version}"))
                .await
                .map(drop)
        });
        let committed = matches!(
            tokio::time::timeout(within, probe).await,
            Ok(Ok::<(), DbErr>(()))
        );
        if committed {
            self.0.failing.store(false, Ordering::Release);
        }
        committed
    }

    /// Starts a write (waits for the writer's turn on SQLite); `single`: one
    /// statement, in autocommit on PostgreSQL.
    async fn begin(&self, single: bool) -> Result<WriteTx, DbErr> {
        if !self.0.batched {
            return Ok(TxState::handle(self.clone(), OnceCell::new(), None, single));
        }
        let mut batch = self.0.batch.clone().lock_owned().await;
        if std::mem::take(&mut batch.dropped) {
            self.commit(&mut batch).await;
        }
        if batch.tx.is_none() {
            // The write lock up front: no lock upgrade, no deadlock.
            let begun = self
                .0
                .db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await;
            match begun {
                Ok(tx) => batch.tx = Some(tx),
                Err(e) => {
                    self.0.failing.store(true, Ordering::Release);
                    return Err(e);
                }
            }
        }
        let outer = batch.tx.as_ref().expect("opened above");
        let inner = match outer.begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => {
                // The batch's transaction is unusable: end it for everyone.
                self.abandon(&mut batch, &e).await;
                return Err(e);
            }
        };
        let turn = Turn {
            writer: self.clone(),
            batch: Some(batch),
        };
        Ok(TxState::handle(
            self.clone(),
            OnceCell::new_with(Some(inner)),
            Some(turn),
            single,
        ))
    }

    /// Commits the open batch, if any, and answers the writes it holds.
    async fn commit(&self, batch: &mut Batch) {
        batch.dropped = false;
        let waiting = std::mem::take(&mut batch.waiting);
        let sums = std::mem::take(&mut batch.sums);
        let result = match batch.tx.take() {
            Some(tx) => match run_all(&tx, sums.statements(DbBackend::Sqlite)).await {
                Ok(()) => tx.commit().await,
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            },
            None => Ok(()),
        };
        // A failed `COMMIT` leaves the connection in whatever state SQLite
        // chose (on `SQLITE_FULL` it rolls back by itself; on `SQLITE_BUSY` it
        // stays inside): sea-orm rolls back when the transaction is dropped,
        // and the pool closes the connection if it still came back inside
        // one (`db::sqlite_outside_transaction`).
        if let Err(e) = &result {
            self.0.failing.store(true, Ordering::Release);
            tracing::error!(error = %e, writes = waiting.len(), "group commit failed");
        }
        for w in waiting {
            let _ = w.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(shared(e, "group commit failed")),
            });
        }
    }

    /// Ends the open batch without committing it: a savepoint could not be
    /// rolled back or released, so the transaction is no longer the one the
    /// batch began (SQLite rolls it back by itself on `SQLITE_FULL` or
    /// `SQLITE_IOERR`; a `SAVEPOINT` sent then would open a new one, outside
    /// the batch). The writes waiting for it fail (none was told it
    /// succeeded) with `cause`; its connection goes back rolled back, or is
    /// closed (`db::sqlite_outside_transaction`).
    async fn abandon(&self, batch: &mut Batch, cause: &DbErr) {
        let waiting = std::mem::take(&mut batch.waiting);
        batch.sums = SumSet::default();
        batch.dropped = false;
        if let Some(tx) = batch.tx.take() {
            let _ = tx.rollback().await;
        }
        self.0.failing.store(true, Ordering::Release);
        tracing::error!(error = %cause, writes = waiting.len(), "group commit abandoned: its transaction broke");
        for w in waiting {
            let _ = w.send(Err(shared(cause, "the batch's transaction broke")));
        }
    }

    /// Queues one committer behind the writers waiting now (at most one is
    /// queued at a time): it commits everything released before its turn.
    fn commit_soon(&self) {
        if tokio::runtime::Handle::try_current().is_err()
            || self.0.commit_queued.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let writer = self.clone();
        tokio::spawn(async move {
            let mut batch = writer.0.batch.clone().lock_owned().await;
            writer.0.commit_queued.store(false, Ordering::Release);
            writer.commit(&mut batch).await;
        });
    }
}

mod chained;
mod connection;
mod sums;
#[cfg(test)]
mod tests;
mod tx;

use chained::run_all;
