//! The initial schema: merchants, credentials, sessions, line items, payment
//! intents, payments, subscriptions and idempotency keys.
//!
//! Written as portable SQL (both SQLite and PostgreSQL accept every statement)
//! so the two databases get exactly the same tables and indexes. Amounts are
//! BIGINT minor units; timestamps are BIGINT unix seconds.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE merchants (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        created BIGINT NOT NULL
    )",
    // Secret keys and app tokens. Only the SHA-256 of the token is stored.
    "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL REFERENCES merchants(id),
        kind TEXT NOT NULL,
        livemode BOOLEAN NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created BIGINT NOT NULL,
        revoked_at BIGINT NULL
    )",
    "CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash)",
    "CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix)",
    "CREATE TABLE checkout_sessions (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL REFERENCES merchants(id),
        livemode BOOLEAN NOT NULL,
        status TEXT NOT NULL,
        payment_status TEXT NOT NULL,
        mode TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount_subtotal BIGINT NOT NULL,
        amount_total BIGINT NOT NULL,
        line_item_count INTEGER NOT NULL,
        payment_intent_id TEXT NOT NULL,
        subscription_id TEXT NULL,
        success_url TEXT NOT NULL,
        cancel_url TEXT NULL,
        customer_email TEXT NULL,
        client_reference_id TEXT NULL,
        metadata TEXT NOT NULL,
        locale TEXT NOT NULL,
        payment_method_types TEXT NOT NULL,
        created BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        completed_at BIGINT NULL
    )",
    "CREATE INDEX checkout_sessions_list ON checkout_sessions (merchant_id, livemode, created, id)",
    "CREATE INDEX checkout_sessions_client_ref ON checkout_sessions (merchant_id, livemode, client_reference_id)",
    "CREATE UNIQUE INDEX checkout_sessions_payment_intent ON checkout_sessions (payment_intent_id)",
    "CREATE INDEX checkout_sessions_expiry ON checkout_sessions (status, expires_at)",
    "CREATE TABLE line_items (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES checkout_sessions(id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT NULL,
        images TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        amount_total BIGINT NOT NULL,
        recurring_interval TEXT NULL,
        recurring_interval_count INTEGER NULL
    )",
    "CREATE UNIQUE INDEX line_items_session_position ON line_items (session_id, position)",
    // attempt_id names the pay attempt that holds the intent while it is
    // `processing`; every settlement is conditional on it.
    "CREATE TABLE payment_intents (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL REFERENCES merchants(id),
        livemode BOOLEAN NOT NULL,
        session_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt_id TEXT NULL,
        payment_method TEXT NULL,
        last_payment_error TEXT NULL,
        pending_outcome TEXT NULL,
        settle_at BIGINT NULL,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX payment_intents_session ON payment_intents (session_id)",
    "CREATE INDEX payment_intents_pending ON payment_intents (status, settle_at)",
    // One row per attempt that reached the processor. The partial unique index
    // is the database's guarantee that a session is paid at most once.
    "CREATE TABLE payments (
        id TEXT PRIMARY KEY,
        payment_intent_id TEXT NOT NULL REFERENCES payment_intents(id),
        session_id TEXT NOT NULL REFERENCES checkout_sessions(id),
        status TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        failure_code TEXT NULL,
        created BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX payments_one_success_per_session ON payments (session_id) WHERE status = 'succeeded'",
    "CREATE INDEX payments_intent ON payments (payment_intent_id)",
    "CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        merchant_id TEXT NOT NULL REFERENCES merchants(id),
        livemode BOOLEAN NOT NULL,
        session_id TEXT NOT NULL REFERENCES checkout_sessions(id),
        status TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount BIGINT NOT NULL,
        recurring_interval TEXT NOT NULL,
        recurring_interval_count INTEGER NOT NULL,
        current_period_start BIGINT NOT NULL,
        current_period_end BIGINT NOT NULL,
        cancel_at_period_end BOOLEAN NOT NULL,
        canceled_at BIGINT NULL,
        created BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX subscriptions_session ON subscriptions (session_id)",
    // scope: `<merchant>:<mode>` for authenticated routes, the session id for pay.
    // status NULL while the first request is in flight.
    "CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NULL,
        content_type TEXT NULL,
        body TEXT NULL,
        created BIGINT NOT NULL,
        PRIMARY KEY (scope, idem_key)
    )",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created)",
];

const DOWN: &[&str] = &[
    "DROP TABLE idempotency_keys",
    "DROP TABLE subscriptions",
    "DROP TABLE payments",
    "DROP TABLE payment_intents",
    "DROP TABLE line_items",
    "DROP TABLE checkout_sessions",
    "DROP TABLE api_keys",
    "DROP TABLE merchants",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
