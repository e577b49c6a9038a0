//! SeaORM entity for `payment_intents`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_intents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PaymentIntentId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub session_id: CheckoutSessionId,
    pub amount: Amount,
    pub currency: crate::currency::Currency,
    pub status: IntentStatus,
    pub attempt_id: Option<String>,
    pub payment_method: Option<String>,
    pub last_payment_error: Option<String>,
    pub pending_outcome: Option<String>,
    pub settle_at: Option<i64>,
    pub created: i64,
    pub updated: i64,
    /// Pending and succeeded refunds: never above `amount` (a conditional
    /// update in each refund's transaction).
    pub amount_refunded: Amount,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
