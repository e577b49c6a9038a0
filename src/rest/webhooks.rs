//! `/api/v1/webhook_endpoints` — where events are posted. Managed with a
//! secret API key (endpoints hold signing secrets); read with `payments:read`.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::WebhookEndpointId;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::{self, OptionalJson, PathId, Query};
use crate::service::webhook::{self, EndpointUpdate, NewEndpoint};
use crate::wire::{
    CreateWebhookEndpointRequest, DeletedWebhookEndpoint, EmptyRequest, ListDeliveriesQuery,
    ResendRequest, UpdateWebhookEndpointRequest, WebhookDeliveryList, WebhookDeliveryOut,
    WebhookEndpointList, WebhookEndpointOut,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(resend))
}

/// Create a webhook endpoint
///
/// The answer carries the signing `secret` (`whsec_…`), shown only here and
/// on rotation. At most 16 endpoints per mode.
#[utoipa::path(post, path = "/api/v1/webhook_endpoints", tag = "Webhook endpoints",
    request_body(content = CreateWebhookEndpointRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint, with its secret", body = WebhookEndpointOut),
        (status = 400, description = "Invalid URL or event type", body = ErrorResponse),
        (status = 403, description = "An app token cannot manage endpoints", body = ErrorResponse)))]
async fn create_endpoint(
    State(state): State<AppState>,
    p: Principal,
    extract::Json(req): extract::Json<CreateWebhookEndpointRequest>,
) -> Result<Json<WebhookEndpointOut>> {
    let new = NewEndpoint {
        url: req.url,
        enabled_events: req.enabled_events,
        description: req.description,
    };
    let (e, secret) = webhook::create(&state, &p, new).await?;
    Ok(Json(WebhookEndpointOut::new(&e, Some(secret))?))
}

/// List webhook endpoints
///
/// Every endpoint of this mode (at most 16), newest first; secrets are never shown again.
#[utoipa::path(get, path = "/api/v1/webhook_endpoints", tag = "Webhook endpoints",
    security(("bearer" = [])),
    responses((status = 200, description = "Every endpoint of this mode", body = WebhookEndpointList)))]
async fn list_endpoints(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<WebhookEndpointList>> {
    let all = webhook::list(&state, &p).await?;
    Ok(Json(WebhookEndpointList {
        object: "list",
        data: all
            .iter()
            .map(|e| WebhookEndpointOut::new(e, None))
            .collect::<Result<_>>()?,
        has_more: false,
        url: "/api/v1/webhook_endpoints".into(),
    }))
}

/// Retrieve a webhook endpoint
///
/// Its URL, event types and status; the signing secret is shown only at creation and rotation.
#[utoipa::path(get, path = "/api/v1/webhook_endpoints/{id}", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The endpoint", body = WebhookEndpointOut)))]
async fn get_endpoint(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
) -> Result<Json<WebhookEndpointOut>> {
    let e = webhook::get(&state, &p, &id).await?;
    Ok(Json(WebhookEndpointOut::new(&e, None)?))
}

/// Update a webhook endpoint
///
/// Change the URL, the events, the description, or `disabled` to pause and resume.
#[utoipa::path(post, path = "/api/v1/webhook_endpoints/{id}", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`")), security(("bearer" = [])),
    request_body(content = UpdateWebhookEndpointRequest, content_type = "application/json"),
    responses((status = 200, description = "The endpoint", body = WebhookEndpointOut)))]
async fn update_endpoint(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
    extract::Json(req): extract::Json<UpdateWebhookEndpointRequest>,
) -> Result<Json<WebhookEndpointOut>> {
    let upd = EndpointUpdate {
        url: req.url,
        enabled_events: req.enabled_events,
        description: req.description,
        disabled: req.disabled,
    };
    let e = webhook::update(&state, &p, &id, upd).await?;
    Ok(Json(WebhookEndpointOut::new(&e, None)?))
}

/// Delete a webhook endpoint
///
/// Nothing more is sent to it, queued retries included.
#[utoipa::path(delete, path = "/api/v1/webhook_endpoints/{id}", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`")), security(("bearer" = [])),
    responses((status = 200, description = "Deleted", body = DeletedWebhookEndpoint)))]
async fn delete_endpoint(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
) -> Result<Json<DeletedWebhookEndpoint>> {
    webhook::delete(&state, &p, &id).await?;
    Ok(Json(DeletedWebhookEndpoint {
        id: id.to_string(),
        object: "webhook_endpoint",
        deleted: true,
    }))
}

/// Rotate a webhook endpoint's secret
///
/// Returns the new secret. The previous one keeps signing too (a second
/// `v1=` in `Ikawaari-Signature`) for 24 hours, so receivers can switch without loss.
#[utoipa::path(post, path = "/api/v1/webhook_endpoints/{id}/rotate_secret", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The endpoint, with its new secret", body = WebhookEndpointOut)))]
async fn rotate_secret(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
    OptionalJson(_empty): OptionalJson<EmptyRequest>,
) -> Result<Json<WebhookEndpointOut>> {
    let (e, secret) = webhook::rotate_secret(&state, &p, &id).await?;
    Ok(Json(WebhookEndpointOut::new(&e, Some(secret))?))
}

/// List an endpoint's delivery attempts
///
/// Newest first: each attempt with its outcome, and when the next one is due.
#[utoipa::path(get, path = "/api/v1/webhook_endpoints/{id}/deliveries", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`"), ListDeliveriesQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of attempts", body = WebhookDeliveryList)))]
async fn list_deliveries(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
    Query(q): Query<ListDeliveriesQuery>,
) -> Result<Json<WebhookDeliveryList>> {
    let (rows, has_more) =
        webhook::deliveries(&state, &p, &id, q.limit, q.starting_after.as_deref()).await?;
    Ok(Json(WebhookDeliveryList {
        object: "list",
        data: rows.iter().map(WebhookDeliveryOut::from).collect(),
        has_more,
        url: format!("/api/v1/webhook_endpoints/{id}/deliveries"),
    }))
}

/// Resend an event to an endpoint
///
/// Queues one more delivery of the event; it is sent at once.
#[utoipa::path(post, path = "/api/v1/webhook_endpoints/{id}/resend", tag = "Webhook endpoints",
    params(("id" = String, Path, description = "`we_…`")), security(("bearer" = [])),
    request_body(content = ResendRequest, content_type = "application/json"),
    responses((status = 200, description = "The queued attempt", body = WebhookDeliveryOut)))]
async fn resend(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<WebhookEndpointId>,
    extract::Json(req): extract::Json<ResendRequest>,
) -> Result<Json<WebhookDeliveryOut>> {
    let d = webhook::resend(&state, &p, &id, &req.event).await?;
    Ok(Json(WebhookDeliveryOut::from(&d)))
}
