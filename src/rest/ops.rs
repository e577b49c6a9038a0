//! Health, readiness, metrics, and the catch-alls that keep every non-2xx
//! answer in the SPEC §6 shape.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use crate::AppState;
use crate::error::Error;
use crate::rest::rate_limit::PayLimiter;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Longest wait for the database's answer before `/readyz` says not ready:
/// a prober (often with a 1–5 s timeout of its own) gets an answer, even
/// while the database is down and connecting to it waits.
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready when the database answers and writes commit (after a failed
/// commit — a full disk — not until one does again: `Writer::can_commit`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let status = match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Err(_)) | Err(_) => "database unreachable",
        Ok(Ok(())) if !state.writer.can_commit(READY_TIMEOUT).await => {
            "database cannot commit writes"
        }
        Ok(Ok(())) => return Json(json!({"status": "ready"})).into_response(),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": status})),
    )
        .into_response()
}

/// State only the REST front end keeps, outside `AppState`: `build_app`
/// hands it to handlers and middleware as a request extension.
#[derive(Clone)]
pub struct RestState {
    pub pay_limiter: Arc<PayLimiter>,
    /// Payment link visits per client address (the pay limit's setting).
    pub visit_limiter: Arc<PayLimiter>,
    pub metrics: Arc<Metrics>,
}

impl RestState {
    pub fn new(state: &AppState) -> Self {
        RestState {
            pay_limiter: Arc::new(PayLimiter::new(
                state.config.pay_rate_limit,
                state.clock.clone(),
            )),
            visit_limiter: Arc::new(PayLimiter::new(
                state.config.pay_rate_limit,
                state.clock.clone(),
            )),
            metrics: Arc::default(),
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

pub async fn metrics(Extension(rest): Extension<RestState>) -> Response {
    let m = &rest.metrics;
    let body = format!(
        "# TYPE ikawaari_http_requests_total counter\nikawaari_http_requests_total {}\n\
         # TYPE ikawaari_http_client_errors_total counter\nikawaari_http_client_errors_total {}\n\
         # TYPE ikawaari_http_server_errors_total counter\nikawaari_http_server_errors_total {}\n\
         # TYPE ikawaari_provider_mismatches_total counter\nikawaari_provider_mismatches_total {}\n\
         # TYPE ikawaari_provider_late_successes_total counter\nikawaari_provider_late_successes_total {}\n",
        m.requests.load(Ordering::Relaxed),
        m.client_errors.load(Ordering::Relaxed),
        m.server_errors.load(Ordering::Relaxed),
        crate::service::payment::MISMATCHES.load(Ordering::Relaxed),
        crate::service::payment::LATE_SUCCESSES.load(Ordering::Relaxed),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

pub async fn route_not_found() -> Error {
    Error::RouteNotFound
}

pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Rewrites the framework's own bodiless or plain-text errors (405 from the
/// router, 413 from the body limit, timeouts, panics) into the §6 shape, and
/// counts responses.
pub async fn normalize_errors(
    State(state): State<AppState>,
    Extension(rest): Extension<RestState>,
    req: Request,
    next: Next,
) -> Response {
    // The hosted page and payment link pages answer HTML, errors included.
    let path = req.uri().path();
    let is_api = !(path.starts_with("/checkout/") || path.starts_with("/l/"));
    let request_id = req
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = normalized(&rest.metrics, is_api, next.run(req).await);
    if is_api && (res.status().is_client_error() || res.status().is_server_error()) {
        return with_request_id_and_doc_url(&state, res, request_id).await;
    }
    res
}

/// The same, inside the idempotency store (on the API router), so a stored
/// error is replayed byte for byte with the `request_id` it first had;
/// `normalize_errors` then leaves bodies that have one alone.
pub async fn error_ids(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = next.run(req).await;
    if res.status().is_client_error() || res.status().is_server_error() {
        return with_request_id_and_doc_url(&state, res, request_id).await;
    }
    res
}

/// Adds `request_id` and `doc_url` to a JSON error body.
async fn with_request_id_and_doc_url(
    state: &AppState,
    res: Response,
    request_id: Option<String>,
) -> Response {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Error::Internal("unreadable error body".into()).into_response();
    };
    let mut v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    let Some(e) = v
        .get_mut("error")
        .and_then(|e| e.as_object_mut())
        .filter(|e| !e.contains_key("request_id"))
    else {
        // Not an error body, or already given its id (a stored answer replayed).
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let code = e
        .get("code")
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_string();
    let origin = docs_origin(&state.config.checkout_url);
    e.insert("request_id".into(), request_id.into());
    e.insert(
        "doc_url".into(),
        format!("{origin}/docs/errors#{code}").into(),
    );
    let out = serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

/// Where `/docs/errors` is served: the origin of the checkout URL.
pub fn docs_origin(checkout_url: &str) -> String {
    url::Url::parse(checkout_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Metrics, and the framework's own non-JSON rejections in the one error shape.
fn normalized(m: &Metrics, is_api: bool, res: Response) -> Response {
    let status = res.status();
    m.requests.fetch_add(1, Ordering::Relaxed);
    if status.is_client_error() {
        m.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if status.is_server_error() {
        m.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json || !is_api {
        return res;
    }
    let err = match status {
        StatusCode::NOT_FOUND => Error::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Error::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Error::Timeout,
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited { retry_after: 1 },
        s if s.is_client_error() => Error::JsonInvalid("malformed request".into()),
        _ => Error::Internal(format!("framework answered {status}")),
    };
    let mut out = err.into_response();
    // Keep headers such as Allow and the request id.
    for (k, v) in res.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
