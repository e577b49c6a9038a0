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
//! writers run in parallel: there a write is a plain transaction.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// The open batch: its transaction and the writes waiting for its commit.
#[derive(Default)]
struct Batch {
    tx: Option<DatabaseTransaction>,
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
}

/// The process's writer (cheap to clone: one shared state).
#[derive(Clone)]
pub struct Writer(Arc<Shared>);

struct Shared {
    db: DatabaseConnection,
    batched: bool,
    batch: Arc<Mutex<Batch>>,
    commit_queued: AtomicBool,
}

/// One write transaction: a savepoint in the current batch (SQLite) or a
/// transaction of its own (PostgreSQL). Commit or roll it back explicitly.
pub struct WriteTx {
    inner: DatabaseTransaction,
    turn: Option<(Writer, OwnedMutexGuard<Batch>)>,
}

impl Writer {
    pub fn new(db: DatabaseConnection) -> Writer {
        Writer(Arc::new(Shared {
            batched: db.get_database_backend() == DbBackend::Sqlite,
            db,
            batch: Arc::default(),
            commit_queued: AtomicBool::new(false),
        }))
    }

    /// Starts a write transaction (waits for the writer's turn on SQLite).
    pub async fn begin(&self) -> Result<WriteTx, DbErr> {
        if !self.0.batched {
            return Ok(WriteTx {
                inner: self.0.db.begin().await?,
                turn: None,
            });
        }
        let mut batch = self.0.batch.clone().lock_owned().await;
        if batch.tx.is_none() {
            // The write lock up front: no lock upgrade, no deadlock.
            batch.tx = Some(
                self.0
                    .db
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await?,
            );
        }
        let outer = batch.tx.as_ref().expect("opened above");
        let inner = match outer.begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => {
                // The batch's transaction is unusable: end it for everyone.
                self.commit(&mut batch).await;
                return Err(e);
            }
        };
        Ok(WriteTx {
            inner,
            turn: Some((self.clone(), batch)),
        })
    }

    /// Commits the open batch, if any, and answers the writes it holds.
    async fn commit(&self, batch: &mut Batch) {
        let waiting = std::mem::take(&mut batch.waiting);
        let result = match batch.tx.take() {
            Some(tx) => tx.commit().await.map_err(|e| e.to_string()),
            None => Ok(()),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = waiting.len(), "group commit failed");
        }
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }

    /// Queues one committer behind the writers waiting now (at most one is
    /// queued at a time): it commits everything released before its turn.
    fn commit_soon(&self) {
        if self.0.commit_queued.swap(true, Ordering::AcqRel) {
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

impl WriteTx {
    /// Makes the write durable: returns once the `COMMIT` holding it did.
    pub async fn commit(self) -> Result<(), DbErr> {
        let WriteTx { inner, turn } = self;
        let Some((writer, mut batch)) = turn else {
            return inner.commit().await;
        };
        if let Err(e) = inner.commit().await {
            drop(batch);
            writer.commit_soon();
            return Err(e);
        }
        let (done, committed) = oneshot::channel();
        batch.waiting.push(done);
        drop(batch);
        writer.commit_soon();
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DbErr::Custom(format!("group commit failed: {e}"))),
            Err(_) => Err(DbErr::Custom("group commit abandoned".into())),
        }
    }

    /// Undoes this write only; the batch goes on.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let WriteTx { inner, turn } = self;
        let result = inner.rollback().await;
        if let Some((writer, batch)) = turn {
            drop(batch);
            writer.commit_soon();
        }
        result
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.inner.query_all_raw(stmt).await
    }
}

/// A statement run on the writer itself is one write of its own, batched
/// like any other (for the single-statement writes: `.exec(&*state.writer)`).
#[async_trait::async_trait]
impl ConnectionTrait for Writer {
    fn get_database_backend(&self) -> DbBackend {
        self.0.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let tx = self.begin().await?;
        let result = tx.execute_raw(stmt).await;
        super::end(tx, result).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let tx = self.begin().await?;
        let result = tx.execute_unprepared(sql).await;
        super::end(tx, result).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let tx = self.begin().await?;
        let result = tx.query_one_raw(stmt).await;
        super::end(tx, result).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let tx = self.begin().await?;
        let result = tx.query_all_raw(stmt).await;
        super::end(tx, result).await
    }
}
