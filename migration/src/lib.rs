//! Schema migrations, identical on SQLite and PostgreSQL. Each migration is small
//! and never edited after it lands.
pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261127_000001_test_processor_ledger;
mod m20261127_000002_events_webhooks;
mod m20261127_000003_refunds;
mod m20261127_000004_dashboard;
mod m20261202_000001_refund_idempotency;
mod m20261202_000041_webhook_breaker;
mod m20261204_000001_payment_links;
mod m20261206_000001_connectors;

pub use m20261127_000004_dashboard::BACKFILL as ROLLUP_BACKFILL;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261127_000001_test_processor_ledger::Migration),
            Box::new(m20261127_000002_events_webhooks::Migration),
            Box::new(m20261127_000003_refunds::Migration),
            Box::new(m20261127_000004_dashboard::Migration),
            Box::new(m20261202_000001_refund_idempotency::Migration),
            Box::new(m20261202_000041_webhook_breaker::Migration),
            Box::new(m20261204_000001_payment_links::Migration),
            Box::new(m20261206_000001_connectors::Migration),
        ]
    }
}
