//! Drains the service's timer requests (`service::scheduler`): each one
//! sleeps until due, then settles its pending payment or refund, unless
//! someone settled it first (conditional updates). At shutdown the
//! sleeping timers stop; their rows are settled by the next process's
//! start-up recovery and sweep.
use crate::AppState;
use crate::service::scheduler::{Due, Timer};

/// Starts draining this state's timer requests. Once per state: a second
/// call finds the receiver taken and does nothing.
pub fn spawn(state: AppState) {
    let Some(mut requests) = state.timers.take_receiver() else {
        return;
    };
    tokio::spawn(async move {
        loop {
            let timer = tokio::select! {
                t = requests.recv() => t,
                _ = state.shutdown.cancelled() => return,
            };
            let Some(timer) = timer else { return };
            tokio::spawn(run(state.clone(), timer));
        }
    });
}

async fn run(state: AppState, Timer { due, after }: Timer) {
    tokio::select! {
        _ = tokio::time::sleep(after) => {}
        // Stored as due: the next process's start-up recovery settles it.
        _ = state.shutdown.cancelled() => return,
    }
    match due {
        Due::Payment { intent, attempt } => {
            if let Err(e) = crate::service::payment::settle_pending(&state, &intent, &attempt).await
            {
                tracing::warn!(error = %e, "pending settlement failed; the recovery scan will retry");
            }
        }
        Due::Refund(id) => {
            if let Err(e) = crate::service::refund::settle_pending(&state, &id).await {
                tracing::warn!(error = %e, "pending refund settlement failed; the sweep will retry");
            }
        }
    }
}
