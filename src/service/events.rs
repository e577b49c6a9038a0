//! Session state changes, published by the service layer after each commit.
//! In-process broadcast today; a PostgreSQL LISTEN/NOTIFY feed can implement
//! the same `publish`/`subscribe` pair for several processes.
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    pub session_id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SessionEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }
}

impl EventBus {
    pub fn publish(&self, e: SessionEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.tx.subscribe()
    }
}

/// Publishes the new status of a session after its transaction committed.
pub async fn session_changed(state: &crate::AppState, session_id: &str, status: &str) {
    use crate::db::Unique;
    use sea_orm::EntityTrait;
    match entity::checkout_session::Entity::find_by_id(session_id)
        .unique(&state.db)
        .await
    {
        Ok(Some(s)) => state.events.publish(SessionEvent {
            session_id: s.id,
            merchant_id: s.merchant_id,
            livemode: s.livemode,
            status: status.to_string(),
        }),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not publish a session change"),
    }
}
