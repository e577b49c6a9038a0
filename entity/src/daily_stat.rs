//! SeaORM entity for `daily_stats`: the dashboard rollup per merchant, mode
//! (livemode), UTC day and currency, in sharded slots (readers sum them).
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "daily_stats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub merchant_id: MerchantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub livemode: bool,
    /// Unix day number (seconds / 86 400) of the session's creation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: crate::currency::Currency,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i32,
    pub created: i64,
    pub completed: i64,
    pub expired: i64,
    /// Paid sessions' totals, minor units.
    pub gross_volume: i64,
    /// Succeeded refunds, by the day the refund was created, minor units.
    pub refunded: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
