//! Who is calling: one merchant in one mode, with scopes (SPEC §2).
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
    pub merchant_id: super::MerchantId,
    pub livemode: bool,
    pub can_read: bool,
    pub can_write: bool,
    /// An `ik_app_` token (dashboards): never manages signing secrets.
    pub app_token: bool,
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

    /// Write access that only a secret API key has (webhook endpoints hold
    /// signing secrets): an app token gets `403` even with `payments:write`.
    pub fn require_secret_key(&self) -> Result<()> {
        self.require(Scope::Write)?;
        if self.app_token {
            return Err(Error::SecretKeyRequired);
        }
        Ok(())
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
