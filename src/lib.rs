//! Ikawaari Checkout: hosted checkout for West African merchants.
//!
//! `build_app` is the one way to build the HTTP app, used by `main.rs` and by
//! the tests alike; `run` serves it on a bound listener.
pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod processor;
pub mod rest;
pub mod seed;
pub mod server;
pub mod service;
pub mod validation;
pub mod web;
pub mod wire;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use sea_orm::DatabaseConnection;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use clock::Clock;
pub use config::Config;

use service::events::EventBus;

pub const BODY_LIMIT: usize = 256 * 1024;

/// Everything a handler, resolver or worker needs: one shared `Arc`, so
/// the many clones a request makes (extractors, middleware, spawned
/// writes) cost one reference count, not one per field (it showed as ~10 %
/// of a read's CPU in a profile).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    /// Reads (and, on PostgreSQL, the pool the writer's transactions use).
    pub db: DatabaseConnection,
    /// Every write goes through here: group commit on SQLite (`db::writer`).
    pub writer: db::Writer,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// The built-in test processor (test mode without a connector).
    pub processor: Arc<dyn processor::Connector>,
    /// The merchants' connectors built in this process (`service::connector`).
    pub connectors: service::connector::Instances,
    pub events: EventBus,
    /// Merchant display names by id (immutable once created).
    pub merchant_names: Arc<std::sync::RwLock<std::collections::HashMap<String, String>>>,
    /// Cancelled at shutdown: every background task (sweeper, settlement
    /// timers, the PostgreSQL listener) stops on it.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Timers the service asks for (pending settlements and refunds),
    /// drained by `workers::timers`.
    pub timers: service::scheduler::Scheduler,
    /// Wakes this process's webhook delivery worker after a commit
    /// (`service::webhook::wake`).
    pub deliveries: service::webhook::wake::Wake,
}

impl AppState {
    /// One pool for reads and writes.
    pub fn new(db: DatabaseConnection, config: Config, clock: Clock) -> Self {
        AppState::with_pools(db.clone(), db, config, clock)
    }

    /// Reads on `reads`, every write transaction on `writes` (PostgreSQL:
    /// `db::connect_reads` and `db::connect`).
    pub fn with_pools(
        reads: DatabaseConnection,
        writes: DatabaseConnection,
        config: Config,
        clock: Clock,
    ) -> Self {
        let db = reads;
        let writer = db::Writer::new(writes, db.clone());
        let processor = Arc::new(processor::TestProcessor {
            momo_delay: Duration::from_millis(config.test_momo_delay_ms),
            db: db.clone(),
            writer: writer.clone(),
            clock: clock.clone(),
        });
        AppState(Arc::new(AppStateInner {
            writer,
            db,
            config: Arc::new(config),
            clock,
            processor,
            connectors: Default::default(),
            events: EventBus::default(),
            merchant_names: Arc::default(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            timers: Default::default(),
            deliveries: Default::default(),
        }))
    }
}

/// The OpenAPI document, exactly as served and committed.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (public, merchant) = rest::routers();
    let (_, mut doc) =
        utoipa_axum::router::OpenApiRouter::with_openapi(rest::openapi::ApiDoc::openapi())
            .merge(public)
            .merge(merchant)
            .split_for_parts();
    rest::openapi::finish(&mut doc);
    doc
}

#[derive(Clone, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&domain::ids::new_id("req"))
            .ok()
            .map(RequestId::new)
    }
}

/// A client's own `request-id` is kept only when it is 1–128 characters of
/// `A–Z a–z 0–9 . _ : -`; anything else (spaces, quotes, `=`, newlines — a
/// forged `status=500` in the log line) is dropped before the id is set,
/// and the request gets a generated one.
async fn safe_request_id(mut req: axum::extract::Request) -> axum::extract::Request {
    let fits = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=128).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
    };
    let headers = req.headers_mut();
    let all = headers.get_all("request-id");
    if all.iter().count() > 1 || all.iter().any(|v| !fits(v)) {
        headers.remove("request-id");
    }
    req
}

/// CORS for the public routes (`/api/checkout/…`) only. Applied outside the
/// router so preflight `OPTIONS` requests are answered before routing; other
/// paths never get an allow-origin header.
fn cors(origins: &str) -> CorsLayer {
    let list: Option<Vec<HeaderValue>> = (origins.trim() != "*").then(|| {
        origins
            .split(',')
            .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
            .collect()
    });
    let allow = AllowOrigin::predicate(move |origin, parts| {
        parts.uri.path().starts_with("/api/checkout/")
            && list.as_ref().is_none_or(|l| l.contains(origin))
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
}

/// The whole HTTP app.
pub fn build_app(state: AppState) -> Router {
    let (public, merchant) = rest::routers();
    let (public, _) = public.split_for_parts();
    let (merchant, _) = merchant.split_for_parts();
    let doc = openapi();
    let request_id = HeaderName::from_static("request-id");
    let api = Router::new()
        .merge(public)
        .merge(merchant)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rest::ops::error_ids,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rest::idempotency::middleware,
        ));
    let app = Router::new()
        .merge(api)
        // GraphQL mutations honour `Idempotency-Key` as REST does (SPEC §5).
        .merge(
            graphql::router(state.clone()).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                rest::idempotency::middleware,
            )),
        )
        .merge(web::router())
        .merge(rest::providers::router())
        .route("/docs/errors", axum::routing::get(rest::docs::errors_page))
        .route("/healthz", axum::routing::get(rest::ops::healthz))
        .route("/readyz", axum::routing::get(rest::ops::readyz))
        .route("/metrics", axum::routing::get(rest::ops::metrics))
        // The key entered in "Authorize" survives reloads of the tab.
        .merge(
            SwaggerUi::new("/swagger-ui")
                .url("/api-docs/openapi.json", doc)
                .config(
                    utoipa_swagger_ui::Config::from("/api-docs/openapi.json")
                        .persist_authorization(true),
                ),
        )
        .fallback(rest::ops::route_not_found)
        .method_not_allowed_fallback(rest::ops::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Panics and timeouts become responses inside `normalize_errors`, which
        // gives them the one error shape.
        .layer(CatchPanicLayer::new())
        // Below this line a state-changing request runs in its own task: the
        // timeout and a departing client drop only the wait for its answer.
        .layer(axum::middleware::from_fn(server::run_to_completion))
        // Every route, GraphQL included: a declared Content-Length over the
        // limit is refused before the body is read; a body that stalls ends.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_millis(
            state.config.body_timeout_ms,
        )))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(state.config.request_timeout_ms),
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), rest::ops::normalize_errors))
        // REST-only state (pay rate limit, metrics), outside `AppState`.
        .layer(axum::Extension(rest::ops::RestState::new(&state)))
        .layer(cors(&state.config.cors_origins))
        // One INFO line per response (status, latency) in a span carrying the
        // request id; never headers or bodies.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        // gzip for clients that ask (the hosted page on a mobile network):
        // outside the idempotency store, so stored responses stay plain.
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RandomRequestId))
        .layer(axum::middleware::map_request(safe_request_id))
        .with_state(state);
    stripe_alias(app)
}

/// `/v1/…` is `/api/v1/…` (SPEC §14: a Stripe SDK's `api_base` is the
/// server's root): the path is rewritten and the request handed to the
/// same app, so it is one router — every layer, route and contract — with
/// two spellings. Around the app, because routing happens before the
/// app's own layers see the request.
fn stripe_alias(app: Router) -> Router {
    use tower::ServiceExt;
    let inner = app.clone();
    let alias = tower::service_fn(move |mut req: axum::extract::Request| {
        let inner = inner.clone();
        async move {
            let rest = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let rest = if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("/{rest}")
            };
            if let Ok(uri) = format!("/api/v1{rest}").parse() {
                *req.uri_mut() = uri;
            }
            inner.oneshot(req).await
        }
    });
    Router::new()
        .nest_service("/v1", alias)
        .fallback_service(app)
}

/// Serves `app` on `listener` with the connection limits of `config` until
/// `shutdown` completes, finishing in-flight requests.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let docs = rest::ops::docs_origin(&config.checkout_url).into();
    server::serve(listener, app, config.limits, docs, shutdown).await
}
