//! The `Idempotency-Key` middleware for every POST: authenticated routes
//! (GraphQL included) are scoped to merchant + mode, the pay route to its
//! session.
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::Principal;
use crate::error::Error;
use crate::service::idempotency::{self, Begin};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// The request's `Idempotency-Key`, when it has one.
pub fn key_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The scope of a request's key, or None when it needs no idempotency.
async fn scope_of(state: &AppState, req: &mut Request) -> Result<Option<String>, Error> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/api/checkout/") {
        return Ok(rest.strip_suffix("/pay").map(|id| format!("pay:{id}")));
    }
    let graphql = path == GRAPHQL;
    if !path.starts_with("/api/v1/") && !graphql {
        return Ok(None);
    }
    let (mut parts, body) = std::mem::take(req).into_parts();
    let principal = <Principal as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, state,
    )
    .await;
    *req = Request::from_parts(parts, body);
    match principal {
        Ok(p) => Ok(Some(p.scope_key())),
        // GraphQL answers a missing or bad key in its own shape, and a
        // document without a caller (introspection) has nothing to protect.
        Err(_) if graphql => Ok(None),
        Err(e) => Err(e),
    }
}

const GRAPHQL: &str = "/graphql";

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    match run(&state, &mut req).await {
        Ok(Some((scope, key))) => {
            let graphql = req.uri().path() == GRAPHQL;
            // The key's owner stays alive as long as the request runs (it
            // runs to completion whatever the client does: see
            // `server::run_to_completion`), so a retry is never let in
            // while this one may still act.
            let beat = Heartbeat::start(&state, &scope, &key);
            let res = next.run(req).await;
            let res = store(&state, &scope, &key, graphql, res).await;
            drop(beat);
            res
        }
        Ok(None) => next.run(req).await,
        Err(Ok(replay)) => replay,
        Err(Err(e)) => e.into_response(),
    }
}

type Early = Result<Response, Error>;

/// Ok(Some) = fresh, continue and store; Err(Ok) = replay; Err(Err) = refuse.
async fn run(state: &AppState, req: &mut Request) -> Result<Option<(String, String)>, Early> {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let key = key.ok_or(Err(Error::invalid(
        "Idempotency-Key",
        "Idempotency-Key must be 1–255 ASCII characters.",
    )))?;
    let Some(scope) = scope_of(state, req).await.map_err(Err)? else {
        return Ok(None);
    };
    let (parts, body) = std::mem::take(req).into_parts();
    let bytes = to_bytes(body, crate::BODY_LIMIT)
        .await
        .map_err(|_| Err(Error::BodyTooLarge))?;
    let hash = idempotency::request_hash(parts.method.as_str(), parts.uri.path(), &bytes);
    *req = Request::from_parts(parts, Body::from(bytes));
    match idempotency::begin(state, &scope, &key, &hash)
        .await
        .map_err(Err)?
    {
        Begin::Fresh => Ok(Some((scope, key))),
        Begin::Replay(stored) => {
            let mut res = (
                axum::http::StatusCode::from_u16(stored.status).unwrap_or_default(),
                stored.body,
            )
                .into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&stored.content_type)
                    .unwrap_or(HeaderValue::from_static("application/json")),
            );
            h.insert(REPLAYED, HeaderValue::from_static("true"));
            Err(Ok(res))
        }
    }
}

/// Renews a running request's in-flight key until dropped. Its own task: a
/// renewal waits for the writer, which the request itself may hold.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(state: &AppState, scope: &str, key: &str) -> Heartbeat {
        let (state, scope, key) = (state.clone(), scope.to_string(), key.to_string());
        Heartbeat(tokio::spawn(async move {
            let every = state.config.idempotency_heartbeat;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                if let Err(e) = idempotency::heartbeat(&state, &scope, &key).await {
                    tracing::warn!(error = %e, "could not renew an idempotency key in flight");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The status a response is stored under. GraphQL answers `200` with its
/// errors in the body: one that failed on our side (an error whose
/// `extensions.status` is 5xx or 429) is not a final answer either.
fn outcome_status(status: u16, graphql: bool, body: &[u8]) -> u16 {
    if !graphql || status != 200 {
        return status;
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["extensions"]["status"].as_u64())
        .filter_map(|s| u16::try_from(s).ok())
        .find(|s| *s >= 500 || *s == 429)
        .unwrap_or(status)
}

async fn store(state: &AppState, scope: &str, key: &str, graphql: bool, res: Response) -> Response {
    let (parts, body) = res.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return Error::Internal("response body unreadable".into()).into_response(),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let text = String::from_utf8_lossy(&bytes);
    if let Err(e) = idempotency::finish(
        state,
        scope,
        key,
        outcome_status(parts.status.as_u16(), graphql, &bytes),
        content_type,
        &text,
    )
    .await
    {
        tracing::error!(error = %e, "could not store idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
