//! The transactional outbox: events (written in the transaction of the change
//! they describe), webhook endpoints, and one delivery row per attempt
//! (a `pending` row is the queue; workers lease it, then mark it
//! `succeeded` or `failed` and, while retries remain, insert the next one).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    // `sort_key` = zero-padded milliseconds, position in its transaction,
    // id: one sortable column for "newest first" that keeps a transaction's
    // events in the order they were written.
    "CREATE TABLE events (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        type TEXT NOT NULL,
        object_id TEXT NOT NULL,
        created BIGINT NOT NULL,
        sort_key TEXT NOT NULL,
        payload TEXT NOT NULL
    )",
    "CREATE INDEX events_list ON events (merchant_id, livemode, sort_key)",
    "CREATE INDEX events_by_object ON events (merchant_id, livemode, object_id, sort_key)",
    "CREATE INDEX events_by_type ON events (merchant_id, livemode, type, sort_key)",
    "CREATE INDEX events_created ON events (created)",
    "CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        url TEXT NOT NULL,
        enabled_events TEXT NOT NULL,
        description TEXT,
        status TEXT NOT NULL,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_expires_at BIGINT,
        failing_since BIGINT,
        created BIGINT NOT NULL
    )",
    "CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (merchant_id, livemode, created)",
    "CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        event_created BIGINT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        next_attempt_at BIGINT,
        lease_owner TEXT,
        lease_until BIGINT,
        response_status INTEGER,
        duration_ms BIGINT,
        error TEXT,
        created BIGINT NOT NULL
    )",
    // The queue: only pending rows, by due time.
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
    // What a process leased to itself when it queued it.
    "CREATE INDEX webhook_deliveries_owned ON webhook_deliveries (lease_owner, next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created)",
    "CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id)",
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
        for t in ["webhook_deliveries", "webhook_endpoints", "events"] {
            db.execute_unprepared(&format!("DROP TABLE {t}")).await?;
        }
        Ok(())
    }
}
