//! The payment link object, from its stored row.
use entity::payment_link as pl;

use super::payment_link::*;
use crate::domain::payment_link::{AfterCompletion, LinkItem};
use crate::error::Result;
use crate::service::stored;

/// At most this many of a link's items are embedded in the object.
pub const EMBEDDED_LINK_ITEMS: usize = 10;

pub fn link_item_out(i: &LinkItem, currency: &str) -> PaymentLinkLineItemOut {
    PaymentLinkLineItemOut {
        id: i.id.clone(),
        object: "item",
        name: i.name.clone(),
        description: i.description.clone(),
        images: i.images.clone(),
        amount: i.amount,
        quantity: i.quantity,
        amount_total: i.amount.and_then(|a| a.checked_mul(i.quantity)),
        currency: currency.to_string(),
        custom_amount: i.custom_amount.map(|c| CustomAmountOut {
            minimum: c.minimum,
            maximum: c.maximum,
            preset: c.preset,
        }),
    }
}

impl PaymentLinkOut {
    pub fn new(l: &pl::Model, config: &crate::config::Config) -> Result<Self> {
        let items = stored::link_items(l)?;
        let currency = l.currency.code();
        let after_completion = match stored::after_completion(l)? {
            AfterCompletion::Redirect { url } => AfterCompletionOut {
                r#type: AfterCompletionType::Redirect,
                redirect: Some(RedirectOut { url }),
                hosted_confirmation: None,
            },
            AfterCompletion::HostedConfirmation { custom_message } => AfterCompletionOut {
                r#type: AfterCompletionType::HostedConfirmation,
                redirect: None,
                hosted_confirmation: Some(HostedConfirmationOut { custom_message }),
            },
        };
        Ok(PaymentLinkOut {
            id: l.id.to_string(),
            object: "payment_link",
            url: config.payment_link_url(&l.id),
            active: l.active,
            currency: currency.to_string(),
            line_items: PaymentLinkLineItemList {
                object: "list",
                data: items
                    .iter()
                    .take(EMBEDDED_LINK_ITEMS)
                    .map(|i| link_item_out(i, currency))
                    .collect(),
                has_more: items.len() > EMBEDDED_LINK_ITEMS,
                url: format!("/api/v1/payment_links/{}/line_items", l.id),
            },
            payment_method_types: stored::link_payment_methods(l)?,
            locale: l.locale.clone(),
            metadata: stored::link_metadata(l)?,
            after_completion,
            restrictions: l.completed_limit.map(|limit| RestrictionsOut {
                completed_sessions: CompletedSessionsOut {
                    count: l.completed_sessions,
                    limit: i64::from(limit),
                },
            }),
            completed_sessions: l.completed_sessions,
            amount_collected: l.volume,
            livemode: l.livemode,
            expires_at: l.expires_at,
            created: l.created,
        })
    }
}
