//! `/api/v1/refunds` — giving money back, in full or in part.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::RefundId;
use crate::domain::refund::NewRefund;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::{self, PathId, Query};
use crate::service::refund;
use crate::wire::{CreateRefundRequest, ListRefundsQuery, RefundList, RefundOut};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_refund, list_refunds))
        .routes(routes!(get_refund))
}

/// Create a refund
///
/// Refunds all that is left of a succeeded payment, or `amount` of it. Card
/// refunds usually succeed at once; mobile-money refunds are `pending` until
/// the operator confirms (`refund.updated` or `refund.failed` follows).
#[utoipa::path(post, path = "/api/v1/refunds", tag = "Refunds",
    request_body(content = CreateRefundRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The refund", body = RefundOut),
        (status = 400, description = "`amount_too_large` or `charge_already_refunded`", body = ErrorResponse),
        (status = 404, description = "No such payment intent", body = ErrorResponse),
        (status = 409, description = "The payment intent has not succeeded (`payment_intent_unexpected_state`)", body = ErrorResponse),
        (status = 503, description = "No processor in live mode", body = ErrorResponse)))]
async fn create_refund(
    State(state): State<AppState>,
    p: Principal,
    headers: axum::http::HeaderMap,
    extract::Json(req): extract::Json<CreateRefundRequest>,
) -> Result<Json<RefundOut>> {
    let mut new = NewRefund::try_from(&req)?;
    new.idempotency_key = crate::rest::idempotency::key_of(&headers);
    let r = refund::create(&state, &p, new).await?;
    Ok(Json(RefundOut::try_from(&r)?))
}

/// List refunds
///
/// Newest first; `payment_intent` narrows to one payment.
#[utoipa::path(get, path = "/api/v1/refunds", tag = "Refunds",
    params(ListRefundsQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of refunds", body = RefundList)))]
async fn list_refunds(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListRefundsQuery>,
) -> Result<Json<RefundList>> {
    let (rows, has_more) = refund::list(
        &state,
        &p,
        q.payment_intent.as_deref(),
        q.limit,
        q.starting_after.as_deref(),
    )
    .await?;
    Ok(Json(RefundList {
        object: "list",
        data: rows
            .iter()
            .map(RefundOut::try_from)
            .collect::<Result<_>>()?,
        has_more,
        url: "/api/v1/refunds".into(),
    }))
}

/// Retrieve a refund
///
/// With its status: `pending`, `succeeded` or `failed` (then `failure_reason` says why).
#[utoipa::path(get, path = "/api/v1/refunds/{id}", tag = "Refunds",
    params(("id" = String, Path, description = "`re_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The refund", body = RefundOut)))]
async fn get_refund(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<RefundId>,
) -> Result<Json<RefundOut>> {
    let r = refund::get(&state, &p, &id).await?;
    Ok(Json(RefundOut::try_from(&r)?))
}
