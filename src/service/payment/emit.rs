//! The events a payment writes, inside the transaction that changes it.
use entity::{payment_intent as pi, subscription as sub};
use sea_orm::EntityTrait;

use crate::AppState;
use crate::db::Unique;
use crate::domain::EventType;
use crate::domain::PaymentIntentId;
use crate::error::{Error, Result};
use crate::service::checkout;
use crate::service::outbox::{self, EventObject, NewEvent};
use crate::service::subscription;

async fn intent_in(tx: &crate::db::WriteTx, id: &PaymentIntentId) -> Result<pi::Model> {
    pi::Entity::find_by_id(id)
        .unique(tx)
        .await?
        .ok_or_else(|| Error::Internal("missing intent".into()))
}

/// `payment_intent.processing`: an asynchronous (mobile-money) payment
/// is waiting for its outcome.
pub async fn processing(
    state: &AppState,
    tx: &crate::db::WriteTx,
    id: &PaymentIntentId,
) -> Result<()> {
    let intent = intent_in(tx, id).await?;
    let event = NewEvent::new(
        state,
        EventType::IntentProcessing,
        EventObject::Intent(&intent),
    )?;
    outbox::record(state, tx, &intent.merchant_id, intent.livemode, vec![event]).await
}

/// A settled attempt: the intent's outcome; on success the session's
/// completion and the subscription it starts; for an asynchronous payment,
/// the session's `async_payment_succeeded` / `_failed`. `intent` is the row
/// as this transaction left it.
pub async fn settled(
    state: &AppState,
    tx: &crate::db::WriteTx,
    intent: &pi::Model,
    succeeded: bool,
    asynchronous: bool,
    now: i64,
) -> Result<()> {
    let kind = if succeeded {
        EventType::IntentSucceeded
    } else {
        EventType::IntentPaymentFailed
    };
    let mut events = vec![NewEvent::new(state, kind, EventObject::Intent(intent))?];
    if succeeded || asynchronous {
        let view = checkout::view_in(tx, &intent.session_id, now).await?;
        let session = |kind| NewEvent::new(state, kind, EventObject::Session(&view));
        if succeeded {
            events.push(session(EventType::SessionCompleted)?);
        }
        if asynchronous && succeeded {
            events.push(session(EventType::SessionAsyncPaymentSucceeded)?);
        } else if asynchronous {
            events.push(session(EventType::SessionAsyncPaymentFailed)?);
        }
        if let (true, Some(sub_id)) = (succeeded, &view.session.subscription_id) {
            let s = sub::Entity::find_by_id(sub_id)
                .unique(tx)
                .await?
                .ok_or_else(|| Error::Internal("missing subscription".into()))?;
            let items = subscription::items(tx, &s.session_id).await?;
            events.push(NewEvent::new(
                state,
                EventType::SubscriptionCreated,
                EventObject::Subscription(&s, &items),
            )?);
        }
    }
    outbox::record(state, tx, &intent.merchant_id, intent.livemode, events).await
}
