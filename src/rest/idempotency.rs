//! The `Idempotency-Key` middleware for every POST: authenticated routes are
//! scoped to merchant + mode, the pay route to its session.
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

/// The scope of a request's key, or None when it needs no idempotency.
async fn scope_of(state: &AppState, req: &mut Request) -> Result<Option<String>, Error> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/api/checkout/") {
        return Ok(rest.strip_suffix("/pay").map(|id| format!("pay:{id}")));
    }
    if !path.starts_with("/api/v1/") {
        return Ok(None);
    }
    let (mut parts, body) = std::mem::take(req).into_parts();
    let principal = <Principal as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, state,
    )
    .await;
    *req = Request::from_parts(parts, body);
    let p = principal?;
    Ok(Some(p.scope_key()))
}

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    match run(&state, &mut req).await {
        Ok(Some((scope, key))) => {
            let res = next.run(req).await;
            store(&state, &scope, &key, res).await
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

async fn store(state: &AppState, scope: &str, key: &str, res: Response) -> Response {
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
        parts.status.as_u16(),
        content_type,
        &text,
    )
    .await
    {
        tracing::error!(error = %e, "could not store idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
