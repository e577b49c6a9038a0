//! Events and webhook endpoints for dashboards (read only: endpoints are
//! managed over REST with a secret key, they hold signing secrets).
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use entity::{event, webhook_delivery as wd, webhook_endpoint as we};

use super::page::{MAX_PAGE, PageInfo};
use super::scalars::DateTime;
use super::{app, gql, principal};
use crate::domain::EnabledEvents;
use crate::error::Error;
use crate::service::event_log::{self, EventFilter, EventPage};
use crate::service::webhook;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::EndpointStatus")]
pub enum WebhookEndpointStatus {
    Enabled,
    Disabled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// Something that happened, with the object as it was right after.
pub struct Event(pub event::Model);

#[Object]
impl Event {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Such as `checkout.session.completed`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.r#type
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created)
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
    /// The session, payment intent, subscription or refund it is about.
    async fn object_id(&self) -> ID {
        ID(self.0.object_id.clone())
    }
    /// The object in its REST shape, as webhooks deliver it.
    async fn data(&self) -> Result<Json<serde_json::Value>> {
        let mut v: serde_json::Value = serde_json::from_str(&self.0.payload)
            .map_err(|e| gql(Error::Internal(format!("stored event: {e}"))))?;
        Ok(Json(v["data"]["object"].take()))
    }
}

#[derive(SimpleObject)]
pub struct EventEdge {
    pub cursor: String,
    pub node: Event,
}

#[derive(SimpleObject)]
pub struct EventConnection {
    pub edges: Vec<EventEdge>,
    pub page_info: PageInfo,
}

#[derive(InputObject, Default)]
pub struct EventsFilter {
    /// An event type, or a prefix ending in `*` such as `checkout.session.*`.
    #[graphql(name = "type")]
    pub kind: Option<String>,
    /// Every event about one object.
    pub object_id: Option<ID>,
}

pub struct WebhookEndpoint(we::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn enabled_events(&self) -> Result<Vec<String>> {
        Ok(
            EnabledEvents::stored(&self.0.enabled_events, &self.0.id.to_string())
                .map_err(gql)?
                .list()
                .to_vec(),
        )
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn status(&self) -> WebhookEndpointStatus {
        self.0.status.into()
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created)
    }
    /// The latest attempts, newest first.
    async fn recent_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let state = app(ctx)?;
        let mut by =
            webhook::recent_deliveries(state, std::slice::from_ref(&self.0.id), first as u64)
                .await
                .map_err(gql)?;
        Ok(by
            .remove(&self.0.id)
            .unwrap_or_default()
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

pub struct WebhookDelivery(wd::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.event_type
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }
    async fn duration_ms(&self) -> Option<i32> {
        self.0.duration_ms.and_then(|d| i32::try_from(d).ok())
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created / 1000)
    }
    async fn next_attempt_at(&self) -> Option<DateTime> {
        self.0.next_attempt_at.map(|ms| DateTime((ms + 999) / 1000))
    }
}

/// The most endpoints a mode has: `webhookEndpoints` with deliveries stays bounded.
const ENDPOINTS_COST: usize = 16;

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// Newest first, kept 30 days; at most 100 per page.
    #[graphql(
        complexity = "first.unwrap_or(10).clamp(0, MAX_PAGE) as usize * child_complexity + 10"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<EventsFilter>,
    ) -> Result<EventConnection> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        if first.is_some_and(|n| !(1..=MAX_PAGE).contains(&n)) {
            return Err(gql(Error::invalid(
                "first",
                "Page size must be between 1 and 100.",
            )));
        }
        let f = filter.unwrap_or_default();
        let filter = EventFilter {
            r#type: f.kind,
            object_id: f.object_id.map(|id| id.0),
            ..Default::default()
        };
        let page = EventPage {
            limit: Some(i64::from(first.unwrap_or(10))),
            starting_after: after.clone(),
            ending_before: None,
        };
        let (rows, has_more) = event_log::list(state, p, &filter, &page)
            .await
            .map_err(gql)?;
        let edges: Vec<EventEdge> = rows
            .into_iter()
            .map(|e| EventEdge {
                cursor: e.id.to_string(),
                node: Event(e),
            })
            .collect();
        Ok(EventConnection {
            page_info: PageInfo {
                has_next_page: has_more,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// The mode's endpoints (at most 16), newest first, each with its recent deliveries.
    #[graphql(complexity = "ENDPOINTS_COST * child_complexity")]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        let rows = webhook::list(app(ctx)?, principal(ctx)?)
            .await
            .map_err(gql)?;
        Ok(rows.into_iter().map(WebhookEndpoint).collect())
    }
}
