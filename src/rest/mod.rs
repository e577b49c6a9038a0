//! The REST API: one file per resource, routes registered only through
//! `utoipa_axum::routes!` so the router and the OpenAPI document cannot drift.
mod connectors;
pub mod docs;
mod events;
pub mod extract;
pub mod form;
pub mod idempotency;
pub mod openapi;
pub mod ops;
pub mod payment_links;
mod payments;
pub mod providers;
mod public;
pub mod rate_limit;
mod refunds;
mod sessions;
mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Public routes (CORS-enabled) and merchant routes, with their documents.
pub fn routers() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let public = public::router();
    let merchant = sessions::router()
        .merge(payments::router())
        .merge(payment_links::router())
        .merge(events::router())
        .merge(refunds::router())
        .merge(webhooks::router())
        .merge(connectors::router());
    (public, merchant)
}
