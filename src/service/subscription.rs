//! Subscriptions: created by the first successful payment of a
//! subscription-mode session; read and cancelled by the merchant.
use entity::{checkout_session as cs, line_item as li, subscription as sub};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{
    CheckoutSessionId, EventType, Mode, SubscriptionId, SubscriptionStatus, ids, time,
};
use crate::error::{Error, Result};
use crate::service::outbox::{self, EventObject, NewEvent};

/// Inside the settlement transaction: creates `sub_…` and links it, for
/// subscription-mode sessions only. `session` is the row as completed.
pub async fn create_for_session(
    tx: &crate::db::WriteTx,
    session: &cs::Model,
    now: i64,
) -> Result<()> {
    let session_id = &session.id;
    if session.mode != Mode::Subscription {
        return Ok(());
    }
    let first = crate::service::paging::first_rows(
        tx,
        li::Entity::find()
            .filter(li::Column::SessionId.eq(session_id))
            .order_by_asc(li::Column::Position),
        1,
    )
    .await?
    .into_iter()
    .next();
    let (interval, count) = first
        .and_then(|i| {
            Some((
                i.recurring_interval?,
                i.recurring_interval_count.unwrap_or(1),
            ))
        })
        .ok_or_else(|| Error::Internal("subscription session without recurring items".into()))?;
    let id = SubscriptionId::trusted(ids::new_id("sub"));
    sub::ActiveModel {
        id: Set(id.clone()),
        merchant_id: Set(session.merchant_id.clone()),
        livemode: Set(session.livemode),
        session_id: Set(session.id.clone()),
        status: Set(SubscriptionStatus::Active),
        currency: Set(session.currency),
        amount: Set(session.amount_total),
        current_period_start: Set(now),
        current_period_end: Set(time::period_end(now, interval, i64::from(count))),
        recurring_interval: Set(interval),
        recurring_interval_count: Set(count),
        cancel_at_period_end: Set(false),
        canceled_at: Set(None),
        created: Set(now),
    }
    .insert(tx)
    .await?;
    cs::Entity::update_many()
        .col_expr(cs::Column::SubscriptionId, Expr::value(id))
        .filter(cs::Column::Id.eq(session_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// Subscriptions by id (the caller owns the sessions they were reached through).
pub async fn by_ids(
    state: &AppState,
    ids: &[String],
) -> Result<std::collections::HashMap<String, sub::Model>> {
    let rows = sub::Entity::find()
        .filter(sub::Column::Id.is_in(ids.iter().cloned()))
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id.to_string(), r)).collect())
}

pub async fn get(
    state: &AppState,
    p: &Principal,
    id: &SubscriptionId,
) -> Result<(sub::Model, Vec<li::Model>)> {
    p.require(Scope::Read)?;
    let s = sub::Entity::find_by_id(id)
        .filter(sub::Column::MerchantId.eq(&p.merchant_id))
        .filter(sub::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("subscription", id))?;
    let items = items(&state.db, &s.session_id).await?;
    Ok((s, items))
}

/// A subscription's items: its session's line items, in order.
pub async fn items(
    db: &impl sea_orm::ConnectionTrait,
    session_id: &CheckoutSessionId,
) -> Result<Vec<li::Model>> {
    Ok(li::Entity::find()
        .filter(li::Column::SessionId.eq(session_id))
        .order_by_asc(li::Column::Position)
        .all(db)
        .await?)
}

/// Cancels now (status `canceled`, event `customer.subscription.deleted`)
/// or at period end (stays `active` with `cancel_at_period_end`, event
/// `customer.subscription.updated`), the event in the change's transaction.
/// Cancelling a canceled subscription is a no-op.
pub async fn cancel(
    state: &AppState,
    p: &Principal,
    id: &SubscriptionId,
    at_period_end: bool,
) -> Result<(sub::Model, Vec<li::Model>)> {
    p.require(Scope::Write)?;
    let (s, _) = get(state, p, id).await?;
    if s.status == SubscriptionStatus::Active && !(at_period_end && s.cancel_at_period_end) {
        let now = state.clock.now();
        let change = if at_period_end {
            Change::AtPeriodEnd
        } else {
            Change::CancelAt(now)
        };
        transition(state, &s, change).await?;
    }
    get(state, p, id).await
}

#[derive(Clone, Copy)]
enum Change {
    AtPeriodEnd,
    CancelAt(i64),
}

/// One conditional change of an active subscription and its event, in one
/// transaction (a concurrent cancel or the sweeper writes it once).
async fn transition(state: &AppState, s: &sub::Model, change: Change) -> Result<bool> {
    state
        .writer
        .transaction(|tx| async move {
            let update = sub::Entity::update_many()
                .filter(sub::Column::Id.eq(&s.id))
                .filter(sub::Column::Status.eq(SubscriptionStatus::Active));
            let (update, kind) = match change {
                Change::AtPeriodEnd => (
                    update
                        .col_expr(sub::Column::CancelAtPeriodEnd, Expr::value(true))
                        .filter(sub::Column::CancelAtPeriodEnd.eq(false)),
                    EventType::SubscriptionUpdated,
                ),
                Change::CancelAt(at) => (
                    update
                        .col_expr(
                            sub::Column::Status,
                            Expr::value(SubscriptionStatus::Canceled),
                        )
                        .col_expr(sub::Column::CanceledAt, Expr::value(at)),
                    EventType::SubscriptionDeleted,
                ),
            };
            if update.exec(&tx).await?.rows_affected != 1 {
                tx.rollback_only();
                return Ok(false);
            }
            let after = sub::Entity::find_by_id(&s.id)
                .unique(&tx)
                .await?
                .ok_or_else(|| Error::Internal("missing subscription".into()))?;
            let items = items(&tx, &s.session_id).await?;
            let event = NewEvent::new(state, kind, EventObject::Subscription(&after, &items))?;
            outbox::record(state, &tx, &s.merchant_id, s.livemode, vec![event]).await?;
            Ok(true)
        })
        .await
}

/// Persists the end of subscriptions cancelled at period end whose period
/// is over (they already read as canceled): `customer.subscription.deleted`.
pub async fn sweep_ended(state: &AppState, batch: u64) -> Result<usize> {
    use sea_orm::QuerySelect;
    let due = sub::Entity::find()
        .filter(sub::Column::Status.eq(SubscriptionStatus::Active))
        .filter(sub::Column::CancelAtPeriodEnd.eq(true))
        .filter(sub::Column::CurrentPeriodEnd.lte(state.clock.now()))
        .limit(batch)
        .all(&state.db)
        .await?;
    let mut n = 0;
    for s in due {
        if transition(state, &s, Change::CancelAt(s.current_period_end)).await? {
            n += 1;
        }
    }
    Ok(n)
}

pub use crate::service::views::subscription_status as effective;
