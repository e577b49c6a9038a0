//! Payment links (SPEC §12): a reusable link whose visits make checkout
//! sessions. `taken` counts the link's sessions that are paid or being paid
//! (a claim adds one under `completed_limit`, a failed attempt gives it
//! back): the limit is one conditional update, exact under races.
//! `completed_sessions` and `volume` are the link's totals, kept in the
//! settling transaction. Sessions made by a link carry it, and the bounds of
//! a customer-typed amount.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE payment_links (
        id TEXT PRIMARY KEY NOT NULL,
        merchant_id TEXT NOT NULL REFERENCES merchants (id),
        livemode BOOLEAN NOT NULL,
        active BOOLEAN NOT NULL,
        currency TEXT NOT NULL,
        line_items TEXT NOT NULL,
        payment_method_types TEXT NOT NULL,
        locale TEXT NOT NULL,
        metadata TEXT NOT NULL,
        after_completion TEXT NOT NULL,
        completed_limit INTEGER,
        taken INTEGER NOT NULL DEFAULT 0,
        completed_sessions BIGINT NOT NULL DEFAULT 0,
        volume BIGINT NOT NULL DEFAULT 0,
        expires_at BIGINT,
        created BIGINT NOT NULL
    )",
    "CREATE INDEX payment_links_list ON payment_links (merchant_id, livemode, created, id)",
    "CREATE INDEX payment_links_active ON payment_links (merchant_id, livemode, active, created, id)",
    "ALTER TABLE checkout_sessions ADD COLUMN payment_link_id TEXT",
    "ALTER TABLE checkout_sessions ADD COLUMN custom_amount TEXT",
    "CREATE INDEX checkout_sessions_by_link ON checkout_sessions (merchant_id, livemode, payment_link_id, created, id)",
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
        for sql in [
            "DROP INDEX checkout_sessions_by_link",
            "ALTER TABLE checkout_sessions DROP COLUMN custom_amount",
            "ALTER TABLE checkout_sessions DROP COLUMN payment_link_id",
            "DROP TABLE payment_links",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
