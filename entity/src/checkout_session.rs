//! SeaORM entity for `checkout_sessions`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkout_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CheckoutSessionId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub mode: Mode,
    pub currency: crate::currency::Currency,
    pub amount_subtotal: Amount,
    pub amount_total: Amount,
    pub line_item_count: i32,
    pub payment_intent_id: PaymentIntentId,
    pub subscription_id: Option<SubscriptionId>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: String,
    pub locale: String,
    pub payment_method_types: String,
    pub created: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    /// The payment link whose visit made this session.
    pub payment_link_id: Option<PaymentLinkId>,
    /// JSON: the bounds of a customer-typed amount (a payment link's).
    pub custom_amount: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::payment_intent::Entity",
        from = "Column::PaymentIntentId",
        to = "super::payment_intent::Column::Id"
    )]
    PaymentIntent,
    #[sea_orm(has_many = "super::line_item::Entity")]
    LineItems,
}

impl Related<super::payment_intent::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentIntent.def()
    }
}

impl Related<super::line_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LineItems.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
