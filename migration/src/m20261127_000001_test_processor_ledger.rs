//! The test processor's own record of the attempts it received, keyed by
//! attempt id (the idempotency key a real processor also gets), so that
//! recovery after a crash asks "what happened to attempt X?" instead of
//! guessing. It stands where a real processor's database would be: written
//! outside our transactions.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE test_processor_attempts (
                    attempt_id TEXT PRIMARY KEY,
                    outcome TEXT NOT NULL,
                    created BIGINT NOT NULL
                )",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE test_processor_attempts")
            .await
            .map(|_| ())
    }
}
