//! A write as a sea-orm connection: a statement on a `WriteTx` runs inside
//! it. The `Writer` itself is no connection: a write is always one of the
//! writer's two entries (`transaction`, `one`).
use std::sync::atomic::Ordering;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement};

use super::WriteTx;

/// Where a write's next statement goes.
enum Target<'a> {
    Tx(&'a sea_orm::DatabaseTransaction),
    /// `Writer::one` on PostgreSQL: the statement alone, in autocommit.
    Alone(&'a sea_orm::DatabaseConnection),
}

impl WriteTx {
    async fn target(&self) -> Result<Target<'_>, DbErr> {
        let s = &self.0;
        if s.single && !s.writer.0.batched {
            if s.sent.swap(true, Ordering::AcqRel) {
                return Err(DbErr::Custom(
                    "a one-statement write (Writer::one) sent a second statement".into(),
                ));
            }
            return Ok(Target::Alone(&s.writer.0.autocommit));
        }
        Ok(Target::Tx(self.tx().await?))
    }
}

macro_rules! on_target {
    ($self:ident, $c:ident => $call:expr) => {
        match $self.target().await? {
            Target::Tx($c) => $call,
            Target::Alone($c) => $call,
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.0.writer.backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on_target!(self, c => c.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_target!(self, c => c.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_target!(self, c => c.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_target!(self, c => c.query_all_raw(stmt).await)
    }
}
