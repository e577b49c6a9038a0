//! Connectors for dashboards (read only, never a credential: they are
//! managed over REST with a secret key).
use async_graphql::{Context, Enum, ID, Object, Result};
use entity::connector as conn;

use super::scalars::DateTime;
use super::{app, gql, principal};
use crate::service::connector;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ConnectorType")]
pub enum ConnectorType {
    MtnMomo,
    Wave,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ConnectorStatus")]
pub enum ConnectorStatus {
    Enabled,
    Disabled,
}

/// A merchant's account at a payment provider.
pub struct Connector {
    row: conn::Model,
    notification_url: String,
}

#[Object]
impl Connector {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn r#type(&self) -> ConnectorType {
        self.row.kind.into()
    }
    async fn status(&self) -> ConnectorStatus {
        self.row.status.into()
    }
    async fn livemode(&self) -> bool {
        self.row.livemode
    }
    /// The address registered at the provider for its notifications.
    async fn notification_url(&self) -> &str {
        &self.notification_url
    }
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    async fn created(&self) -> DateTime {
        DateTime(self.row.created)
    }
}

#[derive(Default)]
pub struct ConnectorsQuery;

#[Object]
impl ConnectorsQuery {
    /// The mode's connectors, newest first.
    async fn connectors(&self, ctx: &Context<'_>) -> Result<Vec<Connector>> {
        let state = app(ctx)?;
        let rows = connector::list(state, principal(ctx)?).await.map_err(gql)?;
        Ok(rows
            .into_iter()
            .map(|row| Connector {
                notification_url: connector::notification_url(state, &row),
                row,
            })
            .collect())
    }
}
