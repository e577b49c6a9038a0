//! On PostgreSQL, this process's one `LISTEN` connection: other processes'
//! session changes are re-broadcast to this process's subscribers
//! (`service::events`), and a commit that queued webhook deliveries
//! anywhere wakes this process's delivery worker (`service::webhook::wake`).
//! After a lost connection it connects again (a missed wake-up costs only
//! latency: the worker also polls).
use sea_orm::DbBackend;

use crate::AppState;
use crate::service::events;
use crate::service::webhook::wake;

/// Does nothing on SQLite (one process).
pub fn spawn(state: AppState) {
    if state.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    tokio::spawn(async move {
        let stop = state.shutdown.clone();
        loop {
            tokio::select! {
                r = listen(&state) => if let Err(e) = r {
                    tracing::warn!(error = %e, "PostgreSQL listener failed; retrying");
                },
                _ = stop.cancelled() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.cancelled() => return,
            }
        }
    });
}

async fn listen(state: &AppState) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener =
        sea_orm::sqlx::postgres::PgListener::connect(&state.config.database_url).await?;
    listener
        .listen_all([events::CHANNEL, wake::CHANNEL])
        .await?;
    loop {
        let n = listener.recv().await?;
        if n.channel() == wake::CHANNEL {
            state.deliveries.wake();
        } else {
            state.events.receive(n.payload());
        }
    }
}
