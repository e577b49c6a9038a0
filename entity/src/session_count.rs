//! SeaORM entity for `session_counts`: sessions created, completed and expired
//! per merchant, mode and currency, in sharded slots (readers sum them).
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub merchant_id: MerchantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub livemode: bool,
    #[sea_orm(primary_key, auto_increment = false)]
    pub mode: Mode,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: crate::currency::Currency,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i32,
    pub created: i64,
    pub completed: i64,
    pub expired: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
