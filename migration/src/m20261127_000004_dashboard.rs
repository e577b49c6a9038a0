//! Dashboards at scale: filter indexes that also give the list order, exact
//! session counters, and the daily rollup behind `checkoutStats`.
//!
//! Both tables are kept in the transaction of each change that moves them
//! (create, complete, expire, refund succeeded) and are *sharded*: a change
//! adds to one of `SLOTS` rows of its key, so concurrent PostgreSQL
//! transactions of one merchant do not queue on one row lock; readers sum
//! the slots. The backfill below fills slot 0 from what is stored.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    // Equality filters followed by the list order (created, id): a seek that
    // needs no sort, so the planner never prefers walking the list index.
    // (A new name: SQLite runs a migration's statements on pooled
    // connections, and reusing a just-dropped name races their schema cache.)
    "DROP INDEX checkout_sessions_client_ref",
    "CREATE INDEX checkout_sessions_by_client_ref ON checkout_sessions (merchant_id, livemode, client_reference_id, created, id)",
    "CREATE INDEX checkout_sessions_email ON checkout_sessions (merchant_id, livemode, customer_email, created, id)",
    "CREATE INDEX checkout_sessions_status ON checkout_sessions (merchant_id, livemode, status, created, id)",
    // Open sessions only (a day's worth at most): those past `expires_at` the
    // sweeper has not reached yet, which readers already see as expired.
    "CREATE INDEX checkout_sessions_open_due ON checkout_sessions (merchant_id, livemode, expires_at) WHERE status = 'open'",
    // The sweeper's: open sessions of every merchant by expiry.
    "DROP INDEX checkout_sessions_expiry",
    "CREATE INDEX checkout_sessions_sweep ON checkout_sessions (expires_at) WHERE status = 'open'",
    // A payment intent's refunds in list order (and the GraphQL loader's
    // `payment_intent_id IN (…)`).
    "DROP INDEX refunds_by_intent",
    "CREATE INDEX refunds_by_payment_intent ON refunds (payment_intent_id, merchant_id, livemode, created, id)",
    // Sessions created, completed and expired (as stored) per merchant, mode,
    // livemode and currency; open = created - completed - expired.
    "CREATE TABLE session_counts (
        merchant_id TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        mode TEXT NOT NULL,
        currency TEXT NOT NULL,
        slot INTEGER NOT NULL,
        created BIGINT NOT NULL,
        completed BIGINT NOT NULL,
        expired BIGINT NOT NULL,
        PRIMARY KEY (merchant_id, livemode, mode, currency, slot)
    )",
    // Per UTC day (unix day number) of the session's creation: created,
    // completed, expired, paid volume; refunded: succeeded refunds by the day
    // the refund was created.
    "CREATE TABLE daily_stats (
        merchant_id TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        day BIGINT NOT NULL,
        currency TEXT NOT NULL,
        slot INTEGER NOT NULL,
        created BIGINT NOT NULL,
        completed BIGINT NOT NULL,
        expired BIGINT NOT NULL,
        gross_volume BIGINT NOT NULL,
        refunded BIGINT NOT NULL,
        PRIMARY KEY (merchant_id, livemode, day, currency, slot)
    )",
];

/// Fills the counters and the rollup from the stored sessions and refunds
/// (tables empty). The migration runs it once; `ikawaari rebuild-rollups`
/// runs it again after data was loaded behind the service's back.
pub const BACKFILL: &[&str] = &[
    "INSERT INTO session_counts (merchant_id, livemode, mode, currency, slot, created, completed, expired)
     SELECT merchant_id, livemode, mode, currency, 0, COUNT(*),
        SUM(CASE WHEN status = 'complete' THEN 1 ELSE 0 END),
        SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END)
     FROM checkout_sessions GROUP BY merchant_id, livemode, mode, currency",
    "INSERT INTO daily_stats (merchant_id, livemode, day, currency, slot, created, completed, expired, gross_volume, refunded)
     SELECT merchant_id, livemode, created / 86400, currency, 0, COUNT(*),
        SUM(CASE WHEN status = 'complete' THEN 1 ELSE 0 END),
        SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END),
        SUM(CASE WHEN payment_status = 'paid' THEN amount_total ELSE 0 END), 0
     FROM checkout_sessions GROUP BY merchant_id, livemode, created / 86400, currency",
    // `WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.
    "INSERT INTO daily_stats (merchant_id, livemode, day, currency, slot, created, completed, expired, gross_volume, refunded)
     SELECT merchant_id, livemode, created / 86400, currency, 0, 0, 0, 0, 0, SUM(amount)
     FROM refunds WHERE true AND status = 'succeeded' GROUP BY merchant_id, livemode, created / 86400, currency
     ON CONFLICT (merchant_id, livemode, day, currency, slot)
     DO UPDATE SET refunded = daily_stats.refunded + excluded.refunded",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP.iter().chain(BACKFILL) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP TABLE daily_stats",
            "DROP TABLE session_counts",
            "DROP INDEX refunds_by_payment_intent",
            "CREATE INDEX refunds_by_intent ON refunds (payment_intent_id, created)",
            "DROP INDEX checkout_sessions_sweep",
            "CREATE INDEX checkout_sessions_expiry ON checkout_sessions (status, expires_at)",
            "DROP INDEX checkout_sessions_open_due",
            "DROP INDEX checkout_sessions_status",
            "DROP INDEX checkout_sessions_email",
            "DROP INDEX checkout_sessions_by_client_ref",
            "CREATE INDEX checkout_sessions_client_ref ON checkout_sessions (merchant_id, livemode, client_reference_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
