//! DataLoaders: one query per field per request, however many sessions.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{line_item as li, payment_intent as pi, subscription as sub};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// All line items of sessions, by session id, in position order.
pub struct LineItemLoader(pub DatabaseConnection);

/// Payment intents by id.
pub struct IntentLoader(pub DatabaseConnection);

/// Subscriptions by id.
pub struct SubscriptionLoader(pub DatabaseConnection);

impl Loader<String> for LineItemLoader {
    type Value = Vec<li::Model>;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = li::Entity::find()
            .filter(li::Column::SessionId.is_in(keys.iter().cloned()))
            .order_by_asc(li::Column::Position)
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        let mut out: HashMap<String, Vec<li::Model>> = HashMap::new();
        for r in rows {
            out.entry(r.session_id.clone()).or_default().push(r);
        }
        Ok(out)
    }
}

impl Loader<String> for IntentLoader {
    type Value = pi::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = pi::Entity::find()
            .filter(pi::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
    }
}

impl Loader<String> for SubscriptionLoader {
    type Value = sub::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = sub::Entity::find()
            .filter(sub::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
    }
}
