//! Looking a provider attempt up: the poller's beat, a notification's
//! hint, the resend of an attempt the provider never got (same reference)
//! and the ten-minute end; a provider's figures are checked before
//! anything is applied.
use std::sync::atomic::Ordering;

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

/// Looks attempt `row` up and applies what the provider says (after its
/// figures are checked). Never errs for the provider's sake: a provider
/// that cannot be asked is asked again later.
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
    if !still_ours {
        return finish(state, &row.attempt_id).await;
    }
    let connector = connector::instance(state, &c)?;
    let o = owned(state, row, &c).await?;
    let expired = o.row.created + state.config.provider_expiry_secs <= state.clock.now();
    let seen = match connector.lookup(&o.attempt()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, attempt = %o.row.attempt_id, "provider lookup failed; will ask again");
            return if expired {
                expire(state, &o.row).await
            } else {
                Ok(())
            };
        }
    };
    let Some(seen) = seen else {
        if !o.row.resent && !expired {
            return resend(state, &o, connector.as_ref()).await;
        }
        return if expired {
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
        return if expired {
            expire(state, &o.row).await
        } else {
            Ok(())
        };
    }
    match seen.outcome {
        Outcome::Processing | Outcome::Pending { .. } if expired => expire(state, &o.row).await,
        Outcome::Processing | Outcome::Pending { .. } => {
            mark_processing(state, &o.row, seen.provider_id, seen.redirect_url).await
        }
        other => match apply_initiated(state, &o.row, Ok(Initiated::just(other))).await {
            Err(Error::Declined(_)) => Ok(()),
            r => r,
        },
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

/// Ten minutes without a final answer: failed, `expired_authorization`.
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

/// The poller (any process, each tick): every processing attempt whose
/// lookup is due, each claimed by moving its `next_poll_at` (a conditional
/// update only one process wins), so two processes never ask twice.
pub async fn poll_due(state: &AppState) -> Result<usize> {
    let now = state.clock.now_ms();
    let due = pa::Entity::find()
        .filter(pa::Column::State.eq(PROCESSING))
        .filter(pa::Column::NextPollAt.lte(now))
        .order_by_asc(pa::Column::NextPollAt)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut n = 0;
    for row in due {
        let q = pa::Entity::update_many()
            .col_expr(
                pa::Column::NextPollAt,
                Expr::value(now + poll_after(state, row.polls + 1)),
            )
            .col_expr(pa::Column::Polls, Expr::value(row.polls.saturating_add(1)))
            .filter(pa::Column::AttemptId.eq(&row.attempt_id))
            .filter(pa::Column::NextPollAt.eq(row.next_poll_at));
        if state
            .writer
            .one(|c| async move { q.exec(&c).await })
            .await?
            .rows_affected
            == 1
        {
            n += 1;
            let polls = row.polls.saturating_add(1);
            look_up_and_apply(state, pa::Model { polls, ..row }).await?;
        }
    }
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
    };
    Ok(find.limit(1).one(&state.db).await?)
}
