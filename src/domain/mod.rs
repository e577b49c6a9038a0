//! Domain types built once at the edge and trusted afterwards.
pub mod card;
pub mod checkout;
pub mod currency;
pub mod event;
pub mod ids;
pub mod locale;
pub mod money;
pub mod payment_link;
pub mod payment_method;
pub mod phone;
pub mod principal;
pub mod refund;
pub mod return_url;
pub mod time;
pub mod webhook_url;

pub use currency::Currency;
pub use entity::types::{
    ChargeStatus, CheckoutSessionId, ConnectorId, ConnectorStatus, ConnectorType, DeliveryStatus,
    EndpointStatus, EventId, IntentStatus, Interval, LineItemId, MerchantId, Mode, PaymentIntentId,
    PaymentLinkId, PaymentMethodKind, PaymentStatus, Provider, RefundId, RefundReason,
    RefundStatus, SessionStatus, SubscriptionId, SubscriptionStatus, WebhookEndpointId,
};
pub use event::{EnabledEvents, EventType, TypeFilter};
pub use money::Amount;
pub use return_url::ReturnUrl;
