//! SeaORM entity for `payments`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub payment_intent_id: PaymentIntentId,
    pub session_id: CheckoutSessionId,
    pub status: ChargeStatus,
    pub amount: Amount,
    pub currency: crate::currency::Currency,
    pub payment_method: String,
    pub failure_code: Option<String>,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
