//! SeaORM entity for `refunds`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RefundId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub payment_intent_id: PaymentIntentId,
    pub amount: Amount,
    pub currency: crate::currency::Currency,
    pub status: RefundStatus,
    pub reason: Option<RefundReason>,
    pub failure_reason: Option<String>,
    /// JSON object of strings.
    pub metadata: String,
    /// How a pending refund ends (`succeed` or a failure reason), so it
    /// survives a restart; with `settle_at`, unix seconds.
    pub pending_outcome: Option<String>,
    pub settle_at: Option<i64>,
    pub created: i64,
    /// The `Idempotency-Key` it was created with (unique per merchant and mode).
    pub idempotency_key: Option<String>,
    /// The connector the payment went through (none: the test processor).
    pub connector_id: Option<String>,
    /// The provider's reference for this refund (MTN's `X-Reference-Id`),
    /// chosen before the call.
    pub provider_ref: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
