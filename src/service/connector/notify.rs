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
    if let Some(event) = &hint.event_id {
        let seen = pn::ActiveModel {
            connector_id: Set(c.id.to_string()),
            event_id: Set(event.chars().take(200).collect()),
            received: Set(state.clock.now()),
        };
        match state
            .writer
            .one(|x| async move { seen.insert(&x).await })
            .await
        {
            Ok(_) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                tracing::info!(connector = %c.id, "duplicate provider notification: nothing to do");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Some(row) = payment::provider_attempt_for_hint(state, &c, &hint.about).await? else {
        tracing::info!(connector = %c.id, "provider notification about no attempt of ours");
        return Ok(());
    };
    payment::look_up_and_apply(state, row).await
}
