//! SeaORM entity for `line_items`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "line_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: LineItemId,
    pub session_id: CheckoutSessionId,
    pub position: i32,
    pub name: String,
    pub description: Option<String>,
    pub images: String,
    pub amount: Amount,
    pub currency: crate::currency::Currency,
    pub quantity: i64,
    pub amount_total: Amount,
    pub recurring_interval: Option<Interval>,
    pub recurring_interval_count: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::checkout_session::Entity",
        from = "Column::SessionId",
        to = "super::checkout_session::Column::Id"
    )]
    Session,
}

impl Related<super::checkout_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
