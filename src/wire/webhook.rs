//! Events and webhook endpoints on the wire (SPEC §5).
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use crate::domain::{DeliveryStatus, EndpointStatus};

/// An event: what happened, and the object as it was right after.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "evt_3kF9sLq2Wm8RzT1vXy4bN7cP", "object": "event", "type": "checkout.session.completed",
    "created": 1795000000, "livemode": false,
    "data": {"object": {"id": "cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6", "object": "checkout.session", "status": "complete", "payment_status": "paid"}}
}))]
pub struct EventOut {
    /// `evt_…`
    pub id: String,
    /// Always `event`.
    pub object: &'static str,
    /// Such as `checkout.session.completed`.
    pub r#type: String,
    /// Unix seconds.
    pub created: i64,
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventData {
    /// The object (session, payment intent, subscription, refund) in the
    /// shape of its own `GET`.
    pub object: serde_json::Value,
}

/// A page of events; each is sent exactly as stored (and as delivered).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Always `list`.
    pub object: &'static str,
    #[schema(value_type = Vec<EventOut>)]
    pub data: Vec<Box<RawValue>>,
    pub has_more: bool,
    pub url: String,
}

/// `GET /api/v1/events` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// An event id: the page after it (older).
    pub starting_after: Option<String>,
    /// An event id: the page before it (newer).
    pub ending_before: Option<String>,
    /// An event type, or a prefix ending in `*` such as `checkout.session.*`.
    pub r#type: Option<String>,
    #[serde(rename = "created[gte]")]
    #[param(rename = "created[gte]")]
    pub created_gte: Option<i64>,
    #[serde(rename = "created[lte]")]
    #[param(rename = "created[lte]")]
    pub created_lte: Option<i64>,
    /// Every event about one session, payment intent, subscription or refund.
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// Where events are posted: absolute http(s); live mode requires https
    /// to a public address.
    #[schema(example = "https://yoursite.com/webhooks/ikawaari")]
    pub url: String,
    /// Event types to send, or `["*"]` for all.
    #[schema(example = json!(["checkout.session.completed", "checkout.session.async_payment_succeeded"]))]
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` stops deliveries, `false` resumes them.
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpointOut {
    /// `we_…`
    pub id: String,
    /// Always `webhook_endpoint`.
    pub object: &'static str,
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub status: EndpointStatus,
    pub livemode: bool,
    /// Unix seconds.
    pub created: i64,
    /// The signing secret (`whsec_…`): in the answers to create and
    /// rotate_secret only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<WebhookEndpointOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedWebhookEndpoint {
    pub id: String,
    /// Always `webhook_endpoint`.
    pub object: &'static str,
    pub deleted: bool,
}

/// One attempt to deliver one event to one endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    /// `whd_…`
    pub id: String,
    /// Always `webhook_delivery`.
    pub object: &'static str,
    /// `evt_…`
    pub event: String,
    /// The event's type.
    pub r#type: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub status: DeliveryStatus,
    /// The endpoint's HTTP status, when it answered.
    pub response_status: Option<i32>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds: when this attempt is due (pending), or when the next
    /// one is (failed, retries remaining).
    pub next_attempt_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeliveryList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<WebhookDeliveryOut>,
    pub has_more: bool,
    pub url: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveriesQuery {
    /// 1–100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// A delivery id: the page after it (older).
    pub starting_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    /// `evt_…`
    pub event: String,
}
