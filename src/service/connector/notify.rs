//! A provider's notification (SPEC §11): verified as far as the provider
//! allows (Wave's signature and window; MTN signs nothing), deduplicated by
//! the provider's event id, then only a hint: the attempt it names is
//! looked up and settled from the provider's own answer.
use entity::{connector as conn, provider_notification as pn};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::AppState;
use crate::db::Unique;
use crate::domain::{ConnectorId, ConnectorType};
use crate::error::{Error, Result};
use crate::processor::Inbound;
use crate::service::payment;

pub async fn notify(
    state: &AppState,
    kind: &str,
    id: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<()> {
    let missing = || Error::not_found("connector", id);
    let kind = ConnectorType::parse(kind).ok_or_else(missing)?;
    let id = ConnectorId::parse(id).ok_or_else(missing)?;
    // A deleted connector's payments in flight still settle.
    let c = conn::Entity::find_by_id(&id)
        .filter(conn::Column::Kind.eq(kind))
        .unique(&state.db)
        .await?
        .ok_or_else(missing)?;
    let connector = super::instance(state, &c)?;
    let inbound = Inbound {
        headers,
        body,
        now: state.clock.now(),
    };
    let hint = connector.verify_notification(&inbound).map_err(|r| {
        tracing::warn!(connector = %c.id, why = r.0, "provider notification rejected");
        Error::invalid("notification", format!("Notification rejected: {}.", r.0))
    })?;
    if !within_rate(&c.id) {
        return Err(Error::RateLimited { retry_after: 1 });
    }
    if let Some(event) = &hint.event_id {
        let seen = pn::Entity::find_by_id((c.id.to_string(), event.clone()))
            .unique(&state.db)
            .await?;
        if seen.is_some() {
            tracing::info!(connector = %c.id, "duplicate provider notification: nothing to do");
            return Ok(());
        }
    }
    if let Some(row) = payment::provider_attempt_for_hint(state, &c, &hint.about).await? {
        // The poller's own claim: a hint never adds a second lookup to one
        // in progress.
        if payment::claim_poll(state, &row).await? {
            let polls = row.polls.saturating_add(1);
            payment::look_up_and_apply(state, entity::provider_attempt::Model { polls, ..row })
                .await?;
        }
    } else {
        tracing::info!(connector = %c.id, "provider notification about no attempt of ours");
    }
    // Recorded once applied: a notification that failed midway is applied
    // again when the provider retries it.
    if let Some(event) = hint.event_id {
        let row = pn::ActiveModel {
            connector_id: Set(c.id.to_string()),
            event_id: Set(event.chars().take(200).collect()),
            received: Set(state.clock.now()),
        };
        match state
            .writer
            .one(|x| async move { row.insert(&x).await })
            .await
        {
            Err(e) if !crate::db::is_unique_violation(&e) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Notifications a connector may trigger lookups with, per second and
/// process (the route is unauthenticated: a flood of forged MTN callbacks
/// must not become a flood of provider calls). Beyond: `429`, retried.
const PER_SECOND: u32 = 50;

fn within_rate(connector: &ConnectorId) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::Instant;
    static SEEN: LazyLock<Mutex<HashMap<String, (Instant, u32)>>> = LazyLock::new(Default::default);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() > 10_000 {
        seen.retain(|_, (at, _)| at.elapsed().as_secs() < 1);
    }
    let slot = seen
        .entry(connector.to_string())
        .or_insert((Instant::now(), 0));
    if slot.0.elapsed().as_secs() >= 1 {
        *slot = (Instant::now(), 0);
    }
    slot.1 += 1;
    slot.1 <= PER_SECOND
}
