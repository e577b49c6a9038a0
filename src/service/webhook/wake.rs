//! The one place that wakes webhook delivery workers. A change that queues
//! deliveries calls [`queued_in`] inside its transaction: on PostgreSQL a
//! `NOTIFY`, delivered to every process when and only if the change
//! commits, and this process's worker woken at once when it has committed
//! (an `on_commit` hook calling [`Wake::wake`]). The worker waits on [`Wake::notified`]; the PostgreSQL listener
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
    /// Wakes the worker (after a commit that queued deliveries: [`queued_in`]).
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Completes at the next [`Wake::wake`] (or at once if one is pending).
    pub async fn notified(&self) {
        self.0.notified().await
    }
}

/// Inside the transaction that queues deliveries: wakes this process's
/// worker once it has committed, and on PostgreSQL every process's, when
/// (and only if) it commits.
pub async fn queued_in(state: &crate::AppState, tx: &crate::db::WriteTx) -> Result<()> {
    let woken = state.clone();
    tx.on_commit(async move { woken.deliveries.wake() });
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {CHANNEL}"),
        ))
        .await?;
    }
    Ok(())
}
