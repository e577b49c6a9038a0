//! Creating a session: the cross-field rules, totals, and the one write
//! transaction that stores the session, its items and its intent.

use entity::{checkout_session as cs, line_item as li, payment_intent as pi};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use super::*;
use crate::AppState;
use crate::domain::money::MAX_TOTAL;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{
    Amount, Currency, IntentStatus, Interval, Mode, PaymentStatus, ReturnUrl, SessionStatus, ids,
    locale,
};
use crate::error::{Error, FieldError, Result};
use crate::wire::CreateCheckoutSessionRequest;

struct ValidItem {
    name: String,
    description: Option<String>,
    images: Vec<String>,
    amount: Amount,
    quantity: i64,
    total: Amount,
    recurring: Option<(Interval, i32)>,
}

/// Rules that span fields: currency agreement, mode vs recurring, totals,
/// live https, expiry window. Field shapes were checked by `validator`.
fn check_request(
    req: &CreateCheckoutSessionRequest,
    livemode: bool,
    now: i64,
) -> Result<(Currency, Vec<ValidItem>, Amount)> {
    let mut errors = Vec::new();
    let items_in = req.line_items.as_deref().unwrap_or_default();
    let mode = req.mode.unwrap_or(Mode::Payment);
    let mut currency: Option<Currency> = req.currency.as_deref().and_then(Currency::parse);
    let mut total = Amount::ZERO;
    let mut items = Vec::with_capacity(items_in.len());
    let mut interval: Option<(Interval, i32)> = None;
    for (i, it) in items_in.iter().enumerate() {
        let c = it.currency.as_deref().and_then(Currency::parse);
        match (currency, c) {
            (Some(a), Some(b)) if a != b => errors.push(FieldError::invalid(
                format!("line_items[{i}].currency"),
                format!("All line items must use the session currency {a}."),
            )),
            (None, Some(b)) => currency = Some(b),
            _ => {}
        }
        let recurring = it.recurring.as_ref().and_then(|r| {
            r.interval
                .map(|iv| (iv, r.interval_count.unwrap_or(1) as i32))
        });
        match (mode, &recurring) {
            (Mode::Payment, Some(_)) => errors.push(FieldError::invalid(
                format!("line_items[{i}].recurring"),
                "recurring is only allowed in subscription mode.",
            )),
            (Mode::Subscription, None) => errors.push(FieldError::invalid(
                format!("line_items[{i}].recurring"),
                "Every line item needs recurring in subscription mode.",
            )),
            (Mode::Subscription, Some(r)) => match &interval {
                Some(first) if first != r => errors.push(FieldError::invalid(
                    format!("line_items[{i}].recurring"),
                    "All line items must share one billing interval.",
                )),
                None => interval = Some(*r),
                _ => {}
            },
            _ => {}
        }
        let amount = Amount::new(it.amount.unwrap_or(0)).unwrap_or(Amount::ZERO);
        let quantity = it.quantity.unwrap_or(1);
        let line_total = amount.times(quantity).filter(|t| t.minor() <= MAX_TOTAL);
        match line_total
            .and_then(|t| total.plus(t))
            .filter(|t| t.minor() <= MAX_TOTAL)
        {
            Some(t) => total = t,
            None => {
                errors.push(FieldError::invalid(
                    format!("line_items[{i}].amount"),
                    "The session total must not exceed 1000000000000 minor units.",
                ));
                break;
            }
        }
        items.push(ValidItem {
            name: it.name.as_deref().unwrap_or_default().trim().to_string(),
            description: it.description.clone(),
            images: it.images.clone().unwrap_or_default(),
            amount,
            quantity,
            total: line_total.unwrap_or(Amount::ZERO),
            recurring,
        });
    }
    if livemode {
        for (param, url) in [
            ("success_url", &req.success_url),
            ("cancel_url", &req.cancel_url),
        ] {
            if url
                .as_deref()
                .and_then(|u| ReturnUrl::parse(u).ok())
                .is_some_and(|u| !u.is_https())
            {
                errors.push(FieldError::invalid(
                    param,
                    "Live mode requires an https URL.",
                ));
            }
        }
    }
    if let Some(exp) = req.expires_at
        && (exp < now + MIN_EXPIRY_SECS || exp > now + MAX_EXPIRY_SECS)
    {
        errors.push(FieldError::invalid(
            "expires_at",
            "expires_at must be between 30 minutes and 24 hours from now.",
        ));
    }
    match currency {
        Some(c) if errors.is_empty() => Ok((c, items, total)),
        _ if !errors.is_empty() => Err(Error::Validation(errors)),
        _ => Err(Error::invalid(
            "line_items[0].currency",
            "A currency is required.",
        )),
    }
}

#[tracing::instrument(skip_all, fields(merchant = %p.merchant_id, livemode = p.livemode))]
pub async fn create(
    state: &AppState,
    p: &Principal,
    req: CreateCheckoutSessionRequest,
) -> Result<SessionView> {
    p.require(Scope::Write)?;
    crate::validation::check(&req)?;
    let now = state.clock.now();
    let (currency, items, total) = check_request(&req, p.livemode, now)?;
    let session_id = ids::session_id(p.livemode, state.clock.now_ms());
    let intent_id = ids::new_id("pi");
    let mut methods = req.payment_method_types.clone().unwrap_or_default();
    methods.dedup();
    let methods = if methods.is_empty() {
        "card,mobile_money".to_string()
    } else {
        methods
            .iter()
            .map(|m| {
                serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let session = cs::ActiveModel {
        id: Set(session_id.clone()),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        status: Set(SessionStatus::Open),
        payment_status: Set(PaymentStatus::Unpaid),
        mode: Set(req.mode.unwrap_or(Mode::Payment)),
        currency: Set(currency.code().into()),
        amount_subtotal: Set(total.minor()),
        amount_total: Set(total.minor()),
        line_item_count: Set(items.len() as i32),
        payment_intent_id: Set(intent_id.clone()),
        subscription_id: Set(None),
        success_url: Set(req.success_url.clone().unwrap_or_default()),
        cancel_url: Set(req.cancel_url.clone()),
        customer_email: Set(req.customer_email.clone()),
        client_reference_id: Set(req.client_reference_id.clone()),
        metadata: Set(
            serde_json::to_string(&req.metadata.clone().unwrap_or_default())
                .unwrap_or_else(|_| "{}".into()),
        ),
        locale: Set(locale::resolve(req.locale.as_deref()).into()),
        payment_method_types: Set(methods),
        created: Set(now),
        expires_at: Set(req.expires_at.unwrap_or(now + MAX_EXPIRY_SECS)),
        completed_at: Set(None),
    };
    let rows: Vec<li::Model> = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| li::Model {
            id: ids::new_id("li"),
            session_id: session_id.clone(),
            position: i as i32,
            name: it.name,
            description: it.description,
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
