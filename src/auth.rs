//! Bearer tokens → `Principal {merchant, livemode, scopes}` (SPEC §2): the
//! HTTP side. `Principal` itself is a domain type, so the service that
//! authenticates does not depend on this module.
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{Error, Result};

pub use crate::domain::principal::{Principal, Scope};

/// The token of an `Authorization` header value: `Bearer <token>`, or HTTP
/// Basic with the key as user name and no password (`curl -u ik_test_…:`),
/// as Stripe accepts.
pub fn bearer_token(value: Option<&str>) -> Result<String> {
    use base64::Engine;
    let value = value.ok_or(Error::ApiKeyMissing)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(Error::ApiKeyInvalid)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(Error::ApiKeyInvalid);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(rest.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Error::ApiKeyInvalid);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(Error::ApiKeyInvalid)?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
    if user.is_empty() {
        return Err(Error::ApiKeyInvalid);
    }
    Ok(user.to_string())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map_err(|_| Error::ApiKeyInvalid))
            .transpose()?;
        let token = bearer_token(header)?;
        let principal = crate::service::credentials::authenticate(state, &token).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}
