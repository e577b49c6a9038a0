//! Payment links on the wire (SPEC §12): the create and update bodies (with
//! their field-shape rules, the same as a session's), the list query and
//! the link object.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::checkout::{valid_currency, valid_images, valid_metadata, valid_name, valid_return_url};
use crate::domain::PaymentMethodKind;

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomAmountInput {
    /// Smallest amount the customer may type (minor units); default 1.
    #[validate(range(
        min = 1,
        max = 1_000_000_000_000i64,
        message = "minimum must be a positive integer in the currency's minor unit."
    ))]
    pub minimum: Option<i64>,
    /// Largest amount the customer may type; default: the largest total.
    #[validate(range(
        min = 1,
        max = 1_000_000_000_000i64,
        message = "maximum must be a positive integer in the currency's minor unit."
    ))]
    pub maximum: Option<i64>,
    /// The amount the page suggests.
    #[validate(range(
        min = 1,
        max = 1_000_000_000_000i64,
        message = "preset must be a positive integer in the currency's minor unit."
    ))]
    pub preset: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentLinkLineItemInput {
    /// 1–250 characters after trimming, no control characters.
    #[schema(required = true, nullable = false)]
    #[validate(required, custom(function = "valid_name"))]
    pub name: Option<String>,
    /// Unit price in minor units; or give `custom_amount` instead.
    #[validate(range(
        min = 1,
        message = "Amount must be a positive integer in the currency's minor unit."
    ))]
    #[schema(minimum = 1, example = 5000)]
    pub amount: Option<i64>,
    /// The customer types the amount, within these bounds (one item at most, quantity 1).
    #[validate(nested)]
    pub custom_amount: Option<CustomAmountInput>,
    /// ISO 4217, case-insensitive.
    #[validate(required, custom(function = "valid_currency"))]
    #[schema(required = true, nullable = false)]
    pub currency: Option<String>,
    /// Default 1.
    #[validate(range(
        min = 1,
        max = 10000,
        message = "Quantity must be between 1 and 10000."
    ))]
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: Option<i64>,
    #[validate(length(max = 500, message = "Description must be at most 500 characters."))]
    pub description: Option<String>,
    /// Up to 8 https image URLs.
    #[validate(custom(function = "valid_images"))]
    pub images: Option<Vec<String>>,
}

/// `redirect`: to the merchant's URL; `hosted_confirmation`: our page with the merchant's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterCompletionType {
    Redirect,
    HostedConfirmation,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectInput {
    /// Absolute http(s) URL; `{CHECKOUT_SESSION_ID}` is replaced.
    #[validate(required, custom(function = "valid_return_url"))]
    #[schema(required = true, nullable = false)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedConfirmationInput {
    /// Shown on the confirmation page (≤ 500 characters).
    #[validate(length(max = 500, message = "custom_message must be at most 500 characters."))]
    pub custom_message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterCompletionInput {
    #[validate(required)]
    #[schema(required = true, nullable = false)]
    pub r#type: Option<AfterCompletionType>,
    #[validate(nested)]
    pub redirect: Option<RedirectInput>,
    #[validate(nested)]
    pub hosted_confirmation: Option<HostedConfirmationInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedSessionsInput {
    /// How many sessions of this link may be paid (1–1 000 000).
    #[validate(
        required,
        range(
            min = 1,
            max = 1_000_000,
            message = "limit must be between 1 and 1000000."
        )
    )]
    #[schema(required = true, nullable = false, minimum = 1, maximum = 1000000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionsInput {
    #[validate(required, nested)]
    #[schema(required = true, nullable = false)]
    pub completed_sessions: Option<CompletedSessionsInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "line_items": [{"name": "Pagne wax 6 yards", "amount": 15000, "currency": "XOF", "quantity": 1}],
    "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Merci ! Livraison sous 48 h."}},
    "restrictions": {"completed_sessions": {"limit": 20}}
}))]
pub struct CreatePaymentLinkRequest {
    /// 1–20 items, all in one currency.
    #[validate(
        required,
        length(min = 1, max = 20, message = "Provide between 1 and 20 line items."),
        nested
    )]
    #[schema(required = true, nullable = false, min_items = 1, max_items = 20)]
    pub line_items: Option<Vec<PaymentLinkLineItemInput>>,
    #[validate(length(min = 1, message = "payment_method_types must not be empty."))]
    pub payment_method_types: Option<Vec<PaymentMethodKind>>,
    /// `auto` or any BCP-47 tag, resolved to `fr` or `en`.
    pub locale: Option<String>,
    /// Copied to every session the link makes.
    #[validate(custom(function = "valid_metadata"))]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Default: our confirmation page.
    #[validate(nested)]
    pub after_completion: Option<AfterCompletionInput>,
    #[validate(nested)]
    pub restrictions: Option<RestrictionsInput>,
    /// Unix seconds, in the future: the link stops making sessions then.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentLinkRequest {
    /// `false` stops new sessions (open ones can still be paid).
    pub active: Option<bool>,
    /// Replaces the metadata.
    #[validate(custom(function = "valid_metadata"))]
    pub metadata: Option<BTreeMap<String, String>>,
    #[validate(nested)]
    pub after_completion: Option<AfterCompletionInput>,
    #[validate(nested)]
    pub restrictions: Option<RestrictionsInput>,
}

/// `GET /api/v1/payment_links` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentLinksQuery {
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A link id: the page after it (older).
    #[param(min_length = 1)]
    pub starting_after: Option<String>,
    /// A link id: the page before it (newer).
    #[param(min_length = 1)]
    pub ending_before: Option<String>,
    /// Only active (`true`) or inactive (`false`) links.
    pub active: Option<bool>,
}

// ----- responses -----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomAmountOut {
    pub minimum: i64,
    pub maximum: i64,
    pub preset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentLinkLineItemOut {
    /// `li_…`
    pub id: String,
    /// Always `item`.
    pub object: &'static str,
    pub name: String,
    pub description: Option<String>,
    pub images: Vec<String>,
    /// Unit amount, minor units; null for a custom amount.
    pub amount: Option<i64>,
    pub quantity: i64,
    /// amount × quantity; null for a custom amount.
    pub amount_total: Option<i64>,
    pub currency: String,
    pub custom_amount: Option<CustomAmountOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentLinkLineItemList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<PaymentLinkLineItemOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RedirectOut {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HostedConfirmationOut {
    pub custom_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AfterCompletionOut {
    pub r#type: AfterCompletionType,
    pub redirect: Option<RedirectOut>,
    pub hosted_confirmation: Option<HostedConfirmationOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompletedSessionsOut {
    /// Paid sessions so far.
    pub count: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RestrictionsOut {
    pub completed_sessions: CompletedSessionsOut,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentLinkOut {
    /// `plink_…`
    pub id: String,
    /// Always `payment_link`.
    pub object: &'static str,
    /// The public link: share it, or its QR code (`{url}/qr.svg`).
    pub url: String,
    pub active: bool,
    pub currency: String,
    pub line_items: PaymentLinkLineItemList,
    pub payment_method_types: Vec<PaymentMethodKind>,
    pub locale: String,
    pub metadata: BTreeMap<String, String>,
    pub after_completion: AfterCompletionOut,
    pub restrictions: Option<RestrictionsOut>,
    /// Paid sessions made by this link.
    pub completed_sessions: i64,
    /// What they collected, minor units.
    pub amount_collected: i64,
    pub livemode: bool,
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentLinkList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<PaymentLinkOut>,
    pub has_more: bool,
    pub url: String,
}
