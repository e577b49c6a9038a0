//! Expiry: by the merchant, by the sweeper, by time; once per session.

use entity::{checkout_session as cs, payment_intent as pi};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::*;
use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{CheckoutSessionId, EventType, IntentStatus, SessionStatus};
use crate::error::{Conflict, Error, Result};
use crate::service::events;
use crate::service::outbox::{self, EventObject, NewEvent};
use crate::service::tally;

/// Expires an open session and cancels its intent, in one transaction with
/// its `checkout.session.expired` event; the conditional updates make
/// concurrent expiries (route, sweeper, a read, other processes) and a
/// concurrent payment claim exclude each other, so the event is written once.
pub async fn expire_by_id(
    state: &AppState,
    session_id: &str,
    merchant_id: &str,
    livemode: bool,
) -> Result<bool> {
    let now = state.clock.now();
    state
        .writer
        .transaction(|tx| async move {
            let canceled = pi::Entity::update_many()
                .col_expr(pi::Column::Status, Expr::value(IntentStatus::Canceled))
                .col_expr(pi::Column::Updated, Expr::value(now))
                .filter(pi::Column::SessionId.eq(session_id))
                .filter(pi::Column::Status.eq(IntentStatus::RequiresPaymentMethod))
                .exec(&tx)
                .await?;
            if canceled.rows_affected != 1 {
                tx.rollback_only();
                return Ok(false);
            }
            let expired = cs::Entity::update_many()
                .col_expr(cs::Column::Status, Expr::value(SessionStatus::Expired))
                .filter(cs::Column::Id.eq(session_id))
                .filter(cs::Column::Status.eq(SessionStatus::Open))
                .exec(&tx)
                .await?;
            if expired.rows_affected != 1 {
                tx.rollback_only();
                return Ok(false);
            }
            let id = CheckoutSessionId::trusted(session_id.to_string());
            let view = view_in(&tx, &id, now).await?;
            tally::session(&tx, &view.session, tally::Move::Expired)?;
            let event = NewEvent::new(
                state,
                EventType::SessionExpired,
                EventObject::Session(&view),
            )?;
            outbox::record(state, &tx, &view.session.merchant_id, livemode, vec![event]).await?;
            events::on_commit(
                state,
                &tx,
                events::SessionEvent {
                    session_id: session_id.to_string(),
                    merchant_id: merchant_id.to_string(),
                    livemode,
                    status: SessionStatus::Expired,
                },
            );
            Ok(true)
        })
        .await
}

/// A session read past `expires_at` while still stored `open` is expired
/// now, by this read (its one event included), and returned as stored. The
/// write runs in its own task: a reader that disconnects cannot cut it short.
pub async fn expire_if_due(state: &AppState, s: cs::Model) -> Result<cs::Model> {
    if !is_due(&s, state.clock.now()) {
        return Ok(s);
    }
    let task_state = state.clone();
    let (id, merchant, livemode) = (s.id.to_string(), s.merchant_id.to_string(), s.livemode);
    tokio::spawn(async move { expire_by_id(&task_state, &id, &merchant, livemode).await })
        .await
        .map_err(|e| Error::Internal(format!("expiry task: {e}")))??;
    Ok(cs::Entity::find_by_id(&s.id)
        .unique(&state.db)
        .await?
        .unwrap_or(s))
}

/// `POST …/{id}/expire`: only open sessions (an already time-expired one is
/// persisted as expired and returned, as Stripe does).
pub async fn expire(
    state: &AppState,
    p: &Principal,
    id: &CheckoutSessionId,
) -> Result<SessionView> {
    p.require(Scope::Write)?;
    let s = find_owned(state, p, id).await?;
    if s.status != SessionStatus::Open {
        return Err(Error::Conflict(Conflict::SessionNotOpen));
    }
    if !expire_by_id(state, id, &s.merchant_id, s.livemode).await? {
        let pi = pi::Entity::find_by_id(&s.payment_intent_id)
            .unique(&state.db)
            .await?;
        return Err(Error::Conflict(match pi.map(|p| p.status) {
            Some(IntentStatus::Processing) => Conflict::PaymentInProgress,
            _ => Conflict::SessionNotOpen,
        }));
    }
    get(state, p, id).await
}

/// Persists `expired` for sessions past `expires_at`. Returns how many it expired.
pub async fn sweep_expired(state: &AppState, batch: u64) -> Result<usize> {
    let now = state.clock.now();
    let due: Vec<(String, String, bool)> = cs::Entity::find()
        .select_only()
        .column(cs::Column::Id)
        .column(cs::Column::MerchantId)
        .column(cs::Column::Livemode)
        .filter(due_open(now))
        .limit(batch)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut n = 0;
    for (id, merchant_id, livemode) in due {
        if expire_by_id(state, &id, &merchant_id, livemode).await? {
            n += 1;
        }
    }
    Ok(n)
}
