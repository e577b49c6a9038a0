//! Session state changes, published by the service layer after each commit.
//! Subscribers in this process get them from a broadcast channel; on
//! PostgreSQL every change is also sent with `NOTIFY`, and each process
//! re-broadcasts what the others sent (`workers::listener`), so a GraphQL subscription on one
//! server process sees payments and expiries made through another.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The PostgreSQL channel carrying session changes between processes.
pub const CHANNEL: &str = "ikawaari_session_events";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    pub session_id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub status: crate::domain::SessionStatus,
}

#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SessionEvent>,
    /// Tags this process's notifications so it does not deliver them twice.
    origin: String,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
            origin: crate::domain::ids::random_token(16),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Notification {
    origin: String,
    event: SessionEvent,
}

impl EventBus {
    pub fn publish(&self, e: SessionEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.tx.subscribe()
    }

    /// A `NOTIFY` payload of [`CHANNEL`] (`workers::listener`): another
    /// process's change, re-broadcast here; this process's own are skipped
    /// (its subscribers had them at publish).
    pub fn receive(&self, payload: &str) {
        match serde_json::from_str::<Notification>(payload) {
            Ok(note) if note.origin != self.origin => self.publish(note.event),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "unreadable session event notification"),
        }
    }
}

/// Publishes a session's new status once `tx` has committed (not at all if
/// it rolls back): to this process's subscribers, and on PostgreSQL to the
/// other processes'.
pub fn on_commit(state: &crate::AppState, tx: &crate::db::WriteTx, event: SessionEvent) {
    let state = state.clone();
    tx.on_commit(async move { session_changed(&state, event).await });
}

async fn session_changed(state: &crate::AppState, event: SessionEvent) {
    state.events.publish(event.clone());
    notify_other_processes(state, event).await;
}

async fn notify_other_processes(state: &crate::AppState, event: SessionEvent) {
    if state.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let payload = serde_json::to_string(&Notification {
        origin: state.events.origin.clone(),
        event,
    })
    .unwrap_or_default();
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    );
    if let Err(e) = state.db.execute_raw(stmt).await {
        tracing::warn!(error = %e, "could not notify other processes of a session change");
    }
}
