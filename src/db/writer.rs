//! Group commit: on SQLite every write transaction of the process shares
//! one `BEGIN IMMEDIATE … COMMIT` with the others that arrive meanwhile, so
//! one fsync makes many of them durable.
//!
//! A write takes the writer's connection in turn (a FIFO lock: callers
//! queue, none fails — that is the backpressure), runs inside its own
//! `SAVEPOINT` (a failing write rolls back alone and answers its own error),
//! releases the savepoint and waits. A committer task queued behind the
//! writers waiting at that moment commits them all at once and answers
//! each; writes arriving meanwhile form the next batch. Nobody is told a
//! write succeeded before the `COMMIT` that holds it returned
//! (synchronous=FULL: durability unchanged). Reads stay on the WAL reader pool.
//!
//! PostgreSQL already shares WAL flushes between concurrent commits, and its
//! writers run in parallel: there a write is a plain transaction, begun at
//! its first statement.
//!
//! Either way a write may defer statements nothing later in it reads (rows
//! known in full: the inserts of a create, the outbox rows) and counter
//! additions (`counters`): they are sent when it commits. On PostgreSQL
//! they go as one statement; a write made only of them (a create) is that
//! one statement, without `BEGIN` and `COMMIT` — one round trip.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OnceCell, OwnedMutexGuard, oneshot};

use super::counters::Counters;

/// The open batch: its transaction, the writes waiting for its commit and
/// the counter additions they made.
#[derive(Default)]
struct Batch {
    tx: Option<DatabaseTransaction>,
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    counters: Counters,
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

/// One write transaction: a savepoint in the current batch (SQLite) or a
/// transaction of its own (PostgreSQL). Commit or roll it back explicitly.
pub struct WriteTx {
    /// The transaction (SQLite: the savepoint), begun when first needed on
    /// PostgreSQL: a write of deferred statements only never sends `BEGIN`.
    inner: OnceCell<DatabaseTransaction>,
    writer: Writer,
    turn: Option<Turn>,
    /// Counter additions, written when this write commits (`counters`).
    counters: std::sync::Mutex<Counters>,
    /// Statements whose results nobody reads, sent when this write commits.
    deferred: std::sync::Mutex<Vec<Statement>>,
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

    /// Whether writes commit. Free while they do; after a batch failed to
    /// commit, not until a probe write commits, within `within`: page 1
    /// rewritten (`PRAGMA user_version` set to itself, nothing else
    /// changes). A write that changes nothing would prove nothing: on a
    /// full disk its `COMMIT` succeeds, writing nothing.
    pub async fn can_commit(&self, within: std::time::Duration) -> bool {
        if !self.0.failing.load(Ordering::Acquire) {
            return true;
        }
        let probe = async {
            let tx = self.begin().await?;
            let result = async {
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
            }
            .await;
            super::end(tx, result).await
        };
        let committed = matches!(tokio::time::timeout(within, probe).await, Ok(Ok(())));
        if committed {
            self.0.failing.store(false, Ordering::Release);
        }
        committed
    }

    /// Starts a write transaction (waits for the writer's turn on SQLite).
    pub async fn begin(&self) -> Result<WriteTx, DbErr> {
        if !self.0.batched {
            return Ok(WriteTx {
                inner: OnceCell::new(),
                writer: self.clone(),
                turn: None,
                counters: Default::default(),
                deferred: Default::default(),
            });
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
        Ok(WriteTx {
            inner: OnceCell::new_with(Some(inner)),
            writer: self.clone(),
            turn: Some(Turn {
                writer: self.clone(),
                batch: Some(batch),
            }),
            counters: Default::default(),
            deferred: Default::default(),
        })
    }

    /// Commits the open batch, if any, and answers the writes it holds.
    async fn commit(&self, batch: &mut Batch) {
        batch.dropped = false;
        let waiting = std::mem::take(&mut batch.waiting);
        let counters = std::mem::take(&mut batch.counters);
        let result = match batch.tx.take() {
            Some(tx) => match run_all(&tx, counters.statements(DbBackend::Sqlite)).await {
                Ok(()) => tx.commit().await.map_err(|e| e.to_string()),
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e.to_string())
                }
            },
            None => Ok(()),
        };
        // A failed `COMMIT` leaves the connection in whatever state SQLite
        // chose (on `SQLITE_FULL` it rolls back by itself; on `SQLITE_BUSY` it
        // stays inside): sea-orm rolls back when the transaction is dropped,
        // and the pool closes the connection if it still came back inside
        // one (`db::sqlite_outside_transaction`).
        if result.is_err() {
            self.0.failing.store(true, Ordering::Release);
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = waiting.len(), "group commit failed");
        }
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }

    /// Ends the open batch without committing it: a savepoint could not be
    /// rolled back or released, so the transaction is no longer the one the
    /// batch began (SQLite rolls it back by itself on `SQLITE_FULL` or
    /// `SQLITE_IOERR`; a `SAVEPOINT` sent then would open a new one, outside
    /// the batch). The writes waiting for it fail (none was told it
    /// succeeded); its connection goes back rolled back, or is closed
    /// (`db::sqlite_outside_transaction`).
    async fn abandon(&self, batch: &mut Batch, cause: &DbErr) {
        let waiting = std::mem::take(&mut batch.waiting);
        batch.counters = Counters::default();
        batch.dropped = false;
        if let Some(tx) = batch.tx.take() {
            let _ = tx.rollback().await;
        }
        self.0.failing.store(true, Ordering::Release);
        tracing::error!(error = %cause, writes = waiting.len(), "group commit abandoned: its transaction broke");
        let error = format!("the batch's transaction broke: {cause}");
        for w in waiting {
            let _ = w.send(Err(error.clone()));
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

fn taken<T>(m: std::sync::Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|p| p.into_inner())
}

impl WriteTx {
    /// Notes counter additions, written when this write commits.
    pub fn count(&self, add: impl FnOnce(&mut Counters) -> Result<(), DbErr>) -> Result<(), DbErr> {
        add(&mut self.counters.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Queues a statement nothing later in this write depends on (an insert
    /// whose rows are already known): it is sent when the write commits, in
    /// order with the others — on PostgreSQL all of them, and the counters,
    /// as one statement. Its errors are the commit's.
    pub fn defer(&self, q: &impl sea_orm::QueryTrait) {
        let stmt = q.build(self.get_database_backend());
        self.deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stmt);
    }

    /// The transaction, begun now if it was not yet.
    async fn tx(&self) -> Result<&DatabaseTransaction, DbErr> {
        self.inner
            .get_or_try_init(|| self.writer.0.db.begin())
            .await
    }

    /// Makes the write durable: returns once the `COMMIT` holding it did.
    pub async fn commit(self) -> Result<(), DbErr> {
        let WriteTx {
            inner,
            writer,
            turn,
            counters,
            deferred,
        } = self;
        let counters = taken(counters);
        let mut deferred = taken(deferred);
        let Some(mut turn) = turn else {
            deferred.extend(counters.statements(writer.0.db.get_database_backend()));
            let Some(inner) = inner.into_inner() else {
                // Nothing ran yet: the deferred statements alone, as one
                // statement (atomic by itself), without `BEGIN`/`COMMIT`.
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
        let mut sums = batch.counters.clone();
        let failed = match sums.merge(counters) {
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
        batch.counters = sums;
        let (done, committed) = oneshot::channel();
        batch.waiting.push(done);
        drop(batch);
        turn.writer.commit_soon();
        match committed.await {
            Ok(Ok(())) => Ok(()),
            // The store failed this write, not its request (a full disk, an
            // I/O error, a busy database): a connection-level error, which
            // answers 503 (`db::is_unavailable`).
            Ok(Err(e)) => Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(format!(
                "group commit failed: {e}"
            )))),
            Err(_) => Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
                "group commit abandoned".into(),
            ))),
        }
    }

    /// Undoes this write only; the batch goes on.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let WriteTx { inner, turn, .. } = self;
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

mod chained;
mod connection;
#[cfg(test)]
mod tests;

use chained::run_all;
