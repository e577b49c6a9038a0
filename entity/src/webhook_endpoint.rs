//! SeaORM entity for `webhook_endpoints`. Secrets are stored sealed
//! (AEAD under the server's secrets key), never in clear.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: WebhookEndpointId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub url: String,
    /// JSON array of event types, or `["*"]`.
    pub enabled_events: String,
    pub description: Option<String>,
    pub status: EndpointStatus,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// Since when every attempt has failed (cleared by a success).
    pub failing_since: Option<i64>,
    /// Attempts in a row that got no HTTP answer (timeout, no connection).
    pub unanswered: i32,
    /// Unix ms: the circuit breaker is open until then (no attempts), and
    /// half-open after it (one trial) until an answer clears it.
    pub breaker_until: Option<i64>,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
