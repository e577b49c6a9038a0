//! SeaORM entity for `connectors`.
use sea_orm::entity::prelude::*;

use crate::types::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connectors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ConnectorId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub kind: ConnectorType,
    pub status: ConnectorStatus,
    /// The credentials' JSON, sealed under the secrets key (`v1:…`).
    pub credentials: String,
    /// JSON object: credential name → `••••<last 4>`.
    pub credentials_hint: String,
    pub description: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub deleted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
