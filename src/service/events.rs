//! Session state changes, published by the service layer after each commit.
//! In-process broadcast today; a PostgreSQL LISTEN/NOTIFY feed can implement
//! the same `publish`/`subscribe` pair for several processes.
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    pub session_id: String,
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
