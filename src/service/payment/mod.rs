//! Paying a checkout session, exactly once.
//!
//! A pay attempt first *claims* the payment intent with a conditional update
//! (`requires_payment_method → processing`, tagged with the attempt id) that
//! must touch exactly one row; only the claimant may call the processor and
//! settle. Settlement is a second conditional update on the same attempt id,
//! in the transaction that inserts the `payments` row, whose partial unique
//! index admits one succeeded payment per session.
mod claim;
mod emit;
mod link;
mod method;
mod provider;
mod test_helpers;

use entity::{checkout_session as cs, payment, payment_intent as pi};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::AppState;
use crate::db::Unique;
use crate::domain::ids;
use crate::domain::principal::{Principal, Scope};
use crate::domain::return_url::resolve;
use crate::domain::{ChargeStatus, IntentStatus, PaymentStatus, SessionStatus};
use crate::error::{Conflict, Decline, Error, Result};
use crate::processor::{Outcome, Settlement};
use crate::service::checkout::{self, PublicView};
use crate::service::events;
use crate::service::scheduler::Due;
use crate::service::stored;
use crate::service::stored::StoredPaymentError as PaymentError;
use crate::service::subscription;
use crate::service::tally;

use crate::domain::payment_method::PaymentMethodInput;
use crate::domain::{CheckoutSessionId, PaymentIntentId};
use claim::{claim, claim_for_link};
use method::MethodExt;
pub use provider::{LATE_SUCCESSES, MISMATCHES, claim_poll, look_up_and_apply, poll_due};
pub use test_helpers::{test_helper_expire, test_helper_settle};

/// The provider attempt of `attempt`, if it went through a connector.
pub async fn provider_attempt(
    state: &AppState,
    attempt: &str,
) -> Result<Option<entity::provider_attempt::Model>> {
    provider::of_attempt(state, attempt).await
}

/// A notification's attempt (`service::connector::notify`).
pub use provider::for_hint as provider_attempt_for_hint;

/// A claimed card attempt older than this with no pending settlement was cut
/// short by a crash; it is released so the customer can pay again.
pub const STALE_CLAIM_SECS: i64 = 120;

/// The result of a pay call that did not fail.
pub struct Paid {
    pub processing: bool,
    pub intent: pi::Model,
    pub view: PublicView,
    pub redirect_url: Option<String>,
}

#[tracing::instrument(skip_all, fields(session = %session_id))]
pub async fn pay(
    state: &AppState,
    session_id: &CheckoutSessionId,
    method: PaymentMethodInput,
    amount: Option<i64>,
) -> Result<Paid> {
    let now = state.clock.now();
    method.check_not_expired(now)?;
    let view = checkout::public_view(state, session_id).await?;
    match view.status {
        SessionStatus::Complete => return Err(Error::Conflict(Conflict::SessionCompleted)),
        SessionStatus::Expired => return Err(Error::Conflict(Conflict::SessionExpired)),
        SessionStatus::Open => {}
    }
    if !stored::accepts(&view.session, method.kind()) {
        return Err(Error::invalid(
            "payment_method.type",
            "This payment method is not accepted for this checkout session.",
        ));
    }
    let typed = link::typed_amount(&view, amount)?;
    let route = crate::service::connector::provider_for(
        state,
        &view.session.merchant_id,
        view.session.livemode,
        &method,
    )
    .await?;
    let attempt = ids::new_id("py");
    let provider_row = route
        .as_ref()
        .map(|(c, _)| provider::prepare(state, &view, &attempt, c, &method));
    if view.session.payment_link_id.is_some() {
        claim_for_link(
            state,
            &view,
            &attempt,
            &method.summary(),
            typed,
            provider_row,
        )
        .await?;
    } else {
        claim(
            state,
            &view.intent.id,
            &attempt,
            &method.summary(),
            provider_row,
        )
        .await?;
    }
    if let Some((c, connector)) = route {
        provider::pay(state, &view, &attempt, &c, connector.as_ref(), &method).await?;
        return result(state, session_id).await;
    }
    let test_attempt = crate::processor::Attempt {
        id: &attempt,
        reference: &attempt,
        provider_id: None,
        intent_id: &view.intent.id,
        amount: view.intent.amount.minor(),
        currency: view.intent.currency,
        statement: &view.merchant_name,
        return_url: "",
        notification_url: "",
    };
    let initiated = state
        .processor
        .initiate(&test_attempt, method.charge())
        .await
        .map(|i| i.outcome);
    match initiated {
        Err(e) => {
            tracing::warn!(error = %e, "test processor failed");
            return Err(Error::ProcessorUnavailable);
        }
        Ok(Outcome::Processing) => {
            return Err(Error::Internal(
                "the test processor never leaves an attempt undecided".into(),
            ));
        }
        Ok(Outcome::Succeeded) => {
            settle(state, &view.intent.id, &attempt, Settlement::Succeed).await?;
        }
        Ok(Outcome::Declined(d)) => {
            settle(
                state,
                &view.intent.id,
                &attempt,
                Settlement::Fail(d.clone()),
            )
            .await?;
            return Err(Error::Declined(d));
        }
        Ok(Outcome::Pending { after, then }) => {
            let settle_at = now + after.as_millis().div_ceil(1000) as i64;
            mark_pending(state, &view.intent.id, &attempt, &then, settle_at).await?;
            state.timers.after(
                after,
                Due::Payment {
                    intent: view.intent.id.clone(),
                    attempt: attempt.clone(),
                },
            );
        }
    }
    result(state, session_id).await
}

/// Records the outcome an asynchronous attempt will settle with, and its
/// `payment_intent.processing` event, in one transaction.
async fn mark_pending(
    state: &AppState,
    intent_id: &PaymentIntentId,
    attempt: &str,
    then: &Settlement,
    settle_at: i64,
) -> Result<()> {
    state
        .writer
        .transaction(|tx| async move {
            let updated = pi::Entity::update_many()
                .col_expr(pi::Column::PendingOutcome, Expr::value(then.encode()?))
                .col_expr(pi::Column::SettleAt, Expr::value(settle_at))
                .filter(pi::Column::Id.eq(intent_id))
                .filter(pi::Column::AttemptId.eq(attempt))
                .exec(&tx)
                .await?;
            if updated.rows_affected == 1 {
                emit::processing(state, &tx, intent_id).await?;
            }
            Ok(())
        })
        .await
}

/// The pay response's pieces, re-read after the change.
async fn result(state: &AppState, session_id: &CheckoutSessionId) -> Result<Paid> {
    let view = checkout::public_view(state, session_id).await?;
    let intent = view.intent.clone();
    let processing = intent.status == IntentStatus::Processing;
    let redirect_url = match (&view.next_action, intent.status) {
        (_, IntentStatus::Succeeded) => Some(resolve(&view.session.success_url, &view.session.id)),
        (Some(crate::service::views::NextAction::Redirect { url }), _) => Some(url.clone()),
        _ => None,
    };
    Ok(Paid {
        processing,
        intent,
        view,
        redirect_url,
    })
}

/// Ends attempt `attempt` of intent `intent_id`. Returns false when that
/// attempt no longer holds the intent (someone else settled it).
pub async fn settle(
    state: &AppState,
    intent_id: &PaymentIntentId,
    attempt: &str,
    how: Settlement,
) -> Result<bool> {
    let now = state.clock.now();
    let Some(intent) = pi::Entity::find_by_id(intent_id).unique(&state.db).await? else {
        return Ok(false);
    };
    let (status, error) = match &how {
        Settlement::Succeed => (IntentStatus::Succeeded, None),
        Settlement::Fail(d) => (IntentStatus::RequiresPaymentMethod, Some(payment_error(d))),
    };
    let last_error = error
        .as_ref()
        .map(|e| stored::encode(e, "payment_intents.last_payment_error"))
        .transpose()?;
    let settled = state
        .writer
        .transaction(|tx| async move {
            let updated = pi::Entity::update_many()
                .col_expr(pi::Column::Status, Expr::value(status))
                .col_expr(pi::Column::LastPaymentError, Expr::value(last_error))
                .col_expr(
                    pi::Column::PendingOutcome,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(pi::Column::SettleAt, Expr::value(Option::<i64>::None))
                .col_expr(pi::Column::Updated, Expr::value(now))
                .filter(pi::Column::Id.eq(intent_id))
                .filter(pi::Column::Status.eq(IntentStatus::Processing))
                .filter(pi::Column::AttemptId.eq(attempt))
                .exec_with_returning(&tx)
                .await?;
            // `RETURNING`: the settled intent, which its event carries.
            let Ok([settled]) = <[pi::Model; 1]>::try_from(updated) else {
                tx.rollback_only();
                return Ok(false);
            };
            // Sent with the commit; a second succeeded payment for the
            // session (its partial unique index) fails the commit, below.
            tx.defer(&payment::Entity::insert(payment_row(
                &intent,
                attempt,
                error.as_ref(),
                now,
            )));
            let succeeded = error.is_none();
            let asynchronous = intent.pending_outcome.is_some();
            if !succeeded {
                link::give_back(&tx, &intent.session_id).await?;
            }
            if succeeded {
                complete_session(&tx, &intent.session_id, now).await?;
                events::on_commit(
                    state,
                    &tx,
                    events::SessionEvent {
                        session_id: intent.session_id.to_string(),
                        merchant_id: intent.merchant_id.to_string(),
                        livemode: intent.livemode,
                        status: SessionStatus::Complete,
                    },
                );
            }
            emit::settled(state, &tx, &settled, succeeded, asynchronous, now).await?;
            Ok(true)
        })
        .await;
    match settled {
        Err(Error::Database(d)) if d.kind == crate::error::DbFailure::UniqueViolation => {
            tracing::error!("second successful payment refused by the database");
            Ok(false)
        }
        other => other,
    }
}

/// The `payments` row of a settled attempt (its partial unique index admits
/// one succeeded payment per session).
fn payment_row(
    intent: &pi::Model,
    attempt: &str,
    error: Option<&PaymentError>,
    now: i64,
) -> payment::ActiveModel {
    payment::ActiveModel {
        id: Set(attempt.to_string()),
        payment_intent_id: Set(intent.id.clone()),
        session_id: Set(intent.session_id.clone()),
        status: Set(if error.is_none() {
            ChargeStatus::Succeeded
        } else {
            ChargeStatus::Failed
        }),
        amount: Set(intent.amount),
        currency: Set(intent.currency),
        payment_method: Set(intent.payment_method.clone().unwrap_or_else(|| "{}".into())),
        failure_code: Set(error.map(|e| e.decline_code.clone().unwrap_or_else(|| e.code.clone()))),
        created: Set(now),
    }
}

/// `open → complete, paid` in the settling transaction, and the
/// subscription a subscription-mode session starts.
async fn complete_session(
    tx: &crate::db::WriteTx,
    session_id: &CheckoutSessionId,
    now: i64,
) -> Result<()> {
    // `RETURNING`: the completed row for the counters, without a read.
    let completed = cs::Entity::update_many()
        .col_expr(cs::Column::Status, Expr::value(SessionStatus::Complete))
        .col_expr(cs::Column::PaymentStatus, Expr::value(PaymentStatus::Paid))
        .col_expr(cs::Column::CompletedAt, Expr::value(now))
        .filter(cs::Column::Id.eq(session_id))
        .filter(cs::Column::Status.eq(SessionStatus::Open))
        .exec_with_returning(tx)
        .await?;
    let [session] = <[cs::Model; 1]>::try_from(completed)
        .map_err(|_| Error::Internal("paid intent on a session that is not open".into()))?;
    tally::session(tx, &session, tally::Move::Completed)?;
    link::count_paid(tx, &session).await?;
    subscription::create_for_session(tx, &session, now).await
}

fn payment_error(d: &Decline) -> PaymentError {
    PaymentError {
        r#type: "card_error".into(),
        code: d.code.clone(),
        decline_code: d.decline_code.clone(),
        message: d.message.clone(),
    }
}

/// Intents by id (the caller owns the sessions they were reached through).
pub async fn intents_by_id(
    state: &AppState,
    ids: &[String],
) -> Result<std::collections::HashMap<String, pi::Model>> {
    let rows = pi::Entity::find()
        .filter(pi::Column::Id.is_in(ids.iter().cloned()))
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id.to_string(), r)).collect())
}

pub async fn get_intent(
    state: &AppState,
    p: &Principal,
    id: &PaymentIntentId,
) -> Result<pi::Model> {
    p.require(Scope::Read)?;
    pi::Entity::find_by_id(id)
        .filter(pi::Column::MerchantId.eq(&p.merchant_id))
        .filter(pi::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("payment_intent", id))
}

/// Settles `attempt` of a pending payment from its stored outcome, if it
/// still holds the intent (a timer or the sweep calls this).
pub async fn settle_pending(
    state: &AppState,
    intent_id: &PaymentIntentId,
    attempt: &str,
) -> Result<bool> {
    let Some(i) = pi::Entity::find_by_id(intent_id).unique(&state.db).await? else {
        return Ok(false);
    };
    match (i.attempt_id.as_deref(), i.pending_outcome.as_deref()) {
        (_, Some(crate::processor::PROVIDER_DECIDES)) => Ok(false),
        (Some(a), Some(outcome)) if a == attempt && i.status == IntentStatus::Processing => {
            settle(state, intent_id, attempt, Settlement::decode(outcome)).await
        }
        _ => Ok(false),
    }
}
