//! `/api/v1/events` — what happened, newest first; the objects as they
//! were right after each change.
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Json, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::EventId;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::{PathId, Query};
use crate::service::event_log::{self, EventFilter, EventPage};
use crate::wire::present::raw_event;
use crate::wire::{EventList, EventOut, ListEventsQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(get_event))
}

/// List events
///
/// Newest first, kept 30 days. Filter by `type` (exact, or a prefix such as
/// `checkout.session.*`), creation time, or `object_id` for one object's timeline.
#[utoipa::path(get, path = "/api/v1/events", tag = "Events",
    params(ListEventsQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "An invalid filter or cursor", body = ErrorResponse)))]
async fn list_events(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListEventsQuery>,
) -> Result<Json<EventList>> {
    let filter = EventFilter {
        r#type: q.r#type,
        created_gte: q.created_gte,
        created_lte: q.created_lte,
        object_id: q.object_id,
    };
    let page = EventPage {
        limit: q.limit,
        starting_after: q.starting_after,
        ending_before: q.ending_before,
    };
    let (events, has_more) = event_log::list(&state, &p, &filter, &page).await?;
    Ok(Json(EventList {
        object: "list",
        data: events.iter().map(raw_event).collect::<Result<_>>()?,
        has_more,
        url: "/api/v1/events".into(),
    }))
}

/// Retrieve an event
///
/// One event of the last 30 days, exactly as it was (and is) delivered to webhooks.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "Events",
    params(("id" = String, Path, description = "`evt_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The event, byte for byte as delivered", body = EventOut)))]
async fn get_event(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<EventId>,
) -> Result<Response> {
    let e = event_log::get(&state, &p, &id).await?;
    Ok(([(CONTENT_TYPE, "application/json")], e.payload).into_response())
}
