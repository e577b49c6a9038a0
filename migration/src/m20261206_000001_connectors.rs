//! Connectors (SPEC §11): a merchant's own account at a payment provider,
//! per mode, its credentials sealed (`credentials`, AEAD under the secrets
//! key) with a display hint of each (`••••<last 4>`). At most one enabled
//! connector per merchant, mode and type (a partial unique index). A
//! deleted one keeps its row (`deleted_at`): payments in flight through it
//! are still looked up with its credentials.
//!
//! `provider_attempts`: one row per payment attempt sent to a provider,
//! written *before* the call with the provider reference it is sent under
//! (MTN's `X-Reference-Id`, Wave's `client_reference`), so a retry, a
//! lookup or a recovery after a crash uses the same one. `next_poll_at`
//! (unix ms) is when the poller asks the provider next.
//!
//! `provider_notifications`: provider event ids already applied (Wave
//! sends duplicates): a second one is a no-op.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE connectors (
        id TEXT PRIMARY KEY NOT NULL,
        merchant_id TEXT NOT NULL REFERENCES merchants (id),
        livemode BOOLEAN NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        credentials TEXT NOT NULL,
        credentials_hint TEXT NOT NULL,
        description TEXT,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        deleted_at BIGINT
    )",
    "CREATE UNIQUE INDEX connectors_one_enabled ON connectors (merchant_id, livemode, kind)
        WHERE status = 'enabled' AND deleted_at IS NULL",
    "CREATE INDEX connectors_list ON connectors (merchant_id, livemode, created, id)",
    "CREATE TABLE provider_attempts (
        attempt_id TEXT PRIMARY KEY NOT NULL,
        payment_intent_id TEXT NOT NULL,
        connector_id TEXT NOT NULL REFERENCES connectors (id),
        reference TEXT NOT NULL,
        provider_id TEXT,
        redirect_url TEXT,
        payer TEXT,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        resent BOOLEAN NOT NULL DEFAULT FALSE,
        polls INTEGER NOT NULL DEFAULT 0,
        next_poll_at BIGINT NOT NULL,
        created BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX provider_attempts_reference ON provider_attempts (connector_id, reference)",
    "CREATE INDEX provider_attempts_due ON provider_attempts (state, next_poll_at)",
    "CREATE INDEX provider_attempts_by_intent ON provider_attempts (payment_intent_id, created)",
    "CREATE TABLE provider_notifications (
        connector_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        received BIGINT NOT NULL,
        PRIMARY KEY (connector_id, event_id)
    )",
    "ALTER TABLE refunds ADD COLUMN connector_id TEXT",
    "ALTER TABLE refunds ADD COLUMN provider_ref TEXT",
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
            "ALTER TABLE refunds DROP COLUMN provider_ref",
            "ALTER TABLE refunds DROP COLUMN connector_id",
            "DROP TABLE provider_notifications",
            "DROP TABLE provider_attempts",
            "DROP TABLE connectors",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
