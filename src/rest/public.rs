//! `/api/checkout/{sessionId}` — what the hosted page reads and pays with.
//! No auth: the unguessable session id is the capability.
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::domain::CheckoutSessionId;
use crate::domain::IntentStatus;
use crate::domain::payment_method::PaymentMethodInput;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::PathId;
use crate::rest::ops::RestState;
use crate::rest::{extract, rate_limit};
use crate::service::{checkout, payment};
use crate::wire::{PayIntentRef, PayRequest, PayResponse, PublicCheckoutSession};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_public_session))
        .routes(routes!(pay))
}

/// The hosted page's view of a session
///
/// Safe to show a customer: no metadata, references, email or success URL.
#[utoipa::path(get, path = "/api/checkout/{sessionId}", tag = "Hosted checkout",
    params(("sessionId" = String, Path, description = "Session id")),
    responses((status = 200, description = "The public view", body = PublicCheckoutSession)))]
async fn get_public_session(
    State(state): State<AppState>,
    PathId(session_id): PathId<CheckoutSessionId>,
) -> Result<Json<PublicCheckoutSession>> {
    let v = checkout::public_view(&state, &session_id).await?;
    Ok(Json(PublicCheckoutSession::try_from(&v)?))
}

/// Pay a checkout session
///
/// Amount and currency come from the session (a payment link's custom
/// amount: `amount` in the body, within the session's bounds). Honours `Idempotency-Key`
/// (scoped to the session). Test cards: 4242424242424242 succeeds,
/// 4000000000000002 is declined; mobile money numbers ending 0000 settle
/// after a delay (202), 0002 succeed at once.
#[utoipa::path(post, path = "/api/checkout/{sessionId}/pay", tag = "Hosted checkout",
    params(("sessionId" = String, Path, description = "Session id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A fresh key per payment attempt (scoped to the session)",
            min_length = 1, max_length = 255, pattern = "^[!-~]+$")),
    request_body(content = PayRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Paid: redirect the customer to `redirect_url`", body = PayResponse),
        (status = 202, description = "Processing (mobile money): poll the session", body = PayResponse),
        (status = 402, description = "Declined (`card_error`, with `decline_code`)", body = ErrorResponse),
        (status = 409, description = "Expired, already paid, a payment in progress, or its payment link used up (`payment_link_used_up`)", body = ErrorResponse),
        (status = 503, description = "No processor for live mode (`processor_unavailable`)", body = ErrorResponse)))]
async fn pay(
    State(state): State<AppState>,
    Extension(rest): Extension<RestState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    PathId(session_id): PathId<CheckoutSessionId>,
    extract::Json(req): extract::Json<PayRequest>,
) -> Result<Response> {
    let client = rate_limit::client_ip(addr.ip(), &headers, &state.config.trusted_proxies);
    rest.pay_limiter.check(client, &session_id)?;
    let method = PaymentMethodInput::try_from(&req)?;
    let paid = payment::pay(&state, &session_id, method, req.amount).await?;
    let body = PayResponse {
        status: if paid.processing {
            IntentStatus::Processing
        } else {
            IntentStatus::Succeeded
        },
        payment_intent: PayIntentRef {
            id: paid.intent.id.to_string(),
            status: paid.intent.status,
        },
        session: PublicCheckoutSession::try_from(&paid.view)?,
        redirect_url: paid.redirect_url,
    };
    let status = if paid.processing {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(body)).into_response())
}
