//! SeaORM entity for `provider_attempts` (see the connectors migration).
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_attempts")]
pub struct Model {
    /// The payment attempt (`py_…`), as on the intent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub attempt_id: String,
    pub payment_intent_id: PaymentIntentId,
    pub connector_id: ConnectorId,
    /// What the provider knows the attempt by (chosen before the call).
    pub reference: String,
    /// The provider's own id, once it answered (Wave's `cos-…`).
    pub provider_id: Option<String>,
    /// Where the customer pays (Wave's `wave_launch_url`).
    pub redirect_url: Option<String>,
    /// The payer's number, sealed (a resend needs it; never shown).
    pub payer: Option<String>,
    pub amount: i64,
    pub currency: crate::currency::Currency,
    /// `processing` until the intent settles, then `final`.
    pub state: String,
    /// Sent a second time (same reference) after the provider said it never got it.
    pub resent: bool,
    pub polls: i32,
    /// Unix milliseconds.
    pub next_poll_at: i64,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
