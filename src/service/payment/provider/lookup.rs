//! Looking a provider attempt up: the poller's beat, a notification's
//! hint, the resend of an attempt the provider never got (same reference)
//! and the ten-minute end; a provider's figures are checked before
//! anything is applied.
use std::sync::atomic::{AtomicU64, Ordering};

use entity::{connector as conn, payment_intent as pi, provider_attempt as pa};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    MISMATCHES, Owned, PROCESSING, apply_initiated, finish, mark_processing, owned, poll_after,
};
use crate::AppState;
use crate::db::Unique;
use crate::domain::{ConnectorType, IntentStatus};
use crate::error::{Error, Result};
use crate::processor::{ConnError, Connector, Initiated, Observed, Outcome, Settlement, decline};
use crate::service::connector;
use crate::service::payment::settle;

/// Whether the provider's figures are the attempt's own.
fn matches(kind: ConnectorType, row: &pa::Model, o: &Observed) -> bool {
    let Some(r) = &o.reported else {
        return true;
    };
    let reference_ok = match kind {
        // MTN reports the intent (`externalId`); Wave the attempt's reference.
        ConnectorType::MtnMomo => r.reference == row.payment_intent_id.as_str(),
        ConnectorType::Wave => r.reference == row.reference,
    };
    reference_ok && r.amount == Some(row.amount) && r.currency == row.currency.code()
}

/// Successes a provider reported for attempts we had already ended: money
/// taken for a payment the customer was told failed (`/metrics`:
/// `ikawaari_provider_late_successes_total`); each is logged at error level
/// for the merchant to refund.
pub static LATE_SUCCESSES: AtomicU64 = AtomicU64::new(0);

/// The longest an initiating call can take: a token, the call, a refreshed
/// token after a `401`, the call again. No lookup may resend before.
pub(super) fn in_flight_ms(state: &AppState) -> i64 {
    4 * state.config.provider_timeout().as_millis() as i64
}

/// Looks attempt `row` up and applies what the provider says (after its
/// figures are checked). Never errs for the provider's sake: a provider
/// that cannot be asked, or whose figures do not match, is asked again
/// later; nothing is failed on a guess.
pub async fn look_up_and_apply(state: &AppState, row: pa::Model) -> Result<()> {
    let Some(c) = conn::Entity::find_by_id(&row.connector_id)
        .unique(&state.db)
        .await?
    else {
        return Ok(());
    };
    let intent = pi::Entity::find_by_id(&row.payment_intent_id)
        .unique(&state.db)
        .await?;
    let still_ours = intent.as_ref().is_some_and(|i| {
        i.status == IntentStatus::Processing && i.attempt_id.as_deref() == Some(&row.attempt_id)
    });
    let connector = connector::instance(state, &c)?;
    let o = owned(state, row, &c).await?;
    let seen = match connector.lookup(&o.attempt()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, attempt = %o.row.attempt_id, "provider lookup failed; will ask again");
            return Ok(());
        }
    };
    if !still_ours {
        if let Some(s) = &seen
            && s.outcome == Outcome::Succeeded
            && matches(c.kind, &o.row, s)
            && intent.is_some_and(|i| {
                i.attempt_id.as_deref() != Some(&o.row.attempt_id)
                    || i.status != IntentStatus::Succeeded
            })
        {
            LATE_SUCCESSES.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                attempt = %o.row.attempt_id,
                intent = %o.row.payment_intent_id,
                "the provider took a payment for an attempt already ended: refund it at the provider"
            );
        }
        return finish(state, &o.row.attempt_id).await;
    }
    let now = state.clock.now();
    let in_flight = o.row.created * 1000 + in_flight_ms(state) > state.clock.now_ms();
    let expired = o.row.created + state.config.provider_expiry_secs <= now;
    let Some(seen) = seen else {
        // Not at the provider (yet). Sent once more, with the same
        // reference, once the first call cannot still arrive — never once
        // the provider gave its own id (Wave has no idempotency key: a
        // second create would be a second checkout session).
        if in_flight {
            return Ok(());
        }
        if !o.row.resent && o.row.provider_id.is_none() && o.row.polls >= 2 {
            return resend(state, &o, connector.as_ref()).await;
        }
        // Never received, even resent: nothing can be taken; it ends.
        return if expired && o.row.resent {
            expire(state, &o.row).await
        } else {
            Ok(())
        };
    };
    if !matches(c.kind, &o.row, &seen) {
        MISMATCHES.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            attempt = %o.row.attempt_id,
            "provider answer does not match the attempt (amount, currency or reference): not applied"
        );
        return Ok(());
    }
    match seen.outcome {
        Outcome::Processing | Outcome::Pending { .. } if expired => {
            end_at_provider(state, &o, &c, connector.as_ref()).await
        }
        Outcome::Processing | Outcome::Pending { .. } => {
            mark_processing(state, &o.row, seen.provider_id, seen.redirect_url).await
        }
        other => apply_final(state, &o.row, other).await,
    }
}

async fn apply_final(state: &AppState, row: &pa::Model, outcome: Outcome) -> Result<()> {
    match apply_initiated(state, row, Ok(Initiated::just(outcome))).await {
        Err(Error::Declined(_)) => Ok(()),
        r => r,
    }
}

/// Ten minutes without a final answer. Where the provider can end the
/// attempt (Wave: expire its checkout session) it is ended there first and
/// the provider's answer after that decides (a payment made meanwhile
/// succeeds); where it cannot (MTN ends a request itself within ≈ 5 min),
/// still pending means failed.
async fn end_at_provider(
    state: &AppState,
    o: &Owned,
    c: &conn::Model,
    connector: &dyn Connector,
) -> Result<()> {
    match connector.cancel(&o.attempt()).await {
        Ok(false) => expire(state, &o.row).await,
        Ok(true) => match connector.lookup(&o.attempt()).await {
            Ok(Some(s)) if matches(c.kind, &o.row, &s) => match s.outcome {
                Outcome::Processing | Outcome::Pending { .. } => Ok(()),
                other => apply_final(state, &o.row, other).await,
            },
            _ => Ok(()),
        },
        Err(e) => {
            tracing::warn!(error = %e, attempt = %o.row.attempt_id, "could not end the attempt at the provider; will ask again");
            Ok(())
        }
    }
}

/// The provider never got the attempt (MTN `404` after an ambiguous call):
/// sent once more, with the same reference.
async fn resend(state: &AppState, o: &Owned, connector: &dyn Connector) -> Result<()> {
    let q = pa::Entity::update_many()
        .col_expr(pa::Column::Resent, Expr::value(true))
        .filter(pa::Column::AttemptId.eq(&o.row.attempt_id))
        .filter(pa::Column::Resent.eq(false));
    let marked = state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    if marked.rows_affected != 1 {
        return Ok(());
    }
    let phone = o
        .row
        .payer
        .as_deref()
        .and_then(|p| state.config.secrets_key.open(p))
        .unwrap_or_default();
    tracing::info!(attempt = %o.row.attempt_id, "provider never received the attempt: sent again, same reference");
    let charge = crate::processor::Charge::MobileMoney {
        provider: "",
        phone: &phone,
    };
    match connector.initiate(&o.attempt(), charge).await {
        Err(ConnError::Unreachable(_)) => Ok(()),
        answer => match apply_initiated(state, &o.row, answer).await {
            Err(Error::Declined(_)) => Ok(()),
            r => r,
        },
    }
}

/// Failed, `expired_authorization`.
async fn expire(state: &AppState, row: &pa::Model) -> Result<()> {
    let d = decline(
        "card_declined",
        Some("expired_authorization"),
        "The payment was not approved in time.",
    );
    settle(
        state,
        &row.payment_intent_id,
        &row.attempt_id,
        Settlement::Fail(d),
    )
    .await?;
    finish(state, &row.attempt_id).await
}

/// Takes the next lookup of `row` for this caller: a conditional update
/// of `next_poll_at` only one process (or one notification) wins.
pub async fn claim_poll(state: &AppState, row: &pa::Model) -> Result<bool> {
    let now = state.clock.now_ms();
    let q = pa::Entity::update_many()
        .col_expr(
            pa::Column::NextPollAt,
            Expr::value(now + poll_after(state, row.polls + 1)),
        )
        .col_expr(pa::Column::Polls, Expr::value(row.polls.saturating_add(1)))
        .filter(pa::Column::AttemptId.eq(&row.attempt_id))
        .filter(pa::Column::NextPollAt.eq(row.next_poll_at));
    let claimed = state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Lookups in flight at once per process: a slow provider delays its own
/// attempts, not everyone's.
const CONCURRENT_LOOKUPS: usize = 8;

/// The poller (any process, its own beat): every processing attempt whose
/// lookup is due, each claimed first (`claim_poll`), so two processes never
/// ask twice; one failing attempt is logged, the others go on.
pub async fn poll_due(state: &AppState) -> Result<usize> {
    use futures::StreamExt;
    let now = state.clock.now_ms();
    let due = pa::Entity::find()
        .filter(pa::Column::State.eq(PROCESSING))
        .filter(pa::Column::NextPollAt.lte(now))
        .order_by_asc(pa::Column::NextPollAt)
        .limit(100)
        .all(&state.db)
        .await?;
    let n = due.len();
    futures::stream::iter(due)
        .for_each_concurrent(CONCURRENT_LOOKUPS, |row| async move {
            let attempt = row.attempt_id.clone();
            let polled = async {
                if claim_poll(state, &row).await? {
                    let polls = row.polls.saturating_add(1);
                    look_up_and_apply(state, pa::Model { polls, ..row }).await?;
                }
                Ok::<_, Error>(())
            };
            if let Err(e) = polled.await {
                tracing::warn!(error = %e, attempt, "provider attempt lookup failed");
            }
        })
        .await;
    Ok(n)
}

/// The provider attempt of `attempt`, if it went through a connector.
pub async fn of_attempt(state: &AppState, attempt: &str) -> Result<Option<pa::Model>> {
    Ok(pa::Entity::find_by_id(attempt.to_string())
        .unique(&state.db)
        .await?)
}

/// The processing attempt a notification points at.
pub async fn for_hint(
    state: &AppState,
    c: &conn::Model,
    about: &crate::processor::HintAbout,
) -> Result<Option<pa::Model>> {
    use crate::processor::HintAbout;
    let find = pa::Entity::find().filter(pa::Column::ConnectorId.eq(&c.id));
    let find = match about {
        HintAbout::Intent(i) => find
            .filter(pa::Column::PaymentIntentId.eq(i.as_str()))
            .order_by_desc(pa::Column::Created),
        HintAbout::Reference(r) => find.filter(pa::Column::Reference.eq(r.as_str())),
        HintAbout::Nothing => return Ok(None),
    };
    Ok(find.limit(1).one(&state.db).await?)
}
