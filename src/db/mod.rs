//! Connecting, migrating, and the write transactions every state change uses.
mod shape;
mod writer;

use std::time::Duration;

pub use shape::{Shape, columns};
pub use writer::{Sums, WriteTx, Writer};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// SQLite keeps global memory statistics by default: every allocation of
/// every connection (each on its own worker thread) then takes one global
/// mutex, which showed as ~8 % of a list's CPU in `perf` (lock, wait, wake).
/// Turned off once, before SQLite initializes (afterwards the call is a
/// harmless `SQLITE_MISUSE`).
fn sqlite_without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config(SQLITE_CONFIG_MEMSTATUS, int)` takes one int
        // and touches only SQLite's global configuration; called once, before
        // any connection exists in this process.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics left on");
        }
    });
}

/// How long a PostgreSQL statement waits for a row or table lock before it
/// fails (SQLSTATE 55P03, answered 503 `timeout`). Locks of the service's
/// own writes last milliseconds.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a PostgreSQL statement runs (SQLSTATE 57014): below the
/// request timeout (30 s by default; `config`'s tests hold the two apart),
/// so no statement keeps working for a client already told 503.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(25);

/// Opens a pool. SQLite: WAL, synchronous=FULL, busy timeout, foreign keys.
/// PostgreSQL connections are checked when they come back (see below).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    open(url, max_connections, true, true).await
}

/// `connect` without the lock and statement timeouts, for what runs
/// outside any request: migrations and the command line's maintenance
/// commands (a seed or a rollup rebuild of millions of rows is one long
/// statement).
pub async fn connect_unbounded(
    url: &str,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    open(url, max_connections, true, false).await
}

/// A PostgreSQL pool for reads only (`AppState::db` when the writer has its
/// own pool): nothing on it ever sends `BEGIN`, so the cancelled-`BEGIN`
/// poisoning cannot happen there, and its connections come back without the
/// check's extra round trip (reads 30–80 % faster in an A/B). On SQLite, the
/// same pool as `connect`.
pub async fn connect_reads(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    open(url, max_connections, false, true).await
}

async fn open(
    url: &str,
    max_connections: u32,
    checked: bool,
    bounded: bool,
) -> Result<DatabaseConnection, DbErr> {
    if url.starts_with("sqlite:") {
        sqlite_without_memory_statistics();
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30))
        // Ping only connections idle for a while, not on every checkout (a
        // round trip per query otherwise).
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        // sqlx 0.9.0 can hand out a PostgreSQL connection still inside a
        // transaction whose `BEGIN` was cancelled (upstream 4385/4393). Our
        // writes no longer get cancelled (they run in their own task), and a
        // connection is checked when it comes back: one that is inside a
        // transaction is closed, never reused.
        .map_sqlx_postgres_pool_opts(move |o| {
            if !checked {
                return o;
            }
            o.after_release(|conn, _| Box::pin(outside_transaction(conn)))
        })
        // A SQLite connection is checked when it comes back too: one left
        // inside a transaction (or out of step with sqlx's count of it) is
        // closed, never reused (see `sqlite_outside_transaction`).
        .map_sqlx_sqlite_pool_opts(|o| {
            o.after_release(|conn, _| Box::pin(sqlite_outside_transaction(conn)))
        })
        // A row someone holds (a stuck session in psql, a long transaction)
        // fails the statement waiting for it after `LOCK_TIMEOUT` — the
        // client gets a 503 while its request is still its own, and the
        // connection is free again — and no statement outlives the request
        // it serves (`STATEMENT_TIMEOUT`).
        .map_sqlx_postgres_opts(move |o| {
            if !bounded {
                return o;
            }
            o.options([
                ("lock_timeout", format!("{}ms", LOCK_TIMEOUT.as_millis())),
                (
                    "statement_timeout",
                    format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
                ),
            ])
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    Database::connect(opts).await
}

/// Whether a released PostgreSQL connection is outside any transaction. In
/// a transaction block `now()` is the block's start, earlier than the
/// statement's own timestamp; outside one (a single simple-protocol
/// statement) they are equal. An aborted transaction answers an error.
async fn outside_transaction(
    conn: &mut sea_orm::sqlx::PgConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Row;
    let row = sea_orm::sqlx::raw_sql("SELECT now() = statement_timestamp()")
        .fetch_one(&mut *conn)
        .await?;
    let outside: bool = row.try_get(0)?;
    if !outside {
        tracing::error!("a pooled PostgreSQL connection came back inside a transaction: closed");
    }
    Ok(outside)
}

/// Whether a released SQLite connection is outside any transaction, as
/// sqlx counts them and as SQLite has them. They can part: a failed
/// `COMMIT`, `ROLLBACK TO` or `RELEASE` (SQLite may roll the whole
/// transaction back by itself on `SQLITE_FULL` or `SQLITE_IOERR`) leaves
/// sqlx's count up, and the next `SAVEPOINT` on that connection then opens
/// a real transaction nobody ends — its write lock held in the pool, every
/// other write "database is locked" after the busy timeout. Such a
/// connection is closed (SQLite rolls back what it still holds).
///
/// Free for the common case (a count of 0: one atomic load — sqlx only
/// counts down on a `COMMIT` or `ROLLBACK` that succeeded, and at the
/// bottom of the count those end SQLite's transaction too); otherwise the
/// rollback sea-orm queued when the transaction was dropped runs first (the
/// handle is taken through the connection's command queue, behind it).
async fn sqlite_outside_transaction(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    let autocommit = {
        let mut handle = conn.lock_handle().await?;
        // SAFETY: the handle is a live connection, locked for this call;
        // `sqlite3_get_autocommit` only reads its state.
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) != 0 }
    };
    let counted = conn.is_in_transaction();
    if autocommit && !counted {
        return Ok(true);
    }
    tracing::error!(
        in_transaction = !autocommit,
        counted,
        "a pooled SQLite connection came back inside a transaction (or out of step with it): closed"
    );
    Ok(false)
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// True when `e` says the database cannot serve now rather than that the
/// request is wrong: a lock or statement timeout (SQLSTATE 55P03, 57014),
/// the server going away (class 08, 57P01–57P03 — `pg_terminate_backend`,
/// a shutdown, a restart), no connection to be had (pool timeout, refused,
/// reset), and on SQLite a busy or locked database, an I/O error or a full
/// disk. Answered 503, never 500.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        // Also a group commit that failed (`Writer`).
        DbErr::ConnectionAcquire(_) | DbErr::Conn(sea_orm::RuntimeErr::Internal(_)) => return true,
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(s))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(s))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match &**sqlx {
        Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Io(_) | Sqlx::Tls(_) => true,
        Sqlx::Database(d) => d.code().is_some_and(|c| {
            matches!(&*c, "55P03" | "57014" | "57P01" | "57P02" | "57P03")
                || c.starts_with("08")
                // SQLite's (extended) result codes: BUSY, LOCKED, IOERR, FULL.
                || (c.len() < 5 && c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13)))
        }),
        _ => false,
    }
}

/// True when `e` is a unique-constraint violation on either database.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// `.one()` for lookups by a unique key, without `LIMIT ?`: SQLite re-prepares
/// (re-parses) a statement with a bound LIMIT on every execution — measured
/// with a uprobe on `sqlite3LockAndPrepare`, one prepare per query — while
/// the same statement without it stays in sqlx's statement cache.
pub trait Unique {
    type Row;
    fn unique<C: sea_orm::ConnectionTrait>(
        self,
        db: &C,
    ) -> impl std::future::Future<Output = Result<Option<Self::Row>, DbErr>> + Send;
}

impl<E: sea_orm::EntityTrait> Unique for sea_orm::Select<E> {
    type Row = E::Model;
    async fn unique<C: sea_orm::ConnectionTrait>(self, db: &C) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}

impl<E: sea_orm::EntityTrait, F: sea_orm::EntityTrait> Unique for sea_orm::SelectTwo<E, F> {
    type Row = (E::Model, Option<F::Model>);
    async fn unique<C: sea_orm::ConnectionTrait>(self, db: &C) -> Result<Option<Self::Row>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}
