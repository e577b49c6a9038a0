//! The one place that wakes webhook delivery workers. A change that queues
//! deliveries calls [`queued_in`] inside its transaction (on PostgreSQL a
//! `NOTIFY`, delivered to every process when and only if the change
//! commits) and [`Wake::wake`] once it has committed (this process's worker,
//! at once). The worker waits on [`Wake::notified`]; the PostgreSQL listener
//! (`workers::listener`) calls [`Wake::wake`] on each `NOTIFY` of
//! [`CHANNEL`]. A missed wake-up costs only latency: the worker also polls.
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::Result;

/// The PostgreSQL channel that wakes every process's delivery worker.
pub const CHANNEL: &str = "ikawaari_webhooks";

/// Wakes this process's delivery worker.
#[derive(Default)]
pub struct Wake(tokio::sync::Notify);

impl Wake {
    /// Call after committing a transaction that queued deliveries.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Completes at the next [`Wake::wake`] (or at once if one is pending).
    pub async fn notified(&self) {
        self.0.notified().await
    }
}

/// Inside the transaction that queues deliveries: on PostgreSQL, wakes
/// every process's worker when (and only if) it commits.
pub async fn queued_in(tx: &crate::db::WriteTx) -> Result<()> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {CHANNEL}"),
        ))
        .await?;
    }
    Ok(())
}
