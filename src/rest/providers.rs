//! `/api/providers/{type}/{connector}` — where providers notify us (MTN's
//! callback, `PUT` or `POST`; Wave's webhook). Not part of the merchant
//! contract: a provider calls it, with its own body. `200` once verified
//! (the lookup it triggers decides, whatever it finds); `400` when the
//! notification fails verification (nothing changes); `404` for an
//! unknown connector.
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Json;
use axum::routing::post;

use crate::AppState;
use crate::error::Result;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/providers/{kind}/{id}",
        post(notification).put(notification),
    )
}

async fn notification(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>> {
    crate::service::connector::notify(&state, &kind, &id, &headers, &body).await?;
    Ok(Json(serde_json::json!({"received": true})))
}
