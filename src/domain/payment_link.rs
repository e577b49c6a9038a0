//! Payment links (SPEC §12): what a link stores, the create command built
//! from a request, and the bounds of a customer-typed amount.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Amount, Currency, PaymentMethodKind};
use crate::error::{Error, FieldError, Result};

/// How long a session made by a visit stays open.
pub const VISIT_SESSION_SECS: i64 = 3600;

/// The bounds of an amount the customer types (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomAmount {
    pub minimum: i64,
    pub maximum: i64,
    pub preset: Option<i64>,
}

impl CustomAmount {
    /// `amount` if it is within the bounds, else the field error for `param`.
    pub fn check(&self, amount: i64, param: &str) -> Result<Amount> {
        if amount < self.minimum || amount > self.maximum {
            return Err(Error::invalid(
                param,
                format!(
                    "amount must be between {} and {} in the currency's minor unit.",
                    self.minimum, self.maximum
                ),
            ));
        }
        Amount::new(amount).ok_or_else(|| Error::invalid(param, "amount must be positive."))
    }
}

/// A stored line item of a link: a fixed `amount`, or a `custom_amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkItem {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub images: Vec<String>,
    pub amount: Option<i64>,
    pub quantity: i64,
    pub custom_amount: Option<CustomAmount>,
}

/// Where the customer goes once paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AfterCompletion {
    Redirect { url: String },
    HostedConfirmation { custom_message: Option<String> },
}

impl Default for AfterCompletion {
    fn default() -> Self {
        AfterCompletion::HostedConfirmation {
            custom_message: None,
        }
    }
}

/// The custom amount of a session made by a link: its item's position and
/// bounds. The session's totals are the typed amount once paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCustomAmount {
    pub position: i32,
    #[serde(flatten)]
    pub bounds: CustomAmount,
}

/// A link that passed every rule not depending on who asks or when.
#[derive(Debug, Clone)]
pub struct NewPaymentLink {
    pub currency: Currency,
    pub items: Vec<LinkItem>,
    pub payment_method_types: Vec<PaymentMethodKind>,
    pub locale: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub after_completion: AfterCompletion,
    pub completed_limit: Option<i32>,
    pub expires_at: Option<i64>,
}

/// What `POST /api/v1/payment_links/{id}` may change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct PaymentLinkUpdate {
    pub active: Option<bool>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub after_completion: Option<AfterCompletion>,
    pub completed_limit: Option<i32>,
}

impl AfterCompletion {
    /// Live mode redirects to https URLs only.
    pub fn check_context(&self, livemode: bool) -> Result<()> {
        if let AfterCompletion::Redirect { url } = self
            && livemode
            && super::ReturnUrl::parse(url).is_ok_and(|u| !u.is_https())
        {
            return Err(Error::Validation(vec![FieldError::invalid(
                "after_completion.redirect.url",
                "Live mode requires an https URL.",
            )]));
        }
        Ok(())
    }
}
