//! The writer and its transactions as sea-orm connections: a statement on
//! a `WriteTx` runs inside it; one on the `Writer` itself is a write of its own.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement};

use super::{WriteTx, Writer};

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
        crate::db::end(tx, result).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.execute_unprepared(sql).await;
        }
        let tx = self.begin().await?;
        let result = tx.execute_unprepared(sql).await;
        crate::db::end(tx, result).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.query_one_raw(stmt).await;
        }
        let tx = self.begin().await?;
        let result = tx.query_one_raw(stmt).await;
        crate::db::end(tx, result).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if !self.0.batched {
            return self.0.autocommit.query_all_raw(stmt).await;
        }
        let tx = self.begin().await?;
        let result = tx.query_all_raw(stmt).await;
        crate::db::end(tx, result).await
    }
}
