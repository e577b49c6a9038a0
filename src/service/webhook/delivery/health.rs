//! An endpoint's health after each attempt: its circuit breaker (opened by
//! unanswered attempts in a row, one trial after the cool-down) and its
//! failing streak.
use entity::webhook_endpoint as we;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::AppState;
use crate::domain::{EndpointStatus, WebhookEndpointId};
use crate::error::Result;

use super::{AttemptResult, GIVE_UP_SECS, lease_ms};

/// After a failed attempt: an answer all the same closes the endpoint's
/// breaker (a success closes it in `endpoint_health`); an unanswered attempt counts,
/// and at the threshold opens it for the cool-down (again, after a failed
/// trial). An attempt never sent ends a trial taken for it. Conditional
/// updates: an answered attempt to a closed breaker writes nothing.
pub(super) async fn breaker(
    state: &AppState,
    tx: &crate::db::WriteTx,
    id: &WebhookEndpointId,
    r: &AttemptResult,
    now_ms: i64,
) -> Result<()> {
    let mine = || we::Entity::update_many().filter(we::Column::Id.eq(id));
    if r.response_status.is_some() {
        mine()
            .col_expr(we::Column::Unanswered, Expr::value(0))
            .col_expr(we::Column::BreakerUntil, Expr::value(Option::<i64>::None))
            .filter(
                we::Column::Unanswered
                    .gt(0)
                    .or(we::Column::BreakerUntil.is_not_null()),
            )
            .exec(tx)
            .await?;
        return Ok(());
    }
    if !r.unanswered() {
        mine()
            .col_expr(we::Column::BreakerUntil, Expr::value(now_ms))
            .filter(we::Column::BreakerUntil.gt(now_ms))
            .exec(tx)
            .await?;
        return Ok(());
    }
    mine()
        .col_expr(
            we::Column::Unanswered,
            Expr::col(we::Column::Unanswered).add(1),
        )
        .exec(tx)
        .await?;
    let after = state.config.webhook_breaker_after;
    if after == 0 {
        return Ok(());
    }
    let cooldown = state.config.webhook_breaker_cooldown_ms as i64;
    let opened = mine()
        .col_expr(we::Column::BreakerUntil, Expr::value(now_ms + cooldown))
        .filter(we::Column::Unanswered.gte(after as i32))
        .exec(tx)
        .await?;
    if opened.rows_affected == 1 {
        tracing::info!(endpoint = %id, cooldown_ms = cooldown, "webhook endpoint not answering: breaker open");
    }
    Ok(())
}

/// A success clears the failure window (and closes the breaker); a failure
/// opens it, and one open for 3 days disables the endpoint. Conditional
/// updates, no reads: most attempts change nothing here.
pub(super) async fn endpoint_health(
    tx: &crate::db::WriteTx,
    id: &WebhookEndpointId,
    succeeded: bool,
    now: i64,
) -> Result<()> {
    let mine = || we::Entity::update_many().filter(we::Column::Id.eq(id));
    if succeeded {
        mine()
            .col_expr(we::Column::FailingSince, Expr::value(Option::<i64>::None))
            .col_expr(we::Column::Unanswered, Expr::value(0))
            .col_expr(we::Column::BreakerUntil, Expr::value(Option::<i64>::None))
            .filter(
                we::Column::FailingSince
                    .is_not_null()
                    .or(we::Column::Unanswered.gt(0))
                    .or(we::Column::BreakerUntil.is_not_null()),
            )
            .exec(tx)
            .await?;
        return Ok(());
    }
    mine()
        .col_expr(we::Column::FailingSince, Expr::value(now))
        .filter(we::Column::FailingSince.is_null())
        .exec(tx)
        .await?;
    let disabled = mine()
        .col_expr(we::Column::Status, Expr::value(EndpointStatus::Disabled))
        .filter(we::Column::Status.eq(EndpointStatus::Enabled))
        .filter(we::Column::FailingSince.lte(now - GIVE_UP_SECS))
        .exec(tx)
        .await?;
    if disabled.rows_affected == 1 {
        tracing::warn!(endpoint = %id, "webhook endpoint failing for 3 days: disabled");
    }
    Ok(())
}

/// Takes the one trial of `endpoint`'s half-open breaker: true for the
/// worker (of any process) whose conditional update moves `breaker_until`
/// a lease ahead; the others see the breaker open again until the trial's
/// outcome is recorded (or its lease runs out).
pub async fn take_trial(state: &AppState, endpoint: &WebhookEndpointId) -> Result<bool> {
    let now = state.clock.now_ms();
    let taken = we::Entity::update_many()
        .col_expr(we::Column::BreakerUntil, Expr::value(now + lease_ms(state)))
        .filter(we::Column::Id.eq(endpoint))
        .filter(we::Column::BreakerUntil.lte(now));
    let taken = state
        .writer
        .one(|c| async move { taken.exec(&c).await })
        .await?;
    Ok(taken.rows_affected == 1)
}
