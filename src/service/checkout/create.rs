//! Creating a session: the cross-field rules, totals, and the one write
//! transaction that stores the session, its items and its intent.

use entity::{checkout_session as cs, line_item as li, payment_intent as pi};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use super::*;
use crate::AppState;
use crate::domain::checkout::{MAX_EXPIRY_SECS, NewCheckoutSession};
use crate::domain::principal::{Principal, Scope};
use crate::domain::{IntentStatus, PaymentStatus, SessionStatus, ids, locale};
use crate::error::{Error, Result};

#[tracing::instrument(skip_all, fields(merchant = %p.merchant_id, livemode = p.livemode))]
pub async fn create(
    state: &AppState,
    p: &Principal,
    cmd: impl TryInto<NewCheckoutSession, Error = Error>,
) -> Result<SessionView> {
    p.require(Scope::Write)?;
    let cmd = cmd.try_into()?;
    let now = state.clock.now();
    cmd.check_context(p.livemode, now)?;
    let NewCheckoutSession {
        currency,
        items,
        total,
        ..
    } = &cmd;
    let (currency, total) = (*currency, *total);
    let session_id = ids::session_id(p.livemode, state.clock.now_ms());
    let intent_id = ids::new_id("pi");
    let methods = cmd
        .payment_method_types
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let session = cs::ActiveModel {
        id: Set(session_id.clone()),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        status: Set(SessionStatus::Open),
        payment_status: Set(PaymentStatus::Unpaid),
        mode: Set(cmd.mode),
        currency: Set(currency.code().into()),
        amount_subtotal: Set(total.minor()),
        amount_total: Set(total.minor()),
        line_item_count: Set(items.len() as i32),
        payment_intent_id: Set(intent_id.clone()),
        subscription_id: Set(None),
        success_url: Set(cmd.success_url.clone()),
        cancel_url: Set(cmd.cancel_url.clone()),
        customer_email: Set(cmd.customer_email.clone()),
        client_reference_id: Set(cmd.client_reference_id.clone()),
        metadata: Set(
            serde_json::to_string(&cmd.metadata).map_err(|e| Error::Internal(e.to_string()))?
        ),
        locale: Set(locale::resolve(cmd.locale.as_deref()).into()),
        payment_method_types: Set(methods),
        created: Set(now),
        expires_at: Set(cmd.expires_at.unwrap_or(now + MAX_EXPIRY_SECS)),
        completed_at: Set(None),
    };
    let rows: Vec<li::Model> = items
        .iter()
        .enumerate()
        .map(|(i, it)| li::Model {
            id: ids::new_id("li"),
            session_id: session_id.clone(),
            position: i as i32,
            name: it.name.clone(),
            description: it.description.clone(),
            images: serde_json::to_string(&it.images).unwrap_or_else(|_| "[]".into()),
            amount: it.amount.minor(),
            currency: currency.code().into(),
            quantity: it.quantity,
            amount_total: it.total.minor(),
            recurring_interval: it.recurring.as_ref().map(|r| r.0),
            recurring_interval_count: it.recurring.as_ref().map(|r| r.1),
        })
        .collect();
    let intent = pi::ActiveModel {
        id: Set(intent_id),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        session_id: Set(session_id.clone()),
        amount: Set(total.minor()),
        currency: Set(currency.code().into()),
        status: Set(IntentStatus::RequiresPaymentMethod),
        attempt_id: Set(None),
        payment_method: Set(None),
        last_payment_error: Set(None),
        pending_outcome: Set(None),
        settle_at: Set(None),
        created: Set(now),
        updated: Set(now),
    };
    let tx = crate::db::begin_write(&state.db).await?;
    let session = session.insert(&tx).await?;
    li::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec(&tx)
        .await?;
    intent.insert(&tx).await?;
    tx.commit().await?;
    // The view from what was just written: no read-back.
    let has_more_items = rows.len() as u64 > EMBEDDED_ITEMS;
    let items = rows.into_iter().take(EMBEDDED_ITEMS as usize).collect();
    let status = effective_status(&session, now);
    Ok(SessionView {
        session,
        items,
        has_more_items,
        status,
    })
}
