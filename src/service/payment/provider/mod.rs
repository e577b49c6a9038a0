//! A payment through a merchant's connector (SPEC §11): the attempt's row
//! with its provider reference is committed before the provider is called;
//! the answer settles it, or leaves it processing for a lookup to decide
//! (the poller, or a notification, which is only a hint). A reference is
//! minted once per attempt: a resend after "never received" reuses it.
use std::sync::atomic::AtomicU64;

use entity::{connector as conn, payment_intent as pi, provider_attempt as pa};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{emit, link, settle};
use crate::AppState;
use crate::db::Unique;
use crate::domain::payment_method::PaymentMethodInput;
use crate::domain::{ConnectorType, IntentStatus, PaymentIntentId};
use crate::error::{Error, Result};
use crate::processor::{
    Attempt, ConnError, Connector, Initiated, Outcome, PROVIDER_DECIDES, Settlement, mtn_momo,
};
use crate::service::checkout::PublicView;
use crate::service::connector;

use super::method::MethodExt;

mod lookup;
pub use lookup::{LATE_SUCCESSES, claim_poll, for_hint, look_up_and_apply, of_attempt, poll_due};

/// Provider answers whose amount, currency or reference did not match the
/// attempt (`/metrics`: `ikawaari_provider_mismatches_total`).
pub static MISMATCHES: AtomicU64 = AtomicU64::new(0);

const PROCESSING: &str = "processing";
const FINAL: &str = "final";

/// The longest wait between two lookups of one attempt.
const MAX_POLL_MS: i64 = 60_000;

/// What an attempt's row and its intent give a provider call.
struct Owned {
    row: pa::Model,
    statement: String,
    return_url: String,
    notification_url: String,
}

impl Owned {
    fn attempt(&self) -> Attempt<'_> {
        Attempt {
            id: &self.row.attempt_id,
            reference: &self.row.reference,
            provider_id: self.row.provider_id.as_deref(),
            intent_id: &self.row.payment_intent_id,
            amount: self.row.amount,
            currency: self.row.currency,
            statement: &self.statement,
            return_url: &self.return_url,
            notification_url: &self.notification_url,
        }
    }
}

async fn owned(state: &AppState, row: pa::Model, c: &conn::Model) -> Result<Owned> {
    let intent = pi::Entity::find_by_id(&row.payment_intent_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("provider attempt without intent".into()))?;
    let statement = crate::service::checkout::merchant_name(state, &c.merchant_id).await?;
    Ok(Owned {
        return_url: format!(
            "{}/checkout/{}/return",
            state.config.public_url(),
            intent.session_id
        ),
        notification_url: connector::notification_url(state, c),
        statement,
        row,
    })
}

/// The provider attempt of a pay through connector `c`, with the
/// reference it will be sent under: inserted by the claim's own
/// transaction (`claim`), so no claimed intent is ever without it, and
/// committed before the provider is called — a crash after that leaves a
/// row the poller looks up with the very reference the provider may have.
pub(super) fn prepare(
    state: &AppState,
    view: &PublicView,
    attempt_id: &str,
    c: &conn::Model,
    method: &PaymentMethodInput,
) -> pa::ActiveModel {
    let reference = match c.kind {
        ConnectorType::MtnMomo => mtn_momo::new_reference(),
        ConnectorType::Wave => attempt_id.to_string(),
    };
    let payer = match method {
        PaymentMethodInput::MobileMoney { phone, .. } => Some(state.config.secrets_key.seal(phone)),
        PaymentMethodInput::Card { .. } => None,
    };
    pa::ActiveModel {
        attempt_id: Set(attempt_id.to_string()),
        payment_intent_id: Set(view.intent.id.clone()),
        connector_id: Set(c.id.clone()),
        reference: Set(reference),
        provider_id: Set(None),
        redirect_url: Set(None),
        payer: Set(payer),
        // The intent's amount as claimed (a link's typed amount): set by the claim.
        amount: Set(view.intent.amount.minor()),
        currency: Set(view.intent.currency),
        state: Set(PROCESSING.into()),
        resent: Set(false),
        polls: Set(0),
        // Not before the initiating call has had its whole time: a lookup
        // meanwhile could find nothing yet and resend what is in flight.
        next_poll_at: Set(state.clock.now_ms()
            + lookup::in_flight_ms(state)
            + poll_after(state, 0)),
        created: Set(state.clock.now()),
    }
}

/// Pays claimed attempt `attempt_id` of `view` (its row inserted by the
/// claim) through connector `c`. `Ok` means settled or processing (the pay
/// route re-reads which).
pub(super) async fn pay(
    state: &AppState,
    view: &PublicView,
    attempt_id: &str,
    c: &conn::Model,
    connector: &dyn Connector,
    method: &PaymentMethodInput,
) -> Result<()> {
    let row = of_attempt(state, attempt_id)
        .await?
        .ok_or_else(|| Error::Internal("claimed provider attempt missing".into()))?;
    let o = Owned {
        return_url: format!(
            "{}/checkout/{}/return",
            state.config.public_url(),
            view.session.id
        ),
        notification_url: connector::notification_url(state, c),
        statement: view.merchant_name.clone(),
        row,
    };
    let answer = connector.initiate(&o.attempt(), method.charge()).await;
    match answer {
        Err(ConnError::Unreachable(e)) => {
            tracing::warn!(error = %e, "provider unreachable before anything was sent");
            release(state, &view.intent.id, attempt_id).await?;
            finish(state, attempt_id).await?;
            Err(Error::ProcessorUnavailable)
        }
        other => apply_initiated(state, &o.row, other).await,
    }
}

/// An initiating call's answer (first or resent), applied.
async fn apply_initiated(
    state: &AppState,
    row: &pa::Model,
    answer: Result<Initiated, ConnError>,
) -> Result<()> {
    let (outcome, provider_id, redirect_url) = match answer {
        Ok(i) => (i.outcome, i.provider_id, i.redirect_url),
        Err(ConnError::Refused(d)) => (Outcome::Declined(d), None, None),
        // Perhaps received: processing, and the lookup decides.
        Err(e) => {
            tracing::warn!(error = %e, attempt = %row.attempt_id, "provider answer unknown: the lookup decides");
            (Outcome::Processing, None, None)
        }
    };
    match outcome {
        Outcome::Succeeded => {
            settle(
                state,
                &row.payment_intent_id,
                &row.attempt_id,
                Settlement::Succeed,
            )
            .await?;
            finish(state, &row.attempt_id).await
        }
        Outcome::Declined(d) => {
            settle(
                state,
                &row.payment_intent_id,
                &row.attempt_id,
                Settlement::Fail(d.clone()),
            )
            .await?;
            finish(state, &row.attempt_id).await?;
            Err(Error::Declined(d))
        }
        Outcome::Processing | Outcome::Pending { .. } => {
            mark_processing(state, row, provider_id, redirect_url).await
        }
    }
}

/// `payment_intent.processing` once, and what the provider gave to show
/// (Wave's launch URL), in one transaction.
async fn mark_processing(
    state: &AppState,
    row: &pa::Model,
    provider_id: Option<String>,
    redirect_url: Option<String>,
) -> Result<()> {
    state
        .writer
        .transaction(|tx| async move {
            let updated = pi::Entity::update_many()
                .col_expr(pi::Column::PendingOutcome, Expr::value(PROVIDER_DECIDES))
                .filter(pi::Column::Id.eq(&row.payment_intent_id))
                .filter(pi::Column::AttemptId.eq(&row.attempt_id))
                .filter(pi::Column::Status.eq(IntentStatus::Processing))
                .filter(pi::Column::PendingOutcome.is_null())
                .exec(&tx)
                .await?;
            if updated.rows_affected == 1 {
                emit::processing(state, &tx, &row.payment_intent_id).await?;
            }
            let mut q = pa::Entity::update_many()
                .filter(pa::Column::AttemptId.eq(&row.attempt_id))
                .filter(pa::Column::State.eq(PROCESSING));
            let first = row.polls == 0;
            if first {
                // The initiating call is over: the first lookup is due soon.
                let at = state.clock.now_ms() + poll_after(state, 0);
                q = q.col_expr(pa::Column::NextPollAt, Expr::value(at));
            }
            if let Some(p) = &provider_id {
                q = q.col_expr(pa::Column::ProviderId, Expr::value(p.clone()));
            }
            if let Some(u) = &redirect_url {
                q = q.col_expr(pa::Column::RedirectUrl, Expr::value(u.clone()));
            }
            if first || provider_id.is_some() || redirect_url.is_some() {
                q.exec(&tx).await?;
            }
            Ok(())
        })
        .await
}

/// `processing → requires_payment_method` for an attempt nothing was sent
/// for (the session stays open, a link's slot is given back); no payment.
async fn release(state: &AppState, intent: &PaymentIntentId, attempt: &str) -> Result<()> {
    state
        .writer
        .transaction(|tx| async move {
            let updated = pi::Entity::update_many()
                .col_expr(
                    pi::Column::Status,
                    Expr::value(IntentStatus::RequiresPaymentMethod),
                )
                .col_expr(pi::Column::AttemptId, Expr::value(Option::<String>::None))
                .filter(pi::Column::Id.eq(intent))
                .filter(pi::Column::AttemptId.eq(attempt))
                .filter(pi::Column::Status.eq(IntentStatus::Processing))
                .exec_with_returning(&tx)
                .await?;
            if let Some(i) = updated.first() {
                link::give_back(&tx, &i.session_id).await?;
            }
            Ok(())
        })
        .await
}

async fn finish(state: &AppState, attempt: &str) -> Result<()> {
    let q = pa::Entity::update_many()
        .col_expr(pa::Column::State, Expr::value(FINAL))
        .filter(pa::Column::AttemptId.eq(attempt));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(())
}

/// The wait before lookup number `polls + 1`: the base, doubling, ≤ 60 s.
fn poll_after(state: &AppState, polls: i32) -> i64 {
    let base = state.config.provider_poll_ms.max(1) as i64;
    base.saturating_mul(1i64 << polls.clamp(0, 20))
        .min(MAX_POLL_MS.max(base))
}
