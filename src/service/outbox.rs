//! The transactional outbox (SPEC §5 "Events", "Delivery"): an event is
//! written in the transaction of the change it describes, with one pending
//! delivery row per matching enabled endpoint. No change without its event,
//! no event without its change; the delivery worker takes it from there.
use entity::event;
use entity::{webhook_delivery as wd, webhook_endpoint as we};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use crate::AppState;
use crate::domain::{EnabledEvents, EndpointStatus, EventId, EventType, MerchantId, ids};
use crate::error::Result;
use crate::service::webhook::delivery;
pub use crate::wire::present::EventObject;
use crate::wire::present::event_object;

/// One event about to be written.
pub struct NewEvent {
    pub kind: EventType,
    pub object_id: String,
    pub object: serde_json::Value,
}

impl NewEvent {
    pub fn new(state: &AppState, kind: EventType, object: EventObject<'_>) -> Result<NewEvent> {
        Ok(NewEvent {
            kind,
            object_id: object.id(),
            object: event_object(&object, &state.config.checkout_url, state.clock.now())?,
        })
    }
}

/// The stored and sent form of an event; field order is the wire order.
#[derive(Serialize)]
struct Payload<'a> {
    id: &'a str,
    object: &'static str,
    r#type: &'static str,
    created: i64,
    livemode: bool,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    object: &'a serde_json::Value,
}

/// Writes `events`, in this order, and their deliveries inside `tx` (the
/// delivery worker is woken when it commits).
pub async fn record(
    state: &AppState,
    tx: &crate::db::WriteTx,
    merchant_id: &MerchantId,
    livemode: bool,
    events: Vec<NewEvent>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let now_ms = state.clock.now_ms();
    let endpoints: Vec<(entity::types::WebhookEndpointId, EnabledEvents)> = we::Entity::find()
        .filter(we::Column::MerchantId.eq(merchant_id))
        .filter(we::Column::Livemode.eq(livemode))
        .filter(we::Column::Status.eq(EndpointStatus::Enabled))
        .all(tx)
        .await?
        .into_iter()
        .map(|e| {
            let enabled = EnabledEvents::stored(&e.enabled_events, &e.id.to_string())?;
            Ok((e.id, enabled))
        })
        .collect::<Result<_>>()?;
    let mut deliveries = Vec::new();
    let mut rows = Vec::new();
    for (position, e) in events.into_iter().enumerate() {
        let id = EventId::trusted(ids::new_id("evt"));
        let payload = serde_json::to_string(&Payload {
            id: &id,
            object: "event",
            r#type: e.kind.as_str(),
            created: now,
            livemode,
            data: Data { object: &e.object },
        })
        .map_err(|e| crate::error::Error::Internal(format!("event payload: {e}")))?;
        for (endpoint, enabled) in &endpoints {
            if enabled.matches(e.kind) {
                deliveries.push(delivery::pending_delivery(
                    endpoint,
                    &id,
                    e.kind.as_str(),
                    now,
                    1,
                    now_ms,
                ));
            }
        }
        rows.push(event::ActiveModel {
            id: Set(id.clone()),
            merchant_id: Set(merchant_id.clone()),
            livemode: Set(livemode),
            r#type: Set(e.kind.as_str().to_string()),
            object_id: Set(e.object_id),
            created: Set(now),
            sort_key: Set(format!("{now_ms:013}{position:03}{id}")),
            payload: Set(payload),
        });
    }
    // Nothing in the change reads these rows back: they go with its commit.
    tx.defer(&event::Entity::insert_many(rows));
    if !deliveries.is_empty() {
        tx.defer(&wd::Entity::insert_many(deliveries));
        crate::service::webhook::wake::queued_in(state, tx).await?;
    }
    Ok(())
}
