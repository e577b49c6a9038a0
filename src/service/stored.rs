//! The columns stored as text (lists and JSON), decoded in one place for
//! every front end.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li, payment_intent as pi};

use crate::wire::{PaymentError, PaymentMethodSummary};

/// `card`, `mobile_money`, in the order the merchant gave them.
pub fn payment_methods(s: &cs::Model) -> Vec<String> {
    s.payment_method_types
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn accepts(s: &cs::Model, method: crate::domain::PaymentMethodKind) -> bool {
    s.payment_method_types
        .split(',')
        .any(|m| m == method.as_str())
}

pub fn metadata(s: &cs::Model) -> BTreeMap<String, String> {
    serde_json::from_str(&s.metadata).unwrap_or_default()
}

pub fn images(i: &li::Model) -> Vec<String> {
    serde_json::from_str(&i.images).unwrap_or_default()
}

pub fn last_payment_error(i: &pi::Model) -> Option<PaymentError> {
    serde_json::from_str(i.last_payment_error.as_deref()?).ok()
}

/// Brand + last4 or provider + masked phone: never a full number.
pub fn payment_method(i: &pi::Model) -> Option<PaymentMethodSummary> {
    serde_json::from_str(i.payment_method.as_deref()?).ok()
}
