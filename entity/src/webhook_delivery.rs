//! SeaORM entity for `webhook_deliveries`: one row per attempt. Times
//! used for scheduling (`next_attempt_at`, `lease_until`, `created`) are
//! unix milliseconds.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: String,
    /// Unix seconds: retries stop 3 days after it.
    pub event_created: i64,
    pub attempt: i32,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub response_status: Option<i32>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub created: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
