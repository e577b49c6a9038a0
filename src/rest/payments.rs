//! Payment intents, subscriptions and test helpers.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::{CheckoutSessionId, PaymentIntentId, SubscriptionId};
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::OptionalJson;
use crate::rest::extract::PathId;
use crate::service::{checkout, payment, subscription};
use crate::wire::{
    CancelSubscriptionRequest, CheckoutSessionOut, EmptyRequest, PaymentIntentOut, SubscriptionOut,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_payment_intent))
        .routes(routes!(get_subscription, delete_subscription))
        .routes(routes!(cancel_subscription))
        .routes(routes!(helper_succeed))
        .routes(routes!(helper_fail))
        .routes(routes!(helper_expire))
}

/// Retrieve a payment intent
///
/// The payment method shows brand and last4, or provider and a masked phone.
#[utoipa::path(get, path = "/api/v1/payment_intents/{id}", tag = "Payment intents",
    params(("id" = String, Path, description = "`pi_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The payment intent", body = PaymentIntentOut)))]
async fn get_payment_intent(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<PaymentIntentId>,
) -> Result<Json<PaymentIntentOut>> {
    let i = payment::get_intent(&state, &p, &id).await?;
    Ok(Json(PaymentIntentOut::try_from(&i)?))
}

/// Retrieve a subscription
///
/// Created when a `subscription`-mode session is paid; shows its items, interval and status.
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "Subscriptions",
    params(("id" = String, Path, description = "`sub_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The subscription", body = SubscriptionOut)))]
async fn get_subscription(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<SubscriptionId>,
) -> Result<Json<SubscriptionOut>> {
    let (s, items) = subscription::get(&state, &p, &id).await?;
    Ok(Json(SubscriptionOut::new(&s, &items, state.clock.now())))
}

/// Cancel a subscription now (Stripe's verb)
///
/// `DELETE`, as Stripe's SDKs cancel (`stripe.Subscription.cancel`): the
/// same as `POST …/cancel` with no body.
#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "Subscriptions",
    params(("id" = String, Path, description = "`sub_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The canceled subscription", body = SubscriptionOut)))]
async fn delete_subscription(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<SubscriptionId>,
) -> Result<Json<SubscriptionOut>> {
    let (s, items) = subscription::cancel(&state, &p, &id, false).await?;
    Ok(Json(SubscriptionOut::new(&s, &items, state.clock.now())))
}

/// Cancel a subscription
///
/// Now (default), or at the end of the current period with `{"at_period_end": true}`.
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/cancel", tag = "Subscriptions",
    params(("id" = String, Path, description = "`sub_…`")), security(("bearer" = [])),
    request_body(content = CancelSubscriptionRequest, content_type = "application/json", description = "`{}` to cancel now, `{\"at_period_end\": true}` to cancel at period end (an empty body is accepted too)"),
    responses((status = 200, description = "The subscription", body = SubscriptionOut)))]
async fn cancel_subscription(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<SubscriptionId>,
    OptionalJson(req): OptionalJson<CancelSubscriptionRequest>,
) -> Result<Json<SubscriptionOut>> {
    let (s, items) =
        subscription::cancel(&state, &p, &id, req.at_period_end.unwrap_or(false)).await?;
    Ok(Json(SubscriptionOut::new(&s, &items, state.clock.now())))
}

async fn helper(
    state: &AppState,
    p: &Principal,
    id: &CheckoutSessionId,
    action: &str,
) -> Result<Json<CheckoutSessionOut>> {
    match action {
        "succeed" => payment::test_helper_settle(state, p, id, true).await?,
        "fail" => payment::test_helper_settle(state, p, id, false).await?,
        _ => payment::test_helper_expire(state, p, id).await?,
    }
    let v = checkout::get(state, p, id).await?;
    Ok(Json(CheckoutSessionOut::new(
        &v,
        &state.config.checkout_url,
    )?))
}

/// Test helper: pay a session
///
/// Test mode only. Settles a processing mobile-money payment, or pays an open session.
#[utoipa::path(post, path = "/api/v1/test_helpers/checkout/sessions/{id}/succeed", tag = "Test helpers",
    params(("id" = String, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "The completed session", body = CheckoutSessionOut),
        (status = 409, description = "Not open", body = ErrorResponse)))]
async fn helper_succeed(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    OptionalJson(_empty): OptionalJson<EmptyRequest>,
) -> Result<Json<CheckoutSessionOut>> {
    helper(&state, &p, &id, "succeed").await
}

/// Test helper: fail a payment
///
/// Test mode only. Fails a processing mobile-money payment, or records a declined attempt; the session stays open.
#[utoipa::path(post, path = "/api/v1/test_helpers/checkout/sessions/{id}/fail", tag = "Test helpers",
    params(("id" = String, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "The session, still open", body = CheckoutSessionOut),
        (status = 409, description = "Not open", body = ErrorResponse)))]
async fn helper_fail(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    OptionalJson(_empty): OptionalJson<EmptyRequest>,
) -> Result<Json<CheckoutSessionOut>> {
    helper(&state, &p, &id, "fail").await
}

/// Test helper: expire a session
///
/// Test mode only: moves an open session's expiry to now, as if its time had run out
/// (`checkout.session.expired` is sent).
#[utoipa::path(post, path = "/api/v1/test_helpers/checkout/sessions/{id}/expire", tag = "Test helpers",
    params(("id" = String, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "The expired session", body = CheckoutSessionOut),
        (status = 409, description = "Not open", body = ErrorResponse)))]
async fn helper_expire(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CheckoutSessionId>,
    OptionalJson(_empty): OptionalJson<EmptyRequest>,
) -> Result<Json<CheckoutSessionOut>> {
    helper(&state, &p, &id, "expire").await
}
