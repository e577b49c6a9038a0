//! Presenters: the service's read models (`service::views`) and rows →
//! wire types, one for REST answers, event payloads and the hosted page
//! alike; callers call them directly. A stored column that does not decode
//! is an error (logged, `500`), never a default.
use entity::{line_item as li, payment_intent as pi, refund, subscription as sub};

use crate::error::{Error, Result};
use crate::service::stored::{self, StoredPaymentError, StoredPaymentMethod};
use crate::service::views::{PublicView, SessionView, subscription_status};
use crate::wire::*;

/// The object an event carries, as it is after the change; rendered in its
/// REST shape by [`event_object`].
pub enum EventObject<'a> {
    Session(&'a SessionView),
    Intent(&'a pi::Model),
    Subscription(&'a sub::Model, &'a [li::Model]),
    Refund(&'a refund::Model),
}

impl EventObject<'_> {
    /// The id of the object the event is about.
    pub fn id(&self) -> String {
        match self {
            EventObject::Session(v) => v.session.id.to_string(),
            EventObject::Intent(i) => i.id.to_string(),
            EventObject::Subscription(s, _) => s.id.to_string(),
            EventObject::Refund(r) => r.id.to_string(),
        }
    }
}

fn recurring(i: &li::Model) -> Option<RecurringOut> {
    i.recurring_interval.map(|interval| RecurringOut {
        interval,
        interval_count: i64::from(i.recurring_interval_count.unwrap_or(1)),
    })
}

impl TryFrom<&li::Model> for LineItemOut {
    type Error = Error;
    fn try_from(i: &li::Model) -> Result<Self> {
        Ok(LineItemOut {
            id: i.id.to_string(),
            object: "item",
            name: i.name.clone(),
            description: i.description.clone(),
            images: stored::images(i)?,
            amount: i.amount.minor(),
            quantity: i.quantity,
            amount_total: i.amount_total.minor(),
            currency: i.currency.code().into(),
            recurring: recurring(i),
        })
    }
}

impl TryFrom<&li::Model> for PublicLineItem {
    type Error = Error;
    fn try_from(i: &li::Model) -> Result<Self> {
        Ok(PublicLineItem {
            name: i.name.clone(),
            description: i.description.clone(),
            images: stored::images(i)?,
            amount: i.amount.minor(),
            quantity: i.quantity,
            amount_total: i.amount_total.minor(),
            currency: i.currency.code().into(),
            recurring: recurring(i),
        })
    }
}

impl CheckoutSessionOut {
    /// `checkout_base` is the configured checkout URL (`…/checkout`).
    pub fn new(v: &SessionView, checkout_base: &str) -> Result<Self> {
        let s = &v.session;
        Ok(CheckoutSessionOut {
            id: s.id.to_string(),
            object: "checkout.session",
            url: format!("{checkout_base}/{}", s.id),
            status: v.status,
            payment_status: s.payment_status,
            mode: s.mode,
            currency: s.currency.code().into(),
            amount_subtotal: s.amount_subtotal.minor(),
            amount_total: s.amount_total.minor(),
            line_items: LineItemList {
                object: "list",
                data: v
                    .items
                    .iter()
                    .map(LineItemOut::try_from)
                    .collect::<Result<_>>()?,
                has_more: v.has_more_items,
                url: format!("/api/v1/checkout/sessions/{}/line_items", s.id),
            },
            payment_intent: super::ExpandableIntent::Id(s.payment_intent_id.to_string()),
            subscription: s.subscription_id.as_ref().map(ToString::to_string),
            success_url: s.success_url.clone(),
            cancel_url: s.cancel_url.clone(),
            customer_email: s.customer_email.clone(),
            client_reference_id: s.client_reference_id.clone(),
            metadata: stored::metadata(s)?,
            locale: s.locale.clone(),
            payment_method_types: stored::payment_methods(s)?,
            livemode: s.livemode,
            created: s.created,
            expires_at: s.expires_at,
            completed_at: s.completed_at,
            payment_link: s.payment_link_id.as_ref().map(ToString::to_string),
        })
    }
}

impl TryFrom<&PublicView> for PublicCheckoutSession {
    type Error = Error;
    fn try_from(v: &PublicView) -> Result<Self> {
        let s = &v.session;
        Ok(PublicCheckoutSession {
            id: s.id.to_string(),
            object: "checkout.session.public",
            merchant: MerchantPublic {
                display_name: v.merchant_name.clone(),
            },
            mode: s.mode,
            status: v.status,
            payment_status: s.payment_status,
            currency: s.currency.code().into(),
            amount_subtotal: s.amount_subtotal.minor(),
            amount_total: s.amount_total.minor(),
            line_items: v
                .items
                .iter()
                .map(PublicLineItem::try_from)
                .collect::<Result<_>>()?,
            payment_intent: PublicPaymentIntent {
                status: v.intent.status,
                last_payment_error: stored::last_payment_error(&v.intent)?.map(PaymentError::from),
                next_action: v.next_action.as_ref().map(next_action),
            },
            locale: s.locale.clone(),
            payment_method_types: stored::payment_methods(s)?,
            payment_methods: super::PaymentMethodsOut {
                card: v.methods.card,
                mobile_money: v.methods.mobile_money.clone(),
            },
            cancel_url: s.cancel_url.clone(),
            expires_at: s.expires_at,
            livemode: s.livemode,
            custom_amount: stored::custom_amount(s)?.map(|c| super::CustomAmountOut {
                minimum: c.bounds.minimum,
                maximum: c.bounds.maximum,
                preset: c.bounds.preset,
            }),
        })
    }
}

impl TryFrom<&pi::Model> for PaymentIntentOut {
    type Error = Error;
    fn try_from(i: &pi::Model) -> Result<Self> {
        Ok(PaymentIntentOut {
            id: i.id.to_string(),
            object: "payment_intent",
            status: i.status,
            amount: i.amount.minor(),
            amount_refunded: i.amount_refunded.minor(),
            currency: i.currency.code().into(),
            checkout_session: i.session_id.to_string(),
            payment_method: stored::payment_method(i)?.map(PaymentMethodSummary::from),
            last_payment_error: stored::last_payment_error(i)?.map(PaymentError::from),
            livemode: i.livemode,
            created: i.created,
        })
    }
}

impl SubscriptionOut {
    pub fn new(s: &sub::Model, items: &[li::Model], now: i64) -> Self {
        let (status, canceled_at) = subscription_status(s, now);
        SubscriptionOut {
            id: s.id.to_string(),
            object: "subscription",
            status,
            currency: s.currency.code().into(),
            amount: s.amount.minor(),
            items: items
                .iter()
                .map(|i| SubscriptionItemOut {
                    name: i.name.clone(),
                    amount: i.amount.minor(),
                    quantity: i.quantity,
                    currency: i.currency.code().into(),
                })
                .collect(),
            recurring: RecurringOut {
                interval: s.recurring_interval,
                interval_count: i64::from(s.recurring_interval_count),
            },
            current_period_start: s.current_period_start,
            current_period_end: s.current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at,
            checkout_session: s.session_id.to_string(),
            livemode: s.livemode,
            created: s.created,
        }
    }
}

impl From<StoredPaymentError> for PaymentError {
    fn from(e: StoredPaymentError) -> Self {
        PaymentError {
            r#type: e.r#type,
            code: e.code,
            decline_code: e.decline_code,
            message: e.message,
        }
    }
}

impl From<StoredPaymentMethod> for PaymentMethodSummary {
    fn from(m: StoredPaymentMethod) -> Self {
        PaymentMethodSummary {
            r#type: m.r#type,
            brand: m.brand,
            last4: m.last4,
            exp_month: m.exp_month,
            exp_year: m.exp_year,
            provider: m.provider,
            phone: m.phone,
        }
    }
}

/// An event's `data.object`: the object in the shape of its REST `GET`
/// (`checkout_base`: the configured checkout URL; `now`: the event's time).
pub fn event_object(
    o: &EventObject<'_>,
    checkout_base: &str,
    now: i64,
) -> Result<serde_json::Value> {
    let value = match o {
        EventObject::Session(v) => serde_json::to_value(CheckoutSessionOut::new(v, checkout_base)?),
        EventObject::Intent(i) => serde_json::to_value(PaymentIntentOut::try_from(*i)?),
        EventObject::Subscription(s, items) => {
            serde_json::to_value(SubscriptionOut::new(s, items, now))
        }
        EventObject::Refund(r) => serde_json::to_value(RefundOut::try_from(*r)?),
    };
    value.map_err(|e| Error::Internal(format!("event object: {e}")))
}

impl WebhookEndpointOut {
    /// `secret` only in the answers to create and rotate.
    pub fn new(e: &entity::webhook_endpoint::Model, secret: Option<String>) -> Result<Self> {
        Ok(WebhookEndpointOut {
            id: e.id.to_string(),
            object: "webhook_endpoint",
            url: e.url.clone(),
            enabled_events: crate::domain::EnabledEvents::stored(
                &e.enabled_events,
                &e.id.to_string(),
            )?
            .list()
            .to_vec(),
            description: e.description.clone(),
            status: e.status,
            livemode: e.livemode,
            created: e.created,
            secret,
        })
    }
}

impl From<&entity::webhook_delivery::Model> for WebhookDeliveryOut {
    fn from(d: &entity::webhook_delivery::Model) -> Self {
        WebhookDeliveryOut {
            id: d.id.clone(),
            object: "webhook_delivery",
            event: d.event_id.to_string(),
            r#type: d.event_type.clone(),
            attempt: d.attempt,
            status: d.status,
            response_status: d.response_status,
            duration_ms: d.duration_ms,
            error: d.error.clone(),
            created: d.created / 1000,
            next_attempt_at: d.next_attempt_at.map(|ms| (ms + 999) / 1000),
        }
    }
}

/// A stored event, sent byte for byte as it was written.
pub fn raw_event(e: &entity::event::Model) -> Result<Box<serde_json::value::RawValue>> {
    serde_json::value::RawValue::from_string(e.payload.clone())
        .map_err(|err| Error::Internal(format!("stored event {} is not JSON: {err}", e.id)))
}

impl TryFrom<&entity::refund::Model> for RefundOut {
    type Error = Error;
    fn try_from(r: &entity::refund::Model) -> Result<Self> {
        Ok(RefundOut {
            id: r.id.to_string(),
            object: "refund",
            amount: r.amount.minor(),
            currency: r.currency.code().into(),
            payment_intent: r.payment_intent_id.to_string(),
            status: r.status,
            reason: r.reason,
            failure_reason: r.failure_reason.clone(),
            metadata: serde_json::from_str(&r.metadata).map_err(|e| {
                Error::Internal(format!("refund {} metadata does not decode: {e}", r.id))
            })?,
            created: r.created,
        })
    }
}

fn next_action(a: &crate::service::views::NextAction) -> super::NextActionOut {
    use super::{NextActionOut, NextActionType};
    use crate::service::views::NextAction;
    match a {
        NextAction::ApproveOnPhone { provider } => NextActionOut {
            r#type: NextActionType::ApproveOnPhone,
            provider: Some(provider.clone()),
            redirect_url: None,
        },
        NextAction::Redirect { url } => NextActionOut {
            r#type: NextActionType::RedirectToUrl,
            provider: None,
            redirect_url: Some(url.clone()),
        },
    }
}
