//! A database failure, sorted once: what the client is told depends on its
//! kind, and the `DbErr` itself is kept for the log (never shown).
use std::sync::Arc;

use sea_orm::DbErr;

use super::Error;

/// What kind of database failure: the three a caller or a client tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// A unique constraint refused the write. Callers that expect one (a
    /// racing idempotent request, a second successful payment) check
    /// `db::is_unique_violation` on the `DbErr` first; one that reaches the
    /// client is a bug: 500.
    UniqueViolation,
    /// Busy, locked, timed out or unreachable (`db::is_unavailable`): 503
    /// `timeout`, with `Retry-After`.
    Unavailable,
    /// Anything else: 500 `internal`.
    Other,
}

/// A `DbErr` and its kind.
#[derive(Debug, Clone)]
pub struct DbError {
    pub kind: DbFailure,
    /// Shared: `Error` is `Clone` (idempotent replays), `DbErr` is not.
    pub source: Arc<DbErr>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database ({:?}): {}", self.kind, self.source)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl DbFailure {
    pub fn of(e: &DbErr) -> Self {
        if crate::db::is_unique_violation(e) {
            DbFailure::UniqueViolation
        } else if crate::db::is_unavailable(e) {
            DbFailure::Unavailable
        } else {
            DbFailure::Other
        }
    }
}

impl From<DbErr> for Error {
    fn from(e: DbErr) -> Self {
        let kind = DbFailure::of(&e);
        if kind == DbFailure::Unavailable {
            tracing::warn!(error = %e, "database unavailable: answered 503");
        }
        Error::Database(DbError {
            kind,
            source: Arc::new(e),
        })
    }
}

impl Error {
    /// The database failure's kind, if this is one.
    pub fn db_failure(&self) -> Option<DbFailure> {
        match self {
            Error::Database(d) => Some(d.kind),
            _ => None,
        }
    }

    /// Logs what the client is not shown: an internal error's detail, a
    /// database error's source. Called once per answer, by each front end.
    pub(super) fn log_detail(&self) {
        match self {
            Error::Internal(detail) => tracing::error!(%detail, "internal error"),
            Error::Database(d) if d.kind != DbFailure::Unavailable => {
                tracing::error!(kind = ?d.kind, source = %d.source, "database error")
            }
            _ => {}
        }
    }
}
