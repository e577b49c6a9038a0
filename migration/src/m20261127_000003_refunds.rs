//! Refunds, and the intent's refunded total that bounds them: a refund
//! reserves its amount with one conditional update of
//! `payment_intents.amount_refunded` (pending and succeeded refunds), so
//! the database never lets the sum exceed what was paid.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE payment_intents ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0",
    "CREATE TABLE refunds (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        payment_intent_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        failure_reason TEXT,
        metadata TEXT NOT NULL,
        pending_outcome TEXT,
        settle_at BIGINT,
        created BIGINT NOT NULL
    )",
    "CREATE INDEX refunds_by_intent ON refunds (payment_intent_id, created)",
    "CREATE INDEX refunds_owner ON refunds (merchant_id, livemode, created)",
    "CREATE INDEX refunds_pending ON refunds (settle_at) WHERE status = 'pending'",
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
        db.execute_unprepared("DROP TABLE refunds").await?;
        db.execute_unprepared("ALTER TABLE payment_intents DROP COLUMN amount_refunded")
            .await?;
        Ok(())
    }
}
