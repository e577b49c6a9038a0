//! Checkout sessions on the wire: the create body (with its field-shape
//! rules), list queries, the session objects and the public view.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::domain::{
    Currency, IntentStatus, Interval, Mode, PaymentMethodKind, PaymentStatus, Provider, ReturnUrl,
    SessionStatus,
};

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringInput {
    #[schema(required = true, nullable = false)]
    #[validate(required(message = "Missing required param: interval."))]
    pub interval: Option<Interval>,
    #[validate(range(
        min = 1,
        max = 365,
        message = "interval_count must be between 1 and 365."
    ))]
    #[serde(default)]
    pub interval_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// 1–250 characters after trimming, no control characters.
    #[schema(required = true, nullable = false)]
    #[validate(required, custom(function = "valid_name"))]
    pub name: Option<String>,
    /// Unit price in the currency's minor unit (XOF has none: 50000 = 50 000 F CFA).
    #[validate(
        required,
        range(
            min = 1,
            message = "Amount must be a positive integer in the currency's minor unit."
        )
    )]
    #[schema(required = true, nullable = false, minimum = 1, example = 50000)]
    pub amount: Option<i64>,
    /// ISO 4217, case-insensitive.
    #[validate(required, custom(function = "valid_currency"))]
    #[schema(required = true, nullable = false)]
    pub currency: Option<String>,
    #[validate(
        required,
        range(
            min = 1,
            max = 10000,
            message = "Quantity must be between 1 and 10000."
        )
    )]
    #[schema(
        required = true,
        nullable = false,
        minimum = 1,
        maximum = 10000,
        example = 1
    )]
    pub quantity: Option<i64>,
    #[validate(length(max = 500, message = "Description must be at most 500 characters."))]
    pub description: Option<String>,
    /// Up to 8 https image URLs.
    #[validate(custom(function = "valid_images"))]
    pub images: Option<Vec<String>>,
    #[validate(nested)]
    pub recurring: Option<RecurringInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "line_items": [{"name": "Premium Plan", "amount": 50000, "currency": "XOF", "quantity": 1}],
    "mode": "payment",
    "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://yoursite.com/cancel"
}))]
pub struct CreateCheckoutSessionRequest {
    #[validate(
        required,
        length(min = 1, max = 100, message = "Provide between 1 and 100 line items."),
        nested
    )]
    /// 1–100 items, all in one currency.
    #[schema(required = true, nullable = false, min_items = 1, max_items = 100)]
    pub line_items: Option<Vec<LineItemInput>>,
    #[schema(required = true, nullable = false)]
    #[validate(required)]
    pub mode: Option<Mode>,
    /// Absolute http(s) URL; `{CHECKOUT_SESSION_ID}` is replaced on redirect.
    #[validate(required, custom(function = "valid_return_url"))]
    #[schema(required = true, nullable = false)]
    pub success_url: Option<String>,
    #[validate(custom(function = "valid_return_url"))]
    pub cancel_url: Option<String>,
    /// Optional; must equal the items' currency.
    #[validate(custom(function = "valid_currency"))]
    pub currency: Option<String>,
    #[validate(email(message = "customer_email must be a valid email address."))]
    pub customer_email: Option<String>,
    #[validate(length(
        max = 200,
        message = "client_reference_id must be at most 200 characters."
    ))]
    pub client_reference_id: Option<String>,
    /// Up to 50 string keys (≤ 40 chars) with string values (≤ 500 chars).
    #[validate(custom(function = "valid_metadata"))]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Unix seconds, 30 minutes to 24 hours from now (checked against the
    /// server's clock). Default: 24 hours.
    pub expires_at: Option<i64>,
    /// `auto` or any BCP-47 tag, resolved to `fr` or `en` (never an error).
    pub locale: Option<String>,
    #[validate(length(min = 1, message = "payment_method_types must not be empty."))]
    pub payment_method_types: Option<Vec<PaymentMethodKind>>,
}

pub(crate) fn err(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

pub(crate) fn valid_name(name: &str) -> Result<(), ValidationError> {
    let t = name.trim();
    let n = t.chars().count();
    if n == 0 || n > 250 {
        return Err(err("length", "Name must be 1–250 characters.".into()));
    }
    if t.chars().any(char::is_control) {
        return Err(err(
            "control",
            "Name must not contain control characters.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn valid_currency(c: &str) -> Result<(), ValidationError> {
    Currency::parse(c).map(|_| ()).ok_or_else(|| {
        err(
            "currency",
            "Currency must be an ISO 4217 code such as XOF.".into(),
        )
    })
}

pub(crate) fn valid_return_url(u: &str) -> Result<(), ValidationError> {
    ReturnUrl::parse(u)
        .map(|_| ())
        .map_err(|m| err("url", format!("URL {m}.")))
}

pub(crate) fn valid_images(images: &[String]) -> Result<(), ValidationError> {
    if images.len() > 8 {
        return Err(err("images", "At most 8 images are allowed.".into()));
    }
    for (i, u) in images.iter().enumerate() {
        let ok = u.len() <= 2048
            && url::Url::parse(u).is_ok_and(|p| p.scheme() == "https" && p.host_str().is_some());
        if !ok {
            return Err(err(
                "images",
                format!("Image {i} must be an https URL of at most 2048 characters."),
            ));
        }
    }
    Ok(())
}

pub(crate) fn valid_metadata(m: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if m.len() > 50 {
        return Err(err("metadata", "metadata may have at most 50 keys.".into()));
    }
    for (k, v) in m {
        if k.is_empty() || k.chars().count() > 40 {
            return Err(err(
                "metadata",
                "metadata keys must be 1–40 characters.".into(),
            ));
        }
        if v.chars().count() > 500 {
            return Err(err(
                "metadata",
                format!("metadata value for '{k}' must be at most 500 characters."),
            ));
        }
    }
    Ok(())
}

/// `GET /api/v1/checkout/sessions` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSessionsQuery {
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A session id: return the page after it (older).
    #[param(min_length = 1)]
    pub starting_after: Option<String>,
    /// A session id: return the page before it (newer).
    #[param(min_length = 1)]
    pub ending_before: Option<String>,
    /// `open`, `complete` or `expired`.
    #[param(pattern = "^(open|complete|expired)$")]
    pub status: Option<String>,
    #[serde(rename = "created[gte]")]
    #[param(rename = "created[gte]")]
    pub created_gte: Option<i64>,
    #[serde(rename = "created[lte]")]
    #[param(rename = "created[lte]")]
    pub created_lte: Option<i64>,
    /// The session of this payment intent.
    pub payment_intent: Option<String>,
    /// Sessions created with this `client_reference_id` (exact match).
    pub client_reference_id: Option<String>,
    /// Sessions created with this `customer_email` (exact match).
    pub customer_email: Option<String>,
    /// Sessions made by this payment link (`plink_…`).
    pub payment_link: Option<String>,
}

/// Pagination of a session's line items.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListLineItemsQuery {
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A line item id of this session.
    #[param(min_length = 1)]
    pub starting_after: Option<String>,
    /// A line item id of this session.
    #[param(min_length = 1)]
    pub ending_before: Option<String>,
}

// ----- responses -----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecurringOut {
    pub interval: Interval,
    pub interval_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineItemOut {
    /// `li_…`
    pub id: String,
    /// Always `item`.
    pub object: &'static str,
    pub name: String,
    pub description: Option<String>,
    pub images: Vec<String>,
    /// Unit amount, minor units.
    pub amount: i64,
    pub quantity: i64,
    /// amount × quantity, minor units.
    pub amount_total: i64,
    pub currency: String,
    pub recurring: Option<RecurringOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineItemList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<LineItemOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6", "object": "checkout.session",
    "url": "http://127.0.0.1:8080/checkout/cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
    "status": "open", "payment_status": "unpaid", "mode": "payment", "currency": "XOF",
    "amount_subtotal": 50000, "amount_total": 50000,
    "line_items": {"object": "list", "data": [{"id": "li_Q1w2E3r4T5y6U7i8O9p0A1s2", "object": "item", "name": "Premium Plan",
        "description": null, "images": [], "amount": 50000, "quantity": 1, "amount_total": 50000, "currency": "XOF", "recurring": null}],
        "has_more": false, "url": "/api/v1/checkout/sessions/cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6/line_items"},
    "payment_intent": "pi_Z9x8C7v6B5n4M3l2K1j0H9g8", "subscription": null,
    "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://yoursite.com/cancel", "customer_email": null, "client_reference_id": null,
    "metadata": {}, "locale": "auto", "payment_method_types": ["card", "mobile_money"], "livemode": false,
    "created": 1795000000, "expires_at": 1795086400, "completed_at": null, "payment_link": null
}))]
pub struct CheckoutSessionOut {
    /// `cs_test_…` or `cs_live_…`
    pub id: String,
    /// Always `checkout.session`.
    pub object: &'static str,
    /// The hosted checkout page.
    pub url: String,
    /// `open`, `complete` or `expired`.
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub mode: Mode,
    pub currency: String,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub line_items: LineItemList,
    /// `pi_…`; the payment intent itself with `expand[]=payment_intent`.
    pub payment_intent: super::ExpandableIntent,
    /// `sub_…` once a subscription-mode session is paid.
    pub subscription: Option<String>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub locale: String,
    pub payment_method_types: Vec<PaymentMethodKind>,
    pub livemode: bool,
    /// Unix seconds.
    pub created: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    /// `plink_…` when a payment link's visit made this session.
    pub payment_link: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckoutSessionList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<CheckoutSessionOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantPublic {
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicLineItem {
    pub name: String,
    pub description: Option<String>,
    pub images: Vec<String>,
    pub amount: i64,
    pub quantity: i64,
    pub amount_total: i64,
    pub currency: String,
    pub recurring: Option<RecurringOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicPaymentIntent {
    pub status: IntentStatus,
    pub last_payment_error: Option<PaymentError>,
    /// While `processing`: what the payment waits for.
    pub next_action: Option<NextActionOut>,
}

/// `approve_on_phone`: the customer approves the push on their phone
/// (`provider` says whose); `redirect_to_url`: the customer pays at the
/// provider (`redirect_url`, Wave's payment page).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextActionOut {
    pub r#type: NextActionType,
    pub provider: Option<String>,
    pub redirect_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NextActionType {
    ApproveOnPhone,
    RedirectToUrl,
}

/// What this session can be paid with: its mode and the merchant's
/// connectors decide (test mode without connectors: everything).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethodsOut {
    pub card: bool,
    pub mobile_money: Vec<Provider>,
}

/// Why the last attempt failed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PaymentError {
    /// `card_error`
    pub r#type: String,
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

/// What the hosted page shows: no metadata, references, email or success URL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCheckoutSession {
    pub id: String,
    /// Always `checkout.session.public`.
    pub object: &'static str,
    pub merchant: MerchantPublic,
    pub mode: Mode,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub currency: String,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub line_items: Vec<PublicLineItem>,
    pub payment_intent: PublicPaymentIntent,
    pub locale: String,
    pub payment_method_types: Vec<PaymentMethodKind>,
    pub payment_methods: PaymentMethodsOut,
    pub cancel_url: Option<String>,
    pub expires_at: i64,
    pub livemode: bool,
    /// A payment link's custom amount: the customer types an amount within
    /// these bounds and pays with it (`amount` in the pay body).
    pub custom_amount: Option<super::CustomAmountOut>,
}
