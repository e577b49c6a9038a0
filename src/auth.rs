//! Bearer tokens → `Principal {merchant, livemode, scopes}` (SPEC §2): the
//! HTTP side. `Principal` itself is a domain type, so the service that
//! authenticates does not depend on this module.
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{Error, Result};

pub use crate::domain::principal::{Principal, Scope};

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer_token(value: Option<&str>) -> Result<&str> {
    let value = value.ok_or(Error::ApiKeyMissing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Error::ApiKeyInvalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::ApiKeyInvalid);
    }
    Ok(token.trim())
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
        let principal = crate::service::credentials::authenticate(state, token).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}
