//! Reading events (SPEC §5 "Events"): newest first with cursors, filtered
//! by type (exact or `prefix.*`), creation time and object; kept 30 days.
use entity::event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{EventId, TypeFilter};
use crate::error::{Error, Result};

/// Events are kept this long; the sweeper prunes older ones.
pub const RETENTION_SECS: i64 = 30 * 86_400;

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub r#type: Option<String>,
    pub created_gte: Option<i64>,
    pub created_lte: Option<i64>,
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventPage {
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

pub async fn get(state: &AppState, p: &Principal, id: &EventId) -> Result<event::Model> {
    p.require(Scope::Read)?;
    event::Entity::find_by_id(id)
        .filter(event::Column::MerchantId.eq(&p.merchant_id))
        .filter(event::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("event", id))
}

/// One page of the caller's events and whether more follow.
pub async fn list(
    state: &AppState,
    p: &Principal,
    f: &EventFilter,
    page: &EventPage,
) -> Result<(Vec<event::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = crate::service::paging::limit_of(page.limit)?;
    let mut find = filtered(p, f)?;
    let backwards = page.ending_before.is_some();
    for (param, cursor) in [
        ("starting_after", &page.starting_after),
        ("ending_before", &page.ending_before),
    ] {
        if let Some(c) = cursor {
            let key = cursor_key(state, p, param, c).await?;
            find = find.filter(if param == "starting_after" {
                event::Column::SortKey.lt(key)
            } else {
                event::Column::SortKey.gt(key)
            });
        }
    }
    crate::service::paging::keyset_page(
        &state.db,
        find,
        event::Column::SortKey,
        true,
        backwards,
        limit,
    )
    .await
}

fn filtered(p: &Principal, f: &EventFilter) -> Result<sea_orm::Select<event::Entity>> {
    let mut find = event::Entity::find()
        .filter(event::Column::MerchantId.eq(&p.merchant_id))
        .filter(event::Column::Livemode.eq(p.livemode));
    if let Some(t) = f.r#type.as_deref() {
        match TypeFilter::parse(t) {
            Some(TypeFilter::Exact(t)) => find = find.filter(event::Column::Type.eq(t.as_str())),
            Some(TypeFilter::Prefix(prefix)) if prefix.is_empty() => {}
            // A range on the index instead of LIKE (case rules differ between databases).
            Some(TypeFilter::Prefix(prefix)) => {
                let upper = format!("{}/", prefix.trim_end_matches('.'));
                find = find
                    .filter(event::Column::Type.gte(prefix))
                    .filter(event::Column::Type.lt(upper));
            }
            None => {
                return Err(Error::invalid(
                    "type",
                    "type must be an event type such as checkout.session.completed, or a prefix such as checkout.session.*",
                ));
            }
        }
    }
    if let Some(t) = f.created_gte {
        find = find.filter(event::Column::Created.gte(t));
    }
    if let Some(t) = f.created_lte {
        find = find.filter(event::Column::Created.lte(t));
    }
    if let Some(o) = &f.object_id {
        crate::validation::no_controls("object_id", o)?;
        find = find.filter(event::Column::ObjectId.eq(o.as_str()));
    }
    Ok(find)
}

async fn cursor_key(state: &AppState, p: &Principal, param: &str, id: &str) -> Result<String> {
    let unknown = || Error::invalid(param.to_string(), "No such event for this cursor.");
    let id = EventId::parse(id).ok_or_else(unknown)?;
    get(state, p, &id)
        .await
        .map(|e| e.sort_key)
        .map_err(|e| match e {
            Error::NotFound { .. } => unknown(),
            other => other,
        })
}

/// Deletes events past retention and their finished deliveries.
pub async fn prune(state: &AppState) -> Result<u64> {
    use entity::webhook_delivery as wd;
    let cutoff = state.clock.now() - RETENTION_SECS;
    let q = wd::Entity::delete_many()
        .filter(wd::Column::EventCreated.lt(cutoff))
        .filter(wd::Column::Status.ne(crate::domain::DeliveryStatus::Pending));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    let gone = event::Entity::delete_many().filter(event::Column::Created.lt(cutoff));
    let gone = state
        .writer
        .one(|c| async move { gone.exec(&c).await })
        .await?;
    Ok(gone.rows_affected)
}

/// Most events one object's timeline shows.
pub const TIMELINE_MAX: u64 = 100;

/// The timelines of objects the caller already owns (GraphQL batches
/// them), oldest first.
pub async fn timelines(
    state: &AppState,
    object_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<event::Model>>> {
    let rows = event::Entity::find()
        .filter(event::Column::ObjectId.is_in(object_ids.iter().cloned()))
        .order_by_asc(event::Column::SortKey)
        .all(&state.db)
        .await?;
    let mut out: std::collections::HashMap<String, Vec<event::Model>> = Default::default();
    for e in rows {
        let list = out.entry(e.object_id.clone()).or_default();
        if (list.len() as u64) < TIMELINE_MAX {
            list.push(e);
        }
    }
    Ok(out)
}
