//! Test helpers (`succeed` / `fail` / `expire`), test mode only.

use entity::payment_intent as pi;
use sea_orm::EntityTrait;

use crate::AppState;
use crate::db::Unique;
use crate::domain::CheckoutSessionId;
use crate::domain::ids;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{IntentStatus, SessionStatus};
use crate::error::{Conflict, Error, Result};
use crate::processor::Settlement;
use crate::service::checkout::{self};
use crate::service::stored::StoredPaymentMethod as PaymentMethodSummary;

use super::*;

/// Test helper `succeed` / `fail`: drives the session as a customer would.
pub async fn test_helper_settle(
    state: &AppState,
    p: &Principal,
    session_id: &CheckoutSessionId,
    succeed: bool,
) -> Result<()> {
    p.require(Scope::Write)?;
    if p.livemode {
        return Err(Error::TestModeOnly);
    }
    let s = checkout::find_owned(state, p, session_id).await?;
    match checkout::effective_status(&s, state.clock.now()) {
        SessionStatus::Complete => return Err(Error::Conflict(Conflict::SessionCompleted)),
        SessionStatus::Expired => return Err(Error::Conflict(Conflict::SessionExpired)),
        SessionStatus::Open => {}
    }
    let intent = pi::Entity::find_by_id(&s.payment_intent_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("missing intent".into()))?;
    let how = if succeed {
        Settlement::Succeed
    } else {
        Settlement::Fail(crate::processor::decline(
            "card_declined",
            Some("insufficient_funds"),
            "The payment was declined (test helper).",
        ))
    };
    let attempt = match (
        intent.status,
        intent.pending_outcome.is_some(),
        intent.attempt_id.clone(),
    ) {
        (IntentStatus::Processing, true, Some(a)) => a,
        (IntentStatus::Processing, _, _) => {
            return Err(Error::Conflict(Conflict::PaymentInProgress));
        }
        _ => {
            let attempt = ids::new_id("py");
            let summary = PaymentMethodSummary::of_type("test_helper");
            if s.payment_link_id.is_some() {
                // A link's session: its slot and amount, as a customer's pay.
                let view = checkout::public_view(state, session_id).await?;
                let typed = link::helper_amount(&view)?;
                claim_for_link(state, &view, &attempt, &summary, typed, None).await?;
            } else {
                claim(state, &intent.id, &attempt, &summary, None).await?;
            }
            attempt
        }
    };
    if !settle(state, &intent.id, &attempt, how).await? {
        return Err(Error::Conflict(Conflict::PaymentInProgress));
    }
    Ok(())
}

/// Test helper `expire`: the expire route, test mode only.
pub async fn test_helper_expire(
    state: &AppState,
    p: &Principal,
    session_id: &CheckoutSessionId,
) -> Result<()> {
    p.require(Scope::Write)?;
    if p.livemode {
        return Err(Error::TestModeOnly);
    }
    checkout::expire(state, p, session_id).await.map(|_| ())
}
