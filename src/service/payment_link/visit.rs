//! A customer opens `/l/{id}`: the session they already have open from this
//! link, or a new one (metadata copied, open for an hour), or why not.
use entity::{checkout_session as cs, payment_link as pl};
use sea_orm::EntityTrait;

use crate::AppState;
use crate::db::Unique;
use crate::domain::checkout::{NewCheckoutSession, NewLineItem};
use crate::domain::payment_link::{
    AfterCompletion, LinkItem, SessionCustomAmount, VISIT_SESSION_SECS,
};
use crate::domain::{Amount, CheckoutSessionId, Mode, PaymentLinkId, SessionStatus};
use crate::error::{Error, Result};
use crate::service::{checkout, stored};

/// Why a link makes no session (a `410` page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Inactive,
    Expired,
    UsedUp,
}

pub enum Visit {
    /// Send the customer to this session's page (`new`: just made).
    Session {
        id: CheckoutSessionId,
        new: bool,
    },
    Gone {
        reason: Gone,
        locale: String,
    },
}

/// The visit of `id` by a browser that holds `returning` (its cookie), if any.
pub async fn visit(
    state: &AppState,
    id: &PaymentLinkId,
    returning: Option<&CheckoutSessionId>,
) -> Result<Visit> {
    let link = pl::Entity::find_by_id(id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("payment_link", id))?;
    let now = state.clock.now();
    if let Some(reason) = gone(&link, now) {
        return Ok(Visit::Gone {
            reason,
            locale: link.locale,
        });
    }
    if let Some(sid) = returning
        && let Some(s) = cs::Entity::find_by_id(sid).unique(&state.db).await?
        && s.payment_link_id.as_ref() == Some(&link.id)
        && checkout::effective_status(&s, now) == SessionStatus::Open
    {
        return Ok(Visit::Session {
            id: s.id,
            new: false,
        });
    }
    let (cmd, custom) = session_command(state, &link, now)?;
    let view = checkout::create_for_link(state, &link, &cmd, custom).await?;
    Ok(Visit::Session {
        id: view.session.id,
        new: true,
    })
}

/// Inactive, past `expires_at`, or every allowed session paid or being paid.
pub fn gone(link: &pl::Model, now: i64) -> Option<Gone> {
    if !link.active {
        Some(Gone::Inactive)
    } else if link.expires_at.is_some_and(|e| e <= now) {
        Some(Gone::Expired)
    } else if link.completed_limit.is_some_and(|l| link.taken >= l) {
        Some(Gone::UsedUp)
    } else {
        None
    }
}

/// The session a visit makes: the link's items (a custom amount at its
/// preset, or 0 until the customer types it), metadata, methods, locale.
fn session_command(
    state: &AppState,
    link: &pl::Model,
    now: i64,
) -> Result<(NewCheckoutSession, Option<SessionCustomAmount>)> {
    let stored_items = stored::link_items(link)?;
    let mut custom = None;
    let mut items = Vec::with_capacity(stored_items.len());
    let mut total = Amount::ZERO;
    for (i, it) in stored_items.iter().enumerate() {
        let unit = unit_amount(it, i, &mut custom)?;
        let line = unit
            .times(it.quantity)
            .ok_or_else(|| Error::Internal("payment link total overflows".into()))?;
        total = total
            .plus(line)
            .ok_or_else(|| Error::Internal("payment link total overflows".into()))?;
        items.push(NewLineItem {
            name: it.name.clone(),
            description: it.description.clone(),
            images: it.images.clone(),
            amount: unit,
            quantity: it.quantity,
            total: line,
            recurring: None,
        });
    }
    let success_url = match stored::after_completion(link)? {
        AfterCompletion::Redirect { url } => url,
        // Our receipt page, with the merchant's message.
        AfterCompletion::HostedConfirmation { .. } => {
            format!("{}/{{CHECKOUT_SESSION_ID}}", state.config.checkout_url)
        }
    };
    let cmd = NewCheckoutSession {
        mode: Mode::Payment,
        currency: link.currency,
        items,
        total,
        success_url,
        cancel_url: None,
        customer_email: None,
        client_reference_id: None,
        metadata: stored::link_metadata(link)?,
        expires_at: Some(now + VISIT_SESSION_SECS),
        locale: Some(link.locale.clone()),
        payment_method_types: stored::link_payment_methods(link)?,
    };
    Ok((cmd, custom))
}

fn unit_amount(
    it: &LinkItem,
    position: usize,
    custom: &mut Option<SessionCustomAmount>,
) -> Result<Amount> {
    let minor = match (it.amount, it.custom_amount) {
        (Some(a), _) => a,
        (None, Some(bounds)) => {
            *custom = Some(SessionCustomAmount {
                position: position as i32,
                bounds,
            });
            bounds.preset.unwrap_or(0)
        }
        (None, None) => return Err(Error::Internal("payment link item without amount".into())),
    };
    Amount::new(minor).ok_or_else(|| Error::Internal("negative payment link amount".into()))
}
