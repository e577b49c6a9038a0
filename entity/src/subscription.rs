//! SeaORM entity for `subscriptions`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SubscriptionId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub session_id: CheckoutSessionId,
    pub status: SubscriptionStatus,
    pub currency: crate::currency::Currency,
    pub amount: Amount,
    pub recurring_interval: Interval,
    pub recurring_interval_count: i32,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
