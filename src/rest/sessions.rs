//! `/api/v1/checkout/sessions` — the merchant's checkout sessions.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::CheckoutSessionId;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::{self, OptionalJson, Query};
use crate::rest::extract::{Expand, PathId};
use crate::service::checkout::{self, PageRequest, SessionFilter};
use crate::wire::{
    CheckoutSessionList, CheckoutSessionOut, CreateCheckoutSessionRequest, EmptyRequest,
    ExpandQuery, ExpandableIntent, LineItemList, LineItemOut, ListLineItemsQuery,
    ListSessionsQuery, PaymentIntentOut,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(list_line_items))
        .routes(routes!(expire_session))
}

/// Create a checkout session
///
/// Returns the session with its hosted-page `url`; redirect the customer there.
#[utoipa::path(post, path = "/api/v1/checkout/sessions", tag = "Checkout sessions",
    request_body(content = CreateCheckoutSessionRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The created session", body = CheckoutSessionOut)))]
async fn create_session(
    State(state): State<AppState>,
    p: Principal,
    extract::Json(req): extract::Json<CreateCheckoutSessionRequest>,
) -> Result<Json<CheckoutSessionOut>> {
    let v = checkout::create(&state, &p, &req).await?;
    Ok(Json(CheckoutSessionOut::new(
        &v,
        &state.config.checkout_url,
    )?))
}

/// List checkout sessions
///
/// Newest first, with cursor pagination and filters.
#[utoipa::path(get, path = "/api/v1/checkout/sessions", tag = "Checkout sessions",
    params(ListSessionsQuery, ExpandQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of sessions", body = CheckoutSessionList)))]
async fn list_sessions(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListSessionsQuery>,
    expand: Expand,
) -> Result<Json<CheckoutSessionList>> {
    let expand = expand.allowing(&[
        "line_items",
        "payment_intent",
        "data.line_items",
        "data.payment_intent",
    ])?;
    let (filter, page) = filter_and_page(&q)?;
    let (views, has_more) = checkout::list(&state, &p, &filter, &page).await?;
    let mut data = views
        .iter()
        .map(|v| CheckoutSessionOut::new(v, &state.config.checkout_url))
        .collect::<Result<Vec<_>>>()?;
    if expand.iter().any(|e| e.ends_with("payment_intent")) {
        expand_intents(&state, &mut data).await?;
    }
    Ok(Json(CheckoutSessionList {
        object: "list",
        data,
        has_more,
        url: "/api/v1/checkout/sessions".into(),
    }))
}

/// Retrieve a checkout session
///
/// The session as its `POST` returned it, with its current status, payment status and
/// payment intent.
#[utoipa::path(get, path = "/api/v1/checkout/sessions/{id}", tag = "Checkout sessions",
    params(("id" = String, Path, description = "Session id, `cs_test_…` or `cs_live_…`"), ExpandQuery), security(("bearer" = [])),
    responses((status = 200, description = "The session", body = CheckoutSessionOut)))]
async fn get_session(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    expand: Expand,
) -> Result<Json<CheckoutSessionOut>> {
    let expand = expand.allowing(&["line_items", "payment_intent"])?;
    let v = checkout::get(&state, &p, &id).await?;
    let mut out = vec![CheckoutSessionOut::new(&v, &state.config.checkout_url)?];
    if expand.iter().any(|e| e == "payment_intent") {
        expand_intents(&state, &mut out).await?;
    }
    Ok(Json(out.remove(0)))
}

/// `expand[]=payment_intent`: each session's intent as an object (one read
/// for the page; the caller owns the sessions, so their intents).
async fn expand_intents(state: &AppState, sessions: &mut [CheckoutSessionOut]) -> Result<()> {
    let ids: Vec<String> = sessions
        .iter()
        .map(|s| s.payment_intent.id().to_string())
        .collect();
    let intents = crate::service::payment::intents_by_id(state, &ids).await?;
    for s in sessions {
        if let Some(i) = intents.get(s.payment_intent.id()) {
            s.payment_intent = ExpandableIntent::Object(Box::new(PaymentIntentOut::try_from(i)?));
        }
    }
    Ok(())
}

/// List a session's line items
///
/// In the order they were created, with cursor pagination (a session holds up to 100).
#[utoipa::path(get, path = "/api/v1/checkout/sessions/{id}/line_items", tag = "Checkout sessions",
    params(("id" = String, Path, description = "Session id"), ListLineItemsQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of line items", body = LineItemList)))]
async fn list_line_items(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    Query(q): Query<ListLineItemsQuery>,
) -> Result<Json<LineItemList>> {
    let page = PageRequest {
        limit: q.limit,
        starting_after: q.starting_after.clone(),
        ending_before: q.ending_before.clone(),
        from_end: false,
    };
    let (items, has_more) = checkout::line_items(&state, &p, &id, &page).await?;
    Ok(Json(LineItemList {
        object: "list",
        data: items
            .iter()
            .map(LineItemOut::try_from)
            .collect::<Result<_>>()?,
        has_more,
        url: format!("/api/v1/checkout/sessions/{id}/line_items"),
    }))
}

/// Expire a checkout session
///
/// Only `open` sessions can be expired; the customer can no longer pay.
#[utoipa::path(post, path = "/api/v1/checkout/sessions/{id}/expire", tag = "Checkout sessions",
    params(("id" = String, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "The expired session", body = CheckoutSessionOut),
        (status = 409, description = "The session is not open (`checkout_session_not_open`) or a payment is processing", body = ErrorResponse)))]
async fn expire_session(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    OptionalJson(_empty): OptionalJson<EmptyRequest>,
) -> Result<Json<CheckoutSessionOut>> {
    let v = checkout::expire(&state, &p, &id).await?;
    Ok(Json(CheckoutSessionOut::new(
        &v,
        &state.config.checkout_url,
    )?))
}

/// The query string's filter and page, in the service's terms: the filter
/// typed once, here.
fn filter_and_page(q: &ListSessionsQuery) -> Result<(SessionFilter, PageRequest)> {
    let filter = SessionFilter {
        status: q
            .status
            .as_deref()
            .map(checkout::status_param)
            .transpose()?,
        created_gte: q.created_gte,
        created_lte: q.created_lte,
        payment_intent: q.payment_intent.clone(),
        client_reference_id: q.client_reference_id.clone(),
        customer_email: q.customer_email.clone(),
        payment_link: q
            .payment_link
            .as_deref()
            .map(checkout::payment_link_param)
            .transpose()?,
        ..Default::default()
    };
    let page = PageRequest {
        limit: q.limit,
        starting_after: q.starting_after.clone(),
        ending_before: q.ending_before.clone(),
        from_end: false,
    };
    Ok((filter, page))
}
