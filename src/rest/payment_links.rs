//! `/api/v1/payment_links` — links a merchant shares; each visit makes a session.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::PaymentLinkId;
use crate::error::Result;
use crate::rest::extract::{self, PathId, Query};
use crate::service::payment_link;
use crate::wire::present_link::link_item_out;
use crate::wire::{
    CreatePaymentLinkRequest, ListLineItemsQuery, ListPaymentLinksQuery, PaymentLinkLineItemList,
    PaymentLinkList, PaymentLinkOut, UpdatePaymentLinkRequest,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_link, list_links))
        .routes(routes!(get_link, update_link))
        .routes(routes!(list_link_items))
}

/// Create a payment link
///
/// A reusable link (and QR code at `{url}/qr.svg`): each visit makes a checkout
/// session of its items. One item may carry `custom_amount` instead of `amount`:
/// the customer types the amount.
#[utoipa::path(post, path = "/api/v1/payment_links", tag = "Payment links",
    request_body(content = CreatePaymentLinkRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The created link", body = PaymentLinkOut)))]
async fn create_link(
    State(state): State<AppState>,
    p: Principal,
    extract::Json(req): extract::Json<CreatePaymentLinkRequest>,
) -> Result<Json<PaymentLinkOut>> {
    let l = payment_link::create(&state, &p, &req).await?;
    Ok(Json(PaymentLinkOut::new(&l, &state.config)?))
}

/// List payment links
///
/// Newest first, with cursor pagination; `active` filters.
#[utoipa::path(get, path = "/api/v1/payment_links", tag = "Payment links",
    params(ListPaymentLinksQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of links", body = PaymentLinkList)))]
async fn list_links(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListPaymentLinksQuery>,
) -> Result<Json<PaymentLinkList>> {
    let (links, has_more) = payment_link::list(
        &state,
        &p,
        q.active,
        q.limit,
        q.starting_after.as_deref(),
        q.ending_before.as_deref(),
    )
    .await?;
    Ok(Json(PaymentLinkList {
        object: "list",
        data: links
            .iter()
            .map(|l| PaymentLinkOut::new(l, &state.config))
            .collect::<Result<_>>()?,
        has_more,
        url: "/api/v1/payment_links".into(),
    }))
}

/// Retrieve a payment link
///
/// With its totals: paid sessions and the amount they collected.
#[utoipa::path(get, path = "/api/v1/payment_links/{id}", tag = "Payment links",
    params(("id" = String, Path, description = "`plink_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The link", body = PaymentLinkOut)))]
async fn get_link(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<PaymentLinkId>,
) -> Result<Json<PaymentLinkOut>> {
    let l = payment_link::get(&state, &p, &id).await?;
    Ok(Json(PaymentLinkOut::new(&l, &state.config)?))
}

/// Update a payment link
///
/// `active: false` stops new sessions (open ones can still be paid); `metadata`,
/// `after_completion` and `restrictions` are replaced when given.
#[utoipa::path(post, path = "/api/v1/payment_links/{id}", tag = "Payment links",
    params(("id" = String, Path, description = "`plink_…`")),
    request_body(content = UpdatePaymentLinkRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The updated link", body = PaymentLinkOut)))]
async fn update_link(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<PaymentLinkId>,
    extract::Json(req): extract::Json<UpdatePaymentLinkRequest>,
) -> Result<Json<PaymentLinkOut>> {
    let l = payment_link::update(&state, &p, &id, &req).await?;
    Ok(Json(PaymentLinkOut::new(&l, &state.config)?))
}

/// List a payment link's line items
///
/// In the order they were given, with cursor pagination.
#[utoipa::path(get, path = "/api/v1/payment_links/{id}/line_items", tag = "Payment links",
    params(("id" = String, Path, description = "`plink_…`"), ListLineItemsQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of line items", body = PaymentLinkLineItemList)))]
async fn list_link_items(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<PaymentLinkId>,
    Query(q): Query<ListLineItemsQuery>,
) -> Result<Json<PaymentLinkLineItemList>> {
    let (link, items, has_more) = payment_link::line_items(
        &state,
        &p,
        &id,
        q.limit,
        q.starting_after.as_deref(),
        q.ending_before.as_deref(),
    )
    .await?;
    Ok(Json(PaymentLinkLineItemList {
        object: "list",
        data: items
            .iter()
            .map(|i| link_item_out(i, link.currency.code()))
            .collect(),
        has_more,
        url: format!("/api/v1/payment_links/{id}/line_items"),
    }))
}
