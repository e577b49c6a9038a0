//! Creating a session: the cross-field rules, totals, and the one write
//! transaction that stores the session, its items and its intent.

use entity::{checkout_session as cs, line_item as li, payment_intent as pi};
use sea_orm::{EntityTrait, IntoActiveModel, Set, TryIntoModel};

use super::*;
use crate::AppState;
use crate::domain::checkout::{MAX_EXPIRY_SECS, NewCheckoutSession};
use crate::domain::payment_link::SessionCustomAmount;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{
    CheckoutSessionId, IntentStatus, LineItemId, PaymentIntentId, PaymentLinkId, PaymentStatus,
    SessionStatus, ids, locale,
};
use crate::error::{Error, Result};

#[tracing::instrument(skip_all, fields(merchant = %p.merchant_id, livemode = p.livemode))]
pub async fn create(
    state: &AppState,
    p: &Principal,
    cmd: impl TryInto<NewCheckoutSession, Error = Error>,
) -> Result<SessionView> {
    p.require(Scope::Write)?;
    let cmd = cmd.try_into()?;
    cmd.check_context(p.livemode, state.clock.now())?;
    insert(state, p, &cmd, None).await
}

/// A session made by a payment link's visit: the link's merchant and mode.
pub async fn create_for_link(
    state: &AppState,
    link: &entity::payment_link::Model,
    cmd: &NewCheckoutSession,
    custom: Option<SessionCustomAmount>,
) -> Result<SessionView> {
    let owner = Principal {
        merchant_id: link.merchant_id.clone(),
        livemode: link.livemode,
        can_read: false,
        can_write: true,
        app_token: false,
    };
    let origin = LinkOrigin {
        id: link.id.clone(),
        custom: custom
            .map(|c| crate::service::stored::encode(&c, "checkout_sessions.custom_amount"))
            .transpose()?,
    };
    insert(state, &owner, cmd, Some(origin)).await
}

/// The payment link a session comes from, and its stored custom amount.
struct LinkOrigin {
    id: PaymentLinkId,
    custom: Option<String>,
}

async fn insert(
    state: &AppState,
    p: &Principal,
    cmd: &NewCheckoutSession,
    origin: Option<LinkOrigin>,
) -> Result<SessionView> {
    let now = state.clock.now();
    let ids = NewIds {
        session: CheckoutSessionId::trusted(ids::session_id(p.livemode, state.clock.now_ms())),
        intent: PaymentIntentId::trusted(ids::new_id("pi")),
    };
    let mut session = session_row(cmd, p, &ids, now)?;
    if let Some(o) = origin {
        session.payment_link_id = Set(Some(o.id));
        session.custom_amount = Set(o.custom);
    }
    let rows = item_rows(cmd, &ids.session)?;
    let intent = intent_row(cmd, p, &ids, now);
    let stored = session
        .clone()
        .try_into_model()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let items = &rows;
    let session = state
        .writer
        .transaction(|tx| async move {
            // Rows known in full: sent at commit (on PostgreSQL the whole
            // write is one statement, without `BEGIN` and `COMMIT`).
            tx.defer(&cs::Entity::insert(session));
            tx.defer(&li::Entity::insert_many(
                items
                    .iter()
                    .cloned()
                    .map(IntoActiveModel::into_active_model),
            ));
            tx.defer(&pi::Entity::insert(intent));
            crate::service::tally::session(&tx, &stored, crate::service::tally::Move::Created)?;
            Ok::<_, Error>(stored)
        })
        .await?;
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

struct NewIds {
    session: CheckoutSessionId,
    intent: PaymentIntentId,
}

fn session_row(
    cmd: &NewCheckoutSession,
    p: &Principal,
    ids: &NewIds,
    now: i64,
) -> Result<cs::ActiveModel> {
    let methods: Vec<&str> = cmd
        .payment_method_types
        .iter()
        .map(|m| m.as_str())
        .collect();
    let metadata =
        serde_json::to_string(&cmd.metadata).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(cs::ActiveModel {
        id: Set(ids.session.clone()),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        status: Set(SessionStatus::Open),
        payment_status: Set(PaymentStatus::Unpaid),
        mode: Set(cmd.mode),
        currency: Set(cmd.currency),
        amount_subtotal: Set(cmd.total),
        amount_total: Set(cmd.total),
        line_item_count: Set(cmd.items.len() as i32),
        payment_intent_id: Set(ids.intent.clone()),
        subscription_id: Set(None),
        success_url: Set(cmd.success_url.clone()),
        cancel_url: Set(cmd.cancel_url.clone()),
        customer_email: Set(cmd.customer_email.clone()),
        client_reference_id: Set(cmd.client_reference_id.clone()),
        metadata: Set(metadata),
        locale: Set(locale::resolve(cmd.locale.as_deref()).into()),
        payment_method_types: Set(methods.join(",")),
        created: Set(now),
        expires_at: Set(cmd.expires_at.unwrap_or(now + MAX_EXPIRY_SECS)),
        completed_at: Set(None),
        payment_link_id: Set(None),
        custom_amount: Set(None),
    })
}

fn item_rows(cmd: &NewCheckoutSession, session_id: &CheckoutSessionId) -> Result<Vec<li::Model>> {
    cmd.items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            Ok(li::Model {
                id: LineItemId::trusted(ids::new_id("li")),
                session_id: session_id.clone(),
                position: i as i32,
                name: it.name.clone(),
                description: it.description.clone(),
                images: serde_json::to_string(&it.images)
                    .map_err(|e| Error::Internal(e.to_string()))?,
                amount: it.amount,
                currency: cmd.currency,
                quantity: it.quantity,
                amount_total: it.total,
                recurring_interval: it.recurring.map(|r| r.0),
                recurring_interval_count: it.recurring.map(|r| r.1),
            })
        })
        .collect()
}

fn intent_row(cmd: &NewCheckoutSession, p: &Principal, ids: &NewIds, now: i64) -> pi::ActiveModel {
    pi::ActiveModel {
        id: Set(ids.intent.clone()),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        session_id: Set(ids.session.clone()),
        amount: Set(cmd.total),
        currency: Set(cmd.currency),
        status: Set(IntentStatus::RequiresPaymentMethod),
        attempt_id: Set(None),
        payment_method: Set(None),
        last_payment_error: Set(None),
        pending_outcome: Set(None),
        settle_at: Set(None),
        created: Set(now),
        updated: Set(now),
        amount_refunded: Set(crate::domain::Amount::ZERO),
    }
}
