//! DataLoaders: one query per field per request, however many sessions.
//! Each calls the service function REST uses for the same data.
use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{line_item as li, payment_intent as pi, subscription as sub};

use crate::AppState;
use crate::domain::CheckoutSessionId;
use crate::error::Error;
use crate::service::{checkout, payment, subscription};

/// Up to 100 (the most a page asks for) line items of sessions, by session id.
pub struct LineItemLoader(pub AppState);

/// Payment intents by id.
pub struct IntentLoader(pub AppState);

/// Subscriptions by id.
pub struct SubscriptionLoader(pub AppState);

/// The most line items one GraphQL field returns.
pub const MAX_ITEMS: u64 = 100;

impl Loader<String> for LineItemLoader {
    type Value = Vec<li::Model>;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Error> {
        // Keys are ids of sessions this request already read.
        let ids: Vec<CheckoutSessionId> = keys
            .iter()
            .filter_map(|k| CheckoutSessionId::parse(k))
            .collect();
        Ok(checkout::first_items(&self.0.db, &ids, MAX_ITEMS)
            .await?
            .into_iter()
            .map(|(id, items)| (id.to_string(), items))
            .collect())
    }
}

impl Loader<String> for IntentLoader {
    type Value = pi::Model;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Error> {
        payment::intents_by_id(&self.0, keys).await
    }
}

impl Loader<String> for SubscriptionLoader {
    type Value = sub::Model;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Error> {
        subscription::by_ids(&self.0, keys).await
    }
}

/// Event timelines by object id.
pub struct TimelineLoader(pub AppState);

impl Loader<String> for TimelineLoader {
    type Value = Vec<entity::event::Model>;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Error> {
        // Keys are ids of objects this request already read.
        crate::service::event_log::timelines(&self.0, keys).await
    }
}
