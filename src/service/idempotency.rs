//! `Idempotency-Key` (SPEC §5): the first response to a key is stored and
//! replayed byte for byte; the key row is inserted before the work starts, so
//! a concurrent duplicate — in this process or another — sees it in flight.
use entity::idempotency_key as ik;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::Unique;
use crate::error::{Conflict, Error, Result};

/// Keys are kept this long.
pub const RETENTION_SECS: i64 = 24 * 3600;
/// An in-flight marker whose owner has not renewed it for this long belongs
/// to a request that died with its process: a running request renews its
/// marker (`heartbeat`, every `Config::idempotency_heartbeat`: 10 s by
/// default), however long it runs, so its key is never taken over while it
/// may still act.
const STALE_IN_FLIGHT_SECS: i64 = 60;

pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub enum Begin {
    /// Go ahead, then call `finish`.
    Fresh,
    Replay(StoredResponse),
}

/// The fingerprint a key is bound to: method, path and the *parsed* body,
/// so the same JSON with its keys in another order or other spacing is the
/// same request. A body that is not JSON is compared byte for byte.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => canonical(&v, &mut h),
        Err(_) => h.update(body),
    }
    hex::encode(h.finalize())
}

/// Feeds `v` to `h` with object keys sorted (serde_json keeps insertion
/// order when a dependency enables `preserve_order`). Depth is bounded by
/// serde_json's recursion limit.
fn canonical(v: &serde_json::Value, h: &mut Sha256) {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            h.update(b"[");
            for item in items {
                canonical(item, h);
                h.update(b",");
            }
            h.update(b"]");
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                h.update(serde_json::to_string(k).unwrap_or_default().as_bytes());
                h.update(b":");
                canonical(&map[k], h);
                h.update(b",");
            }
            h.update(b"}");
        }
        scalar => h.update(scalar.to_string().as_bytes()),
    }
}

pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 255 || !key.is_ascii() {
        return Err(Error::invalid(
            "Idempotency-Key",
            "Idempotency-Key must be 1–255 ASCII characters.",
        ));
    }
    Ok(())
}

pub async fn begin(state: &AppState, scope: &str, key: &str, hash: &str) -> Result<Begin> {
    check_key(key)?;
    let now = state.clock.now();
    // Expired keys are forgotten; a new request may reuse them.
    let q = ik::Entity::delete_many()
        .filter(ik::Column::Scope.eq(scope))
        .filter(ik::Column::IdemKey.eq(key))
        .filter(ik::Column::Created.lte(now - RETENTION_SECS));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    let row = ik::ActiveModel {
        scope: Set(scope.into()),
        idem_key: Set(key.into()),
        request_hash: Set(hash.into()),
        status: Set(None),
        content_type: Set(None),
        body: Set(None),
        created: Set(now),
    };
    match state
        .writer
        .one(|c| async move { row.insert(&c).await })
        .await
    {
        Ok(_) => return Ok(Begin::Fresh),
        Err(e) if crate::db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    let existing = ik::Entity::find_by_id((scope.to_string(), key.to_string()))
        .unique(&state.db)
        .await?
        .ok_or(Error::Conflict(Conflict::IdempotencyKeyInUse))?;
    if existing.request_hash != hash {
        return Err(Error::IdempotencyMismatch);
    }
    match (existing.status, existing.body) {
        (Some(status), Some(body)) => Ok(Begin::Replay(StoredResponse {
            body: unseal(state, body)?,
            status: status as u16,
            content_type: existing
                .content_type
                .unwrap_or_else(|| "application/json".into()),
        })),
        _ if existing.created < now - STALE_IN_FLIGHT_SECS => {
            // Take over a marker left by a crashed request, once.
            let taken = ik::Entity::update_many()
                .col_expr(ik::Column::Created, Expr::value(now))
                .filter(ik::Column::Scope.eq(scope))
                .filter(ik::Column::IdemKey.eq(key))
                .filter(ik::Column::Created.eq(existing.created))
                .filter(ik::Column::Status.is_null());
            let taken = state
                .writer
                .one(|c| async move { taken.exec(&c).await })
                .await?;
            if taken.rows_affected == 1 {
                Ok(Begin::Fresh)
            } else {
                Err(Error::Conflict(Conflict::IdempotencyKeyInUse))
            }
        }
        _ => Err(Error::Conflict(Conflict::IdempotencyKeyInUse)),
    }
}

/// Renews the in-flight marker of a request still running (see
/// `STALE_IN_FLIGHT_SECS`).
pub async fn heartbeat(state: &AppState, scope: &str, key: &str) -> Result<()> {
    let q = ik::Entity::update_many()
        .col_expr(ik::Column::Created, Expr::value(state.clock.now()))
        .filter(ik::Column::Scope.eq(scope))
        .filter(ik::Column::IdemKey.eq(key))
        .filter(ik::Column::Status.is_null());
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(())
}

/// A stored response is sealed like a webhook secret: some carry one (an
/// endpoint's create and rotate), and the key row keeps it for 24 h.
fn seal(state: &AppState, body: &str) -> String {
    state.config.secrets_key.seal(body)
}

fn unseal(state: &AppState, stored: String) -> Result<String> {
    if !stored.starts_with("v1:") {
        // Stored before responses were sealed: a JSON body as it was.
        return Ok(stored);
    }
    state
        .config
        .secrets_key
        .open(&stored)
        .ok_or_else(|| Error::Internal("stored response sealed under another key".into()))
}

/// Stores the response. Server errors are not stored: the client may retry.
pub async fn finish(
    state: &AppState,
    scope: &str,
    key: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<()> {
    let find = |q| {
        ik::Entity::delete_many()
            .filter(ik::Column::Scope.eq(scope))
            .filter(ik::Column::IdemKey.eq(key))
            .filter(q)
    };
    if status >= 500 || status == 429 {
        let q = find(ik::Column::Status.is_null());
        state
            .writer
            .one(|c| async move { q.exec(&c).await })
            .await?;
        return Ok(());
    }
    let q = ik::Entity::update_many()
        .col_expr(ik::Column::Status, Expr::value(i32::from(status)))
        .col_expr(ik::Column::ContentType, Expr::value(content_type))
        .col_expr(ik::Column::Body, Expr::value(seal(state, body)))
        .filter(ik::Column::Scope.eq(scope))
        .filter(ik::Column::IdemKey.eq(key))
        .filter(ik::Column::Status.is_null());
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(())
}

/// Removes keys past retention (called by the sweeper).
pub async fn purge(state: &AppState) -> Result<u64> {
    let cutoff = state.clock.now() - RETENTION_SECS;
    let q = ik::Entity::delete_many().filter(ik::Column::Created.lte(cutoff));
    let gone = state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(gone.rows_affected)
}
