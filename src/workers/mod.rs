//! Background work: the expiry sweeper, pending-payment recovery and
//! idempotency-key purge. Safe with several processes: every change is a
//! conditional update that only one process can win.
pub mod listener;
pub mod settlement;
pub mod timers;
pub mod webhooks;

use std::time::Duration;

use crate::AppState;
use crate::service::{checkout, event_log, idempotency, subscription};

/// Runs once at start-up, then every `sweep_interval_ms`, until
/// `state.shutdown` is cancelled.
pub fn spawn(state: AppState) {
    listener::spawn(state.clone());
    webhooks::spawn(state.clone());
    timers::spawn(state.clone());
    spawn_provider_poller(state.clone());
    tokio::spawn(async move {
        let interval = Duration::from_millis(state.config.sweep_interval_ms.max(50));
        loop {
            if let Err(e) = tick(&state).await {
                tracing::warn!(error = %e, "background sweep failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = state.shutdown.cancelled() => return,
            }
        }
    });
}

/// Looks up processing provider attempts as they fall due (SPEC §11: from
/// 5 s, backing off to 60 s): its own beat, much finer than the sweep's.
fn spawn_provider_poller(state: AppState) {
    tokio::spawn(async move {
        let beat = Duration::from_millis(state.config.provider_poll_ms.clamp(50, 1_000));
        loop {
            if let Err(e) = crate::service::payment::poll_due(&state).await {
                tracing::warn!(error = %e, "provider poll failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(beat) => {}
                _ = state.shutdown.cancelled() => return,
            }
        }
    });
}

pub async fn tick(state: &AppState) -> crate::error::Result<()> {
    let expired = checkout::sweep_expired(state, 500).await?;
    if expired > 0 {
        tracing::info!(expired, "expired checkout sessions");
    }
    settlement::settle_due(state).await?;
    crate::service::refund::settle_due(state).await?;
    subscription::sweep_ended(state, 500).await?;
    idempotency::purge(state).await?;
    event_log::prune(state).await?;
    Ok(())
}

/// Recovery of pending payments happens once per process start.
pub async fn recover(state: &AppState) -> crate::error::Result<()> {
    settlement::recover(state).await
}
