//! Pending (mobile money) payments: timers, the periodic sweep of due and
//! interrupted attempts, and start-up recovery. Safe with several processes:
//! every change is a conditional update only one process can win. The
//! settling itself is the service's (`payment::settle`); this module decides
//! when.
use std::time::Duration;

use entity::payment_intent as pi;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::AppState;
use crate::domain::{IntentStatus, PaymentIntentId};
use crate::error::Result;
use crate::processor::{Outcome, Settlement};

use crate::service::payment::{STALE_CLAIM_SECS, settle};
use crate::service::scheduler::Due;

/// Asks for a timer that settles a pending payment after `after`, unless
/// someone settles it first.
fn schedule_settlement(
    state: &AppState,
    intent: PaymentIntentId,
    attempt: String,
    after: Duration,
) {
    state.timers.after(after, Due::Payment { intent, attempt });
}

/// Periodically (any process): settles pending payments that are due and
/// releases claims cut short by a crash. Conditional updates make a second
/// process doing the same at the same time harmless.
pub async fn settle_due(state: &AppState) -> Result<()> {
    // In bounded batches by id, so a backlog never loads at once.
    const BATCH: u64 = 200;
    let mut after = String::new();
    loop {
        let batch = pi::Entity::find()
            .filter(pi::Column::Status.eq(IntentStatus::Processing))
            .filter(pi::Column::Id.gt(after.as_str()))
            .order_by_asc(pi::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id.to_string();
        let full = batch.len() as u64 == BATCH;
        settle_batch(state, batch).await?;
        if !full {
            return Ok(());
        }
    }
}

async fn settle_batch(state: &AppState, processing: Vec<pi::Model>) -> Result<()> {
    let now = state.clock.now();
    for i in processing {
        let Some(attempt) = i.attempt_id.clone() else {
            continue;
        };
        match (i.pending_outcome.as_deref(), i.settle_at) {
            (Some(outcome), Some(at)) if at <= now => {
                settle(state, &i.id, &attempt, Settlement::decode(outcome)).await?;
            }
            (None, _) if i.updated + STALE_CLAIM_SECS < now => {
                recover_claim(state, &i.id, &attempt).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A claim cut short (crash, lost answer): ask the processor what became
/// of the attempt and settle from its answer. Only an attempt the processor
/// never received is failed; an unreachable processor is asked again at the
/// next sweep, never guessed.
async fn recover_claim(state: &AppState, intent_id: &PaymentIntentId, attempt: &str) -> Result<()> {
    // Through a connector: the provider poller looks it up (same reference).
    if crate::service::payment::provider_attempt(state, attempt)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let probe = crate::processor::Attempt {
        id: attempt,
        reference: attempt,
        provider_id: None,
        intent_id,
        amount: 0,
        currency: entity::currency::Currency::parse("XOF")
            .ok_or_else(|| crate::error::Error::Internal("XOF unknown".into()))?,
        statement: "",
        return_url: "",
        notification_url: "",
    };
    let outcome = match state.processor.lookup(&probe).await {
        Ok(o) => o.map(|o| o.outcome),
        Err(e) => {
            tracing::warn!(error = %e, attempt, "interrupted payment: processor not reachable; will ask again");
            return Ok(());
        }
    };
    tracing::info!(
        attempt,
        known = outcome.is_some(),
        "recovering an interrupted payment from the processor's answer"
    );
    match outcome {
        None => {
            let d = crate::processor::decline(
                "card_declined",
                Some("processing_error"),
                "The payment was interrupted; please try again.",
            );
            settle(state, intent_id, attempt, Settlement::Fail(d)).await?;
        }
        Some(Outcome::Succeeded) => {
            settle(state, intent_id, attempt, Settlement::Succeed).await?;
        }
        Some(Outcome::Declined(d)) => {
            settle(state, intent_id, attempt, Settlement::Fail(d)).await?;
        }
        // The test processor always decides; nothing to do until it has.
        Some(Outcome::Processing) => {}
        Some(Outcome::Pending { after, then }) => {
            let settle_at = state.clock.now() + after.as_millis().div_ceil(1000) as i64;
            let q = pi::Entity::update_many()
                .col_expr(pi::Column::PendingOutcome, Expr::value(then.encode()?))
                .col_expr(pi::Column::SettleAt, Expr::value(settle_at))
                .filter(pi::Column::Id.eq(intent_id))
                .filter(pi::Column::AttemptId.eq(attempt))
                .filter(pi::Column::Status.eq(IntentStatus::Processing));
            state
                .writer
                .one(|c| async move { q.exec(&c).await })
                .await?;
            schedule_settlement(state, intent_id.clone(), attempt.to_string(), after);
        }
    }
    Ok(())
}

/// At start-up: everything `settle_due` does, and timers for the pending
/// payments that are not due yet, so a restart forgets none.
pub async fn recover(state: &AppState) -> Result<()> {
    settle_due(state).await?;
    let now = state.clock.now();
    let pending = pi::Entity::find()
        .filter(pi::Column::Status.eq(IntentStatus::Processing))
        .filter(pi::Column::SettleAt.is_not_null())
        .all(&state.db)
        .await?;
    for i in pending {
        if let (Some(attempt), Some(at)) = (i.attempt_id, i.settle_at) {
            schedule_settlement(
                state,
                i.id,
                attempt,
                Duration::from_secs(at.saturating_sub(now).max(0) as u64),
            );
        }
    }
    Ok(())
}
