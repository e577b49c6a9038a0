//! Paying on the wire: the pay body (card digits only in `Sensitive`), its
//! answer, payment intents and subscriptions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checkout::{PaymentError, PublicCheckoutSession, RecurringOut};
use crate::domain::{IntentStatus, PaymentMethodKind, Provider, SubscriptionStatus};

/// A card number or security code: used for this payment only, never stored, logged or echoed.
// (Its `Debug` prints a placeholder, so it cannot reach a log.)
#[derive(Clone, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct Sensitive(pub String);

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    /// 13–19 digits, Luhn-valid. Spaces are ignored.
    #[schema(example = "4242424242424242", required = true, nullable = false)]
    pub number: Option<Sensitive>,
    /// 1–12.
    #[schema(
        required = true,
        nullable = false,
        minimum = 1,
        maximum = 12,
        example = 12
    )]
    pub exp_month: Option<i64>,
    /// Four digits (two are read as 20YY); not in the past.
    #[schema(required = true, nullable = false, example = 2030)]
    pub exp_year: Option<i64>,
    /// 3 or 4 digits.
    #[schema(example = "123", required = true, nullable = false)]
    pub cvc: Option<Sensitive>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MobileMoneyInput {
    #[schema(value_type = Provider, required = true, nullable = false)]
    pub provider: Option<String>,
    /// E.164, such as `+2250700000000`.
    #[schema(required = true, nullable = false, example = "+2250700000000")]
    pub phone: Option<String>,
}

/// One of `card` / `mobile_money`, with the matching sub-object.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodInput {
    #[schema(required = true, nullable = false)]
    pub r#type: Option<PaymentMethodKind>,
    /// Required when `type` is `card`.
    pub card: Option<CardInput>,
    /// Required when `type` is `mobile_money`.
    pub mobile_money: Option<MobileMoneyInput>,
}

/// Amount and currency always come from the session: the body cannot carry them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payment_method": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}, "email": "buyer@example.com"}))]
pub struct PayRequest {
    #[schema(required = true, nullable = false)]
    pub payment_method: Option<PaymentMethodInput>,
    /// The customer's email, for the receipt.
    pub email: Option<String>,
    /// Only for a payment link's custom amount (`custom_amount` in the
    /// session's public view): the amount the customer typed, in minor
    /// units, within its bounds. Refused for any other session.
    #[schema(minimum = 1, example = 25000)]
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayIntentRef {
    pub id: String,
    pub status: IntentStatus,
}

/// The one answer of the pay route.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayResponse {
    /// `succeeded` or `processing`.
    pub status: IntentStatus,
    pub payment_intent: PayIntentRef,
    pub session: PublicCheckoutSession,
    /// success_url with the session id substituted; null while processing.
    pub redirect_url: Option<String>,
}

/// How a payment was made (`test_helper`: by a test-mode helper route).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a contract type: the wire value is the stored string
pub enum PaymentMethodSummaryType {
    Card,
    MobileMoney,
    TestHelper,
}

/// Card or mobile-money summary: never a full number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PaymentMethodSummary {
    #[schema(value_type = PaymentMethodSummaryType)]
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp_month: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp_year: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Such as `+225******0000`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentIntentOut {
    /// `pi_…`
    pub id: String,
    /// Always `payment_intent`.
    pub object: &'static str,
    pub status: IntentStatus,
    pub amount: i64,
    /// Pending and succeeded refunds, minor units.
    pub amount_refunded: i64,
    pub currency: String,
    pub checkout_session: String,
    pub payment_method: Option<PaymentMethodSummary>,
    pub last_payment_error: Option<PaymentError>,
    pub livemode: bool,
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionItemOut {
    pub name: String,
    pub amount: i64,
    pub quantity: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionOut {
    /// `sub_…`
    pub id: String,
    /// Always `subscription`.
    pub object: &'static str,
    pub status: SubscriptionStatus,
    pub currency: String,
    /// Amount per period, minor units.
    pub amount: i64,
    pub items: Vec<SubscriptionItemOut>,
    pub recurring: RecurringOut,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub checkout_session: String,
    pub livemode: bool,
    pub created: i64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscriptionRequest {
    /// Cancel at the end of the current period instead of now. Default false.
    pub at_period_end: Option<bool>,
}

/// Body of POST routes that take no parameters: empty or `{}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}
