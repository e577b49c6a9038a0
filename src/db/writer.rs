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
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
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

/// Runs `stmts` in order. On PostgreSQL, several go as one statement (data-
/// modifying `WITH` clauses): one round trip, whatever their number.
async fn run_all(db: &impl ConnectionTrait, mut stmts: Vec<Statement>) -> Result<(), DbErr> {
    if stmts.len() > 1 && db.get_database_backend() == DbBackend::Postgres {
        stmts = vec![chained(stmts)];
    }
    for stmt in stmts {
        db.execute_raw(stmt).await?;
    }
    Ok(())
}

/// `WITH w0 AS (a), w1 AS (b) c`, placeholders renumbered: PostgreSQL runs
/// every part in the one statement, whether or not anything reads its
/// output (parts must not touch the same row; constraints are checked at
/// its end).
fn chained(stmts: Vec<Statement>) -> Statement {
    let last = stmts.len() - 1;
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (i, s) in stmts.into_iter().enumerate() {
        let body = renumbered(&s.sql, values.len());
        values.extend(s.values.map(|v| v.0).unwrap_or_default());
        if i < last {
            sql.push_str(&format!(
                "w{i} AS ({body}){}",
                if i + 1 < last { ", " } else { " " }
            ));
        } else {
            sql.push_str(&body);
        }
    }
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// `sql` with each PostgreSQL placeholder `$n` (outside quotes) moved to `$(n + by)`.
fn renumbered(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(n + by).to_string());
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
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

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.writer.0.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx().await?.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx().await?.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx().await?.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx().await?.query_all_raw(stmt).await
    }
}

/// A statement run on the writer itself is one write of its own (for the
/// single-statement writes: `.exec(&*state.writer)`): batched like any
/// other on SQLite; on PostgreSQL the statement alone, outside any
/// transaction (atomic by itself: no `BEGIN`/`COMMIT` round trips).
#[async_trait::async_trait]
impl ConnectionTrait for Writer {
    fn get_database_backend(&self) -> DbBackend {
        self.0.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.execute_raw(stmt).await;
        }
        let tx = self.begin().await?;
        let result = tx.execute_raw(stmt).await;
        super::end(tx, result).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.execute_unprepared(sql).await;
        }
        let tx = self.begin().await?;
        let result = tx.execute_unprepared(sql).await;
        super::end(tx, result).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.query_one_raw(stmt).await;
        }
        let tx = self.begin().await?;
        let result = tx.query_one_raw(stmt).await;
        super::end(tx, result).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.query_all_raw(stmt).await;
        }
        let tx = self.begin().await?;
        let result = tx.query_all_raw(stmt).await;
        super::end(tx, result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_statements_renumber_placeholders_outside_quotes() {
        assert_eq!(
            renumbered(r#"INSERT INTO "a$1" ("x") VALUES ($1, '$2', $10)"#, 3),
            r#"INSERT INTO "a$1" ("x") VALUES ($4, '$2', $13)"#
        );
        let s = |sql: &str, v: Vec<i64>| {
            Statement::from_sql_and_values(DbBackend::Postgres, sql, v.into_iter().map(Into::into))
        };
        let one = chained(vec![
            s("INSERT INTO a VALUES ($1, $2)", vec![1, 2]),
            s("INSERT INTO b VALUES ($1)", vec![3]),
            s("INSERT INTO c VALUES ($1, $2)", vec![4, 5]),
        ]);
        assert_eq!(
            one.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1, $2)), w1 AS (INSERT INTO b VALUES ($3)) \
             INSERT INTO c VALUES ($4, $5)"
        );
        assert_eq!(one.values.map(|v| v.0.len()), Some(5));
    }

    async fn table() -> (DatabaseConnection, std::path::PathBuf) {
        table_on(4).await
    }

    async fn table_on(connections: u32) -> (DatabaseConnection, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("ik-writer-{}.db", crate::domain::ids::new_id("t")));
        let db = super::super::connect(
            &format!("sqlite://{}?mode=rwc", path.display()),
            connections,
        )
        .await
        .expect("connect");
        db.execute_unprepared("CREATE TABLE t (v INTEGER)")
            .await
            .expect("table");
        (db, path)
    }

    async fn values(db: &DatabaseConnection) -> Vec<i64> {
        db.query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT v FROM t ORDER BY v",
        ))
        .await
        .expect("select")
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).expect("v"))
        .collect()
    }

    /// A write dropped halfway (a panic inside it) while another waits for
    /// the same batch's commit: its rows roll back, the other's commit.
    #[tokio::test]
    async fn a_write_dropped_halfway_rolls_back_alone_and_the_batch_commits() {
        let (db, path) = table().await;
        let w = Writer::new(db.clone(), db.clone());
        let first = w.begin().await.expect("begin");
        first
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .expect("insert");
        let dropped = tokio::spawn({
            let w = w.clone();
            async move {
                let second = w.begin().await.expect("begin");
                second
                    .execute_unprepared("INSERT INTO t VALUES (2)")
                    .await
                    .expect("insert");
                drop(second);
            }
        });
        let committed =
            tokio::time::timeout(std::time::Duration::from_secs(10), first.commit()).await;
        assert!(matches!(committed, Ok(Ok(()))), "{committed:?}");
        dropped.await.expect("task");
        let third = w.begin().await.expect("begin");
        third
            .execute_unprepared("INSERT INTO t VALUES (3)")
            .await
            .expect("insert");
        third.commit().await.expect("commit");
        assert_eq!(values(&db).await, vec![1, 3]);
        let _ = std::fs::remove_file(path);
    }

    /// A write whose savepoint cannot be rolled back, because SQLite already
    /// rolled the whole transaction back by itself (as it may on
    /// `SQLITE_FULL`): the batch is abandoned — the write waiting for it
    /// fails, its row is gone — and the next writes commit, each in a batch
    /// of its own, with no connection left holding the write lock. One
    /// connection in the pool: the next batches get the same one back (or
    /// a new one, if it had to be closed).
    #[tokio::test]
    async fn a_batch_whose_transaction_broke_fails_its_writes_and_the_next_commit() {
        let (db, path) = table_on(1).await;
        let w = Writer::new(db.clone(), db.clone());
        let first = w.begin().await.expect("begin");
        first
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .expect("insert");
        let first = tokio::spawn(first.commit());
        // Queued on the batch before the committer (current-thread runtime).
        let broken = w.begin().await.expect("begin");
        broken
            .execute_unprepared("ROLLBACK")
            .await
            .expect("what SQLite does by itself on a full disk");
        assert!(broken.rollback().await.is_err(), "no savepoint left");
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), first)
            .await
            .expect("answered")
            .expect("task");
        assert!(
            first.is_err(),
            "a write of a broken batch was told it committed"
        );
        for v in [3, 4, 5, 6, 7, 8] {
            let next = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                w.execute_unprepared(&format!("INSERT INTO t VALUES ({v})")),
            )
            .await
            .expect("no hang");
            assert!(next.is_ok(), "write {v} after the broken batch: {next:?}");
        }
        assert_eq!(values(&db).await, vec![3, 4, 5, 6, 7, 8]);
        // The pool's connection is in step with SQLite: not counted inside a
        // transaction (out of step, its next `BEGIN IMMEDIATE` would go out as
        // a `SAVEPOINT`, opening a deferred transaction of its own).
        {
            use sea_orm::sqlx::Connection;
            let conn = db
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .expect("acquire");
            assert!(!conn.is_in_transaction(), "a pooled connection out of step");
        }
        // No connection of the pool holds a transaction: another one takes
        // the write lock at once.
        let other = super::super::connect(&format!("sqlite://{}", path.display()), 1)
            .await
            .expect("connect");
        let lock = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            other.execute_unprepared("BEGIN IMMEDIATE; ROLLBACK"),
        )
        .await;
        assert!(matches!(lock, Ok(Ok(_))), "write lock still held: {lock:?}");
        let _ = std::fs::remove_file(path);
    }

    /// A write that fails rolls back alone; the ones before and after it in
    /// the batch commit.
    #[tokio::test]
    async fn a_failing_write_rolls_back_alone() {
        let (db, path) = table().await;
        let w = Writer::new(db.clone(), db.clone());
        let ok = w.begin().await.expect("begin");
        ok.execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .expect("insert");
        let ok = tokio::spawn(ok.commit());
        let bad = w.begin().await.expect("begin");
        bad.execute_unprepared("INSERT INTO t VALUES (2)")
            .await
            .expect("insert");
        assert!(
            bad.execute_unprepared("INSERT INTO nowhere VALUES (1)")
                .await
                .is_err()
        );
        bad.rollback().await.expect("rollback");
        ok.await.expect("task").expect("commit");
        w.execute_unprepared("INSERT INTO t VALUES (3)")
            .await
            .expect("one-statement write");
        assert_eq!(values(&db).await, vec![1, 3]);
        let _ = std::fs::remove_file(path);
    }
}
