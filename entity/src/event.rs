//! SeaORM entity for `events` (the outbox).
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EventId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub r#type: String,
    pub object_id: String,
    pub created: i64,
    pub sort_key: String,
    /// The whole event as sent: byte-identical on every delivery.
    pub payload: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
