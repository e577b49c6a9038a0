//! SeaORM entity for `payment_links`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PaymentLinkId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub active: bool,
    pub currency: crate::currency::Currency,
    /// JSON: the stored line items (one may carry a custom amount).
    pub line_items: String,
    pub payment_method_types: String,
    pub locale: String,
    pub metadata: String,
    /// JSON: `{"type":"redirect","url":…}` or `{"type":"hosted_confirmation","custom_message":…}`.
    pub after_completion: String,
    pub completed_limit: Option<i32>,
    /// Sessions paid or being paid (see the migration).
    pub taken: i32,
    pub completed_sessions: i64,
    pub volume: i64,
    pub expires_at: Option<i64>,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
