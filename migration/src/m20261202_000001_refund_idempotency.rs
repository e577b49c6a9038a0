//! A refund remembers the `Idempotency-Key` it was created with, unique per
//! merchant and mode: however a retried request reaches the service (a key
//! taken over after a crash, a replica that missed the key row), the
//! database admits one refund per key.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE refunds ADD COLUMN idempotency_key TEXT",
    "CREATE UNIQUE INDEX refunds_idempotency_key ON refunds (merchant_id, livemode, idempotency_key)",
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
        db.execute_unprepared("DROP INDEX refunds_idempotency_key")
            .await?;
        db.execute_unprepared("ALTER TABLE refunds DROP COLUMN idempotency_key")
            .await?;
        Ok(())
    }
}
