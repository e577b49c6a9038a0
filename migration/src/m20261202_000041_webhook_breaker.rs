//! The circuit breaker of each webhook endpoint, shared by every process on
//! the database: `unanswered` counts attempts in a row that got no HTTP
//! answer (timeout, connection failure); at the threshold `breaker_until`
//! is set (open) and no process sends to the endpoint until then. Past it
//! the breaker is half-open: the process that moves `breaker_until` forward
//! first makes the one trial. Any answer clears both.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE webhook_endpoints ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE webhook_endpoints ADD COLUMN breaker_until BIGINT",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for c in ["breaker_until", "unanswered"] {
            db.execute_unprepared(&format!("ALTER TABLE webhook_endpoints DROP COLUMN {c}"))
                .await?;
        }
        Ok(())
    }
}
