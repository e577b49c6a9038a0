//! Connectors on the wire: credentials go in once and come back
//! only as `••••<last 4>`.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{ConnectorStatus, ConnectorType};
use crate::error::{Error, Result};

/// `mtn_momo`: `subscription_key`, `api_user`, `api_key`,
/// `target_environment` (`sandbox` in test mode; `mtnivorycoast`… in live),
/// optional `disbursement: {subscription_key, api_user, api_key}` for
/// refunds. `wave`: `api_key`, `webhook_secret`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "wave", "credentials": {"api_key": "wave_ci_prod_…", "webhook_secret": "wave_ci_WHS_…"}, "description": "Boutique Wave"}))]
pub struct CreateConnectorRequest {
    pub r#type: ConnectorType,
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnectorRequest {
    /// Replaces every credential (checked with the provider first).
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Value>,
    /// `true` stops new payments through it; `false` enables it again.
    pub disabled: Option<bool>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorOut {
    /// `conn_…`
    pub id: String,
    /// Always `connector`.
    pub object: &'static str,
    pub r#type: ConnectorType,
    pub status: ConnectorStatus,
    pub livemode: bool,
    /// Each credential as `••••<last 4>`: never the value.
    #[schema(value_type = Object)]
    pub credentials: BTreeMap<String, String>,
    /// The address to register at the provider (MTN's callback host, Wave's webhook).
    pub notification_url: String,
    pub description: Option<String>,
    pub created: i64,
}

impl ConnectorOut {
    pub fn new(c: &entity::connector::Model, notification_url: String) -> Result<ConnectorOut> {
        let credentials = serde_json::from_str(&c.credentials_hint)
            .map_err(|e| Error::Internal(format!("connectors.credentials_hint: {e}")))?;
        Ok(ConnectorOut {
            id: c.id.to_string(),
            object: "connector",
            r#type: c.kind,
            status: c.status,
            livemode: c.livemode,
            credentials,
            notification_url,
            description: c.description.clone(),
            created: c.created,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<ConnectorOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedConnector {
    pub id: String,
    /// Always `connector`.
    pub object: &'static str,
    pub deleted: bool,
}

/// The credentials' rules run in the service (they depend on the type).
impl crate::validation::Rules for CreateConnectorRequest {}
impl crate::validation::Rules for UpdateConnectorRequest {}
