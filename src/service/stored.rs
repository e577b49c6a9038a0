//! The columns stored as text (lists and JSON), decoded in one place for
//! every front end. Their storage types are versioned apart from the wire
//! types (`wire::present` converts); a value that does not decode is an
//! error naming the row, never a default.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li, payment_intent as pi, payment_link as pl};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::domain::PaymentMethodKind;
use crate::domain::payment_link::{AfterCompletion, LinkItem, SessionCustomAmount};
use crate::error::{Error, Result};

/// `payment_intents.payment_method`: brand + last4 or provider + masked
/// phone, never a full number. `type` is `card`, `mobile_money` or `test_helper`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPaymentMethod {
    pub r#type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_year: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl StoredPaymentMethod {
    /// A summary of `type` with no details yet.
    pub fn of_type(r#type: &str) -> Self {
        StoredPaymentMethod {
            r#type: r#type.into(),
            brand: None,
            last4: None,
            exp_month: None,
            exp_year: None,
            provider: None,
            phone: None,
        }
    }
}

/// `payment_intents.last_payment_error`: why the last attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPaymentError {
    pub r#type: String,
    pub code: String,
    #[serde(default)]
    pub decline_code: Option<String>,
    pub message: String,
}

fn corrupt(column: &str, row: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("corrupt {column} in row {row}: {e}"))
}

fn decode<T: DeserializeOwned>(text: &str, column: &str, row: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, row, e))
}

/// `card`, `mobile_money`, in the order the merchant gave them.
pub fn payment_methods(s: &cs::Model) -> Result<Vec<PaymentMethodKind>> {
    methods(
        &s.payment_method_types,
        "checkout_sessions.payment_method_types",
        &s.id,
    )
}

/// A comma-separated list of methods (sessions, payment links).
fn methods(text: &str, column: &str, row: &str) -> Result<Vec<PaymentMethodKind>> {
    text.split(',')
        .filter(|m| !m.is_empty())
        .map(|m| PaymentMethodKind::parse(m).ok_or_else(|| corrupt(column, row, m)))
        .collect()
}

pub fn accepts(s: &cs::Model, method: PaymentMethodKind) -> bool {
    s.payment_method_types
        .split(',')
        .any(|m| m == method.as_str())
}

pub fn metadata(s: &cs::Model) -> Result<BTreeMap<String, String>> {
    decode(&s.metadata, "checkout_sessions.metadata", &s.id)
}

pub fn images(i: &li::Model) -> Result<Vec<String>> {
    decode(&i.images, "line_items.images", &i.id)
}

pub fn last_payment_error(i: &pi::Model) -> Result<Option<StoredPaymentError>> {
    i.last_payment_error
        .as_deref()
        .map(|t| decode(t, "payment_intents.last_payment_error", &i.id))
        .transpose()
}

pub fn payment_method(i: &pi::Model) -> Result<Option<StoredPaymentMethod>> {
    i.payment_method
        .as_deref()
        .map(|t| decode(t, "payment_intents.payment_method", &i.id))
        .transpose()
}

/// The stored JSON of `v` (for `column`); a value that does not serialise is
/// an error, never an empty string.
pub fn encode<T: Serialize>(v: &T, column: &str) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| Error::Internal(format!("{column}: not serialisable: {e}")))
}

/// `payment_links.line_items`.
pub fn link_items(l: &pl::Model) -> Result<Vec<LinkItem>> {
    decode(&l.line_items, "payment_links.line_items", &l.id)
}

pub fn link_metadata(l: &pl::Model) -> Result<BTreeMap<String, String>> {
    decode(&l.metadata, "payment_links.metadata", &l.id)
}

pub fn after_completion(l: &pl::Model) -> Result<AfterCompletion> {
    decode(&l.after_completion, "payment_links.after_completion", &l.id)
}

pub fn link_payment_methods(l: &pl::Model) -> Result<Vec<PaymentMethodKind>> {
    methods(
        &l.payment_method_types,
        "payment_links.payment_method_types",
        &l.id,
    )
}

/// `checkout_sessions.custom_amount`: the bounds of a typed amount.
pub fn custom_amount(s: &cs::Model) -> Result<Option<SessionCustomAmount>> {
    s.custom_amount
        .as_deref()
        .map(|t| decode(t, "checkout_sessions.custom_amount", &s.id))
        .transpose()
}
