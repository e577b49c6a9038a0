//! Bearer tokens → `Principal {merchant, livemode, scopes}` (SPEC §2).
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "payments:read",
            Scope::Write => "payments:write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "payments:read" => Some(Scope::Read),
            "payments:write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// Who is calling: one merchant in one mode, with scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub merchant_id: String,
    pub livemode: bool,
    pub can_read: bool,
    pub can_write: bool,
}

impl Principal {
    /// `payments:write` includes read.
    pub fn require(&self, scope: Scope) -> Result<()> {
        let ok = match scope {
            Scope::Read => self.can_read || self.can_write,
            Scope::Write => self.can_write,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::ScopeMissing(scope.as_str()))
        }
    }

    /// The idempotency scope of this caller: merchant and mode.
    pub fn scope_key(&self) -> String {
        format!(
            "{}:{}",
            self.merchant_id,
            if self.livemode { "live" } else { "test" }
        )
    }
}

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
