//! Refunds on the wire (SPEC §5 "Refunds").
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::domain::{RefundReason, RefundStatus};

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payment_intent": "pi_Z9x8C7v6B5n4M3l2K1j0H9g8", "amount": 10000, "reason": "requested_by_customer"}))]
pub struct CreateRefundRequest {
    /// `pi_…`: a succeeded payment intent.
    pub payment_intent: String,
    /// Minor units; default: all that is left to refund.
    #[validate(range(
        min = 1,
        max = 1_000_000_000_000i64,
        message = "amount must be a positive integer in minor units."
    ))]
    pub amount: Option<i64>,
    pub reason: Option<RefundReason>,
    /// Up to 50 string keys and values.
    #[validate(custom(function = "super::checkout::valid_metadata"))]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "re_Kq2Lw9Xm3Nb8Vc7Zt6Yr5Us4", "object": "refund", "amount": 10000, "currency": "XOF",
    "payment_intent": "pi_Z9x8C7v6B5n4M3l2K1j0H9g8", "status": "succeeded", "reason": "requested_by_customer",
    "failure_reason": null, "metadata": {}, "created": 1795000000}))]
pub struct RefundOut {
    /// `re_…`
    pub id: String,
    /// Always `refund`.
    pub object: &'static str,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// `pi_…`
    pub payment_intent: String,
    pub status: RefundStatus,
    pub reason: Option<RefundReason>,
    /// Why a `failed` refund failed, such as `expired_or_canceled_card`.
    pub failure_reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<RefundOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRefundsQuery {
    /// Only this payment intent's refunds.
    pub payment_intent: Option<String>,
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A refund id: the page after it (older).
    pub starting_after: Option<String>,
}
