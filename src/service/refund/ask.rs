//! Asking the payment's provider for a refund: the test processor, or the
//! connector the payment went through (SPEC §11: MTN through its
//! Disbursement product, Wave's refund route). Each refund's provider
//! reference is chosen before the first call; a provider that has it
//! "processing" (or could not answer) is asked again by the sweep.
use std::sync::Arc;

use entity::{connector as conn, payment_intent as pi, provider_attempt as pa, refund};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::settle;
use crate::AppState;
use crate::db::Unique;
use crate::domain::refund::RefundSettlement;
use crate::domain::{Amount, ConnectorType, RefundStatus};
use crate::error::{Error, Result};
use crate::processor::{Attempt, ConnError, Connector, RefundOutcome, RefundRequest, Refunds};
use crate::service::{connector, payment};

/// How long before a provider that has a refund processing is asked again.
pub(super) const ASK_AGAIN_SECS: i64 = 5;

/// The connector that refunds `intent`'s payment (`None`: the test
/// processor), after checking it can make this refund — before anything
/// is reserved.
pub(super) async fn route_for(
    state: &AppState,
    intent: &pi::Model,
    requested: Option<Amount>,
) -> Result<Option<conn::Model>> {
    let attempt = intent.attempt_id.as_deref().unwrap_or_default();
    let Some(row) = payment::provider_attempt(state, attempt).await? else {
        return match intent.livemode {
            true => Err(Error::ProcessorUnavailable),
            false => Ok(None),
        };
    };
    let c = conn::Entity::find_by_id(&row.connector_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("provider attempt without connector".into()))?;
    match connector::instance(state, &c)?.refunds() {
        Refunds::None => Err(Error::RefundUnsupported(
            "MTN MoMo refunds go through its Disbursement product; add its credentials to the connector",
        )),
        Refunds::Full
            if intent.amount_refunded.minor() > 0
                || requested.is_some_and(|a| a.minor() != intent.amount.minor()) =>
        {
            Err(Error::RefundUnsupported(
                "Wave refunds the whole payment only",
            ))
        }
        Refunds::Full | Refunds::Partial => Ok(Some(c)),
    }
}

/// The provider's reference for a new refund through `c`.
pub(super) fn reference_for(c: Option<&conn::Model>, refund_id: &str) -> Option<String> {
    c.map(|c| match c.kind {
        ConnectorType::MtnMomo => crate::processor::mtn_momo::new_reference(),
        ConnectorType::Wave => refund_id.to_string(),
    })
}

/// Asks the provider about refund `r` (the first time: sends it; later:
/// its status, sending it again with the same reference if the provider
/// never got it) and applies the answer.
pub(super) async fn ask(state: &AppState, r: &refund::Model, first: bool) -> Result<()> {
    let intent = pi::Entity::find_by_id(&r.payment_intent_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("refund without intent".into()))?;
    let attempt_id = intent.attempt_id.clone().unwrap_or_default();
    let (connector, row): (Arc<dyn Connector>, Option<pa::Model>) = match &r.connector_id {
        None => (state.processor.clone(), None),
        Some(id) => {
            let c = conn::Entity::find_by_id(crate::domain::ConnectorId::trusted(id.clone()))
                .unique(&state.db)
                .await?
                .ok_or_else(|| Error::Internal("refund without connector".into()))?;
            (
                connector::instance(state, &c)?,
                payment::provider_attempt(state, &attempt_id).await?,
            )
        }
    };
    let payment = Attempt {
        id: &attempt_id,
        reference: row
            .as_ref()
            .map_or(attempt_id.as_str(), |p| p.reference.as_str()),
        provider_id: row.as_ref().and_then(|p| p.provider_id.as_deref()),
        intent_id: &intent.id,
        amount: intent.amount.minor(),
        currency: intent.currency,
        statement: "",
        return_url: "",
        notification_url: "",
    };
    let req = RefundRequest {
        id: &r.id,
        reference: r.provider_ref.as_deref().unwrap_or(&r.id),
        payment: &payment,
        amount: r.amount.minor(),
    };
    // Asked again (the first answer unknown, or processing): its status
    // first, and only a provider that never got it is sent it again — a
    // refusal of that resend may mean "already refunded" (Wave answers a
    // second refund `409`): it stays pending, for a person to reconcile,
    // never `failed` on a guess.
    let again = r.connector_id.is_some() && !first;
    let answer = if again {
        match connector.refund_status(&req).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => match connector.refund(&req).await {
                Ok(RefundOutcome::Failed(reason)) => {
                    tracing::error!(refund = %r.id, reason, "a resent refund was refused: it may have been made already; left pending for reconciliation");
                    Ok(RefundOutcome::Processing)
                }
                other => other,
            },
            Err(e) => Err(e),
        }
    } else {
        connector.refund(&req).await
    };
    apply(state, r, answer).await
}

async fn apply(
    state: &AppState,
    r: &refund::Model,
    answer: Result<RefundOutcome, ConnError>,
) -> Result<()> {
    let (outcome, at) = match answer {
        Ok(RefundOutcome::Succeeded) => {
            return settle(state, &r.id, RefundSettlement::Succeed)
                .await
                .map(|_| ());
        }
        Ok(RefundOutcome::Failed(reason)) => {
            return settle(state, &r.id, RefundSettlement::Fail(reason))
                .await
                .map(|_| ());
        }
        Ok(RefundOutcome::Pending { after, then }) => {
            state
                .timers
                .after(after, crate::service::scheduler::Due::Refund(r.id.clone()));
            (
                Some(then.encode()),
                state.clock.now() + after.as_millis().div_ceil(1000) as i64,
            )
        }
        Ok(RefundOutcome::Processing) => (None, state.clock.now() + ASK_AGAIN_SECS),
        Err(e) => {
            tracing::warn!(error = %e, refund = %r.id, "refund: provider answer unknown; will ask again");
            (None, state.clock.now() + ASK_AGAIN_SECS)
        }
    };
    let q = refund::Entity::update_many()
        .col_expr(refund::Column::PendingOutcome, Expr::value(outcome))
        .col_expr(refund::Column::SettleAt, Expr::value(at))
        .filter(refund::Column::Id.eq(&r.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(())
}
