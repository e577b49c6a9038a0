//! The create command: a checkout session that passed every rule that does
//! not depend on who asks or when (field shapes, currency agreement, mode vs
//! recurring, checked totals). Built by `TryFrom` from a request body.
use std::collections::BTreeMap;

use super::{Amount, Currency, Interval, Mode, PaymentMethodKind, ReturnUrl};
use crate::error::{Error, FieldError, Result};

/// Earliest and latest `expires_at`, from now.
pub const MIN_EXPIRY_SECS: i64 = 30 * 60;
pub const MAX_EXPIRY_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone)]
pub struct NewLineItem {
    pub name: String,
    pub description: Option<String>,
    pub images: Vec<String>,
    pub amount: Amount,
    pub quantity: i64,
    pub total: Amount,
    pub recurring: Option<(Interval, i32)>,
}

#[derive(Debug, Clone)]
pub struct NewCheckoutSession {
    pub mode: Mode,
    pub currency: Currency,
    pub items: Vec<NewLineItem>,
    pub total: Amount,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub expires_at: Option<i64>,
    pub locale: Option<String>,
    /// Deduplicated, never empty.
    pub payment_method_types: Vec<PaymentMethodKind>,
}

impl NewCheckoutSession {
    /// The rules that depend on the caller's mode and the time: live mode
    /// takes https URLs only; `expires_at` within 30 minutes to 24 hours.
    pub fn check_context(&self, livemode: bool, now: i64) -> Result<()> {
        let mut errors = Vec::new();
        if livemode {
            for (param, url) in [
                ("success_url", Some(&self.success_url)),
                ("cancel_url", self.cancel_url.as_ref()),
            ] {
                if url
                    .and_then(|u| ReturnUrl::parse(u).ok())
                    .is_some_and(|u| !u.is_https())
                {
                    errors.push(FieldError::invalid(
                        param,
                        "Live mode requires an https URL.",
                    ));
                }
            }
        }
        if let Some(exp) = self.expires_at
            && (exp < now + MIN_EXPIRY_SECS || exp > now + MAX_EXPIRY_SECS)
        {
            errors.push(FieldError::invalid(
                "expires_at",
                "expires_at must be between 30 minutes and 24 hours from now.",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }
}
