//! SeaORM entity for `provider_notifications`: provider event ids applied.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connector_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub received: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
