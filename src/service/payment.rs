//! Paying a checkout session, exactly once.
//!
//! A pay attempt first *claims* the payment intent with a conditional update
//! (`requires_payment_method → processing`, tagged with the attempt id) that
//! must touch exactly one row; only the claimant may call the processor and
//! settle. Settlement is a second conditional update on the same attempt id,
//! in the transaction that inserts the `payments` row, whose partial unique
//! index admits one succeeded payment per session.
use std::time::Duration;

use entity::{checkout_session as cs, payment, payment_intent as pi};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::ids;
use crate::domain::principal::{Principal, Scope};
use crate::domain::return_url::resolve;
use crate::domain::{
    ChargeStatus, IntentStatus, PaymentMethodKind, PaymentStatus, Provider, SessionStatus,
};
use crate::error::{Conflict, Decline, Error, FieldError, Result};
use crate::processor::{Charge, Outcome, Settlement};
use crate::service::checkout::{self, PublicView};
use crate::service::events;
use crate::service::stored;
use crate::service::stored::{
    StoredPaymentError as PaymentError, StoredPaymentMethod as PaymentMethodSummary,
};
use crate::service::subscription;
use crate::wire::PayRequest;

/// A claimed card attempt older than this with no pending settlement was cut
/// short by a crash; it is released so the customer can pay again.
const STALE_CLAIM_SECS: i64 = 120;

/// A payment method that passed every format check.
enum Method {
    Card {
        number: String,
        exp_month: u32,
        exp_year: u32,
        cvc: String,
    },
    MobileMoney {
        provider: Provider,
        phone: String,
    },
}

impl Method {
    fn kind(&self) -> PaymentMethodKind {
        match self {
            Method::Card { .. } => PaymentMethodKind::Card,
            Method::MobileMoney { .. } => PaymentMethodKind::MobileMoney,
        }
    }

    fn summary(&self) -> PaymentMethodSummary {
        let mut s = PaymentMethodSummary {
            r#type: self.kind().as_str().into(),
            brand: None,
            last4: None,
            exp_month: None,
            exp_year: None,
            provider: None,
            phone: None,
        };
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                ..
            } => {
                s.brand = Some(card_brand(number).into());
                s.last4 = Some(number[number.len() - 4..].into());
                s.exp_month = Some(*exp_month);
                s.exp_year = Some(*exp_year);
            }
            Method::MobileMoney { provider, phone } => {
                s.provider = Some(provider.as_str().into());
                s.phone = Some(mask_phone(phone));
            }
        }
        s
    }

    fn charge(&self) -> Charge<'_> {
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                cvc,
            } => Charge::Card {
                number,
                exp_month: *exp_month,
                exp_year: *exp_year,
                cvc,
            },
            Method::MobileMoney { provider, phone } => Charge::MobileMoney {
                provider: provider.as_str(),
                phone,
            },
        }
    }
}

pub fn card_brand(number: &str) -> &'static str {
    let p2: u32 = number.get(..2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let p4: u32 = number.get(..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    if number.starts_with('4') {
        "visa"
    } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        "mastercard"
    } else if p2 == 34 || p2 == 37 {
        "amex"
    } else {
        "unknown"
    }
}

fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '*' })
        .collect()
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_e164(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Format checks of SPEC §4. Messages are fixed texts: they never echo input.
fn parse_method(req: &PayRequest, now: i64) -> Result<Method> {
    let mut errs = Vec::new();
    let Some(pm) = &req.payment_method else {
        return Err(Error::Validation(vec![FieldError::missing(
            "payment_method",
        )]));
    };
    if let Some(email) = &req.email
        && !validator::ValidateEmail::validate_email(email)
    {
        errs.push(FieldError::invalid(
            "email",
            "email must be a valid email address.",
        ));
    }
    let method = match pm.r#type {
        None => {
            errs.push(FieldError::missing("payment_method.type"));
            None
        }
        Some(PaymentMethodKind::Card) => {
            if pm.mobile_money.is_some() {
                errs.push(FieldError::invalid(
                    "payment_method.mobile_money",
                    "Only `card` details may accompany type card.",
                ));
            }
            match &pm.card {
                None => {
                    errs.push(FieldError::missing("payment_method.card"));
                    None
                }
                Some(c) => {
                    let number: String = c
                        .number
                        .as_ref()
                        .map(|n| n.0.chars().filter(|ch| *ch != ' ' && *ch != '-').collect())
                        .unwrap_or_default();
                    match &c.number {
                        None => errs.push(FieldError::missing("payment_method.card.number")),
                        Some(_)
                            if !(13..=19).contains(&number.len())
                                || !number.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            errs.push(FieldError::invalid(
                                "payment_method.card.number",
                                "The card number must be 13 to 19 digits.",
                            ))
                        }
                        Some(_) if !luhn_ok(&number) => errs.push(FieldError::invalid(
                            "payment_method.card.number",
                            "The card number is not valid.",
                        )),
                        Some(_) => {}
                    }
                    let month = c.exp_month.filter(|m| (1..=12).contains(m));
                    match c.exp_month {
                        None => errs.push(FieldError::missing("payment_method.card.exp_month")),
                        Some(_) if month.is_none() => errs.push(FieldError::invalid(
                            "payment_method.card.exp_month",
                            "exp_month must be between 1 and 12.",
                        )),
                        _ => {}
                    }
                    let year = c
                        .exp_year
                        .map(|y| if (0..100).contains(&y) { 2000 + y } else { y });
                    match (year, month) {
                        (None, _) => errs.push(FieldError::missing("payment_method.card.exp_year")),
                        (Some(y), _) if !(2000..=2100).contains(&y) => {
                            errs.push(FieldError::invalid(
                                "payment_method.card.exp_year",
                                "exp_year is not a valid year.",
                            ))
                        }
                        (Some(y), Some(m)) if is_past(y, m, now) => errs.push(FieldError::invalid(
                            "payment_method.card.exp_year",
                            "The card's expiration date is in the past.",
                        )),
                        _ => {}
                    }
                    let cvc = c.cvc.as_ref().map(|s| s.0.clone()).unwrap_or_default();
                    match &c.cvc {
                        None => errs.push(FieldError::missing("payment_method.card.cvc")),
                        Some(_)
                            if !(3..=4).contains(&cvc.len())
                                || !cvc.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            errs.push(FieldError::invalid(
                                "payment_method.card.cvc",
                                "The CVC must be 3 or 4 digits.",
                            ))
                        }
                        _ => {}
                    }
                    Some(Method::Card {
                        number,
                        exp_month: month.unwrap_or(0) as u32,
                        exp_year: year.unwrap_or(0) as u32,
                        cvc,
                    })
                }
            }
        }
        Some(PaymentMethodKind::MobileMoney) => {
            if pm.card.is_some() {
                errs.push(FieldError::invalid(
                    "payment_method.card",
                    "Only `mobile_money` details may accompany type mobile_money.",
                ));
            }
            match &pm.mobile_money {
                None => {
                    errs.push(FieldError::missing("payment_method.mobile_money"));
                    None
                }
                Some(m) => {
                    let provider = m.provider.as_deref().map(Provider::parse);
                    match provider {
                        None => {
                            errs.push(FieldError::missing("payment_method.mobile_money.provider"))
                        }
                        Some(None) => errs.push(FieldError::invalid(
                            "payment_method.mobile_money.provider",
                            "provider must be one of orange_money, mtn_momo, moov_money, wave.",
                        )),
                        Some(Some(_)) => {}
                    }
                    match m.phone.as_deref() {
                        None => errs.push(FieldError::missing("payment_method.mobile_money.phone")),
                        Some(p) if !is_e164(p) => errs.push(FieldError::invalid(
                            "payment_method.mobile_money.phone",
                            "phone must be in E.164 format, such as +2250700000000.",
                        )),
                        _ => {}
                    }
                    // Only used when no error was found, so the provider parsed.
                    provider.flatten().map(|provider| Method::MobileMoney {
                        provider,
                        phone: m.phone.clone().unwrap_or_default(),
                    })
                }
            }
        }
    };
    match method {
        Some(m) if errs.is_empty() => Ok(m),
        _ => Err(Error::Validation(errs)),
    }
}

/// A card expiring in month `m` of year `y` is valid through that month's end.
fn is_past(y: i64, m: i64, now: i64) -> bool {
    let end_of_month = crate::domain::time::add_months(civil_month_start(y, m), 1);
    now >= end_of_month
}

fn civil_month_start(y: i64, m: i64) -> i64 {
    // Months since 1970-01 to unix seconds via add_months from the epoch.
    crate::domain::time::add_months(0, (y - 1970) * 12 + (m - 1))
}

/// The result of a pay call that did not fail.
pub struct Paid {
    pub processing: bool,
    pub intent: pi::Model,
    pub view: PublicView,
    pub redirect_url: Option<String>,
}

#[tracing::instrument(skip_all, fields(session = %session_id))]
pub async fn pay(state: &AppState, session_id: &str, req: &PayRequest) -> Result<Paid> {
    let now = state.clock.now();
    let method = parse_method(req, now)?;
    let view = checkout::public_view(state, session_id).await?;
    match view.status {
        SessionStatus::Complete => return Err(Error::Conflict(Conflict::SessionCompleted)),
        SessionStatus::Expired => return Err(Error::Conflict(Conflict::SessionExpired)),
        SessionStatus::Open => {}
    }
    if !stored::accepts(&view.session, method.kind()) {
        return Err(Error::invalid(
            "payment_method.type",
            "This payment method is not accepted for this checkout session.",
        ));
    }
    if !state.processor.available(view.session.livemode) {
        return Err(Error::ProcessorUnavailable);
    }
    let attempt = ids::new_id("py");
    claim(state, &view.intent.id, &attempt, &method.summary()).await?;
    match state.processor.charge(&attempt, method.charge()).await {
        Outcome::Succeeded => {
            settle(state, &view.intent.id, &attempt, Settlement::Succeed).await?;
        }
        Outcome::Declined(d) => {
            settle(
                state,
                &view.intent.id,
                &attempt,
                Settlement::Fail(d.clone()),
            )
            .await?;
            return Err(Error::Declined(d));
        }
        Outcome::Pending { after, then } => {
            let settle_at = now + after.as_millis().div_ceil(1000) as i64;
            pi::Entity::update_many()
                .col_expr(pi::Column::PendingOutcome, Expr::value(then.encode()))
                .col_expr(pi::Column::SettleAt, Expr::value(settle_at))
                .filter(pi::Column::Id.eq(&view.intent.id))
                .filter(pi::Column::AttemptId.eq(&attempt))
                .exec(&state.db)
                .await?;
            schedule_settlement(
                state.clone(),
                view.intent.id.clone(),
                attempt.clone(),
                after,
            );
        }
    }
    result(state, session_id).await
}

/// The pay response's pieces, re-read after the change.
async fn result(state: &AppState, session_id: &str) -> Result<Paid> {
    let view = checkout::public_view(state, session_id).await?;
    let intent = view.intent.clone();
    let processing = intent.status == IntentStatus::Processing;
    let redirect_url = (intent.status == IntentStatus::Succeeded)
        .then(|| resolve(&view.session.success_url, &view.session.id));
    Ok(Paid {
        processing,
        intent,
        view,
        redirect_url,
    })
}

/// `requires_payment_method → processing` for exactly one attempt.
async fn claim(
    state: &AppState,
    intent_id: &str,
    attempt: &str,
    summary: &PaymentMethodSummary,
) -> Result<()> {
    let now = state.clock.now();
    let claimed = pi::Entity::update_many()
        .col_expr(pi::Column::Status, Expr::value(IntentStatus::Processing))
        .col_expr(pi::Column::AttemptId, Expr::value(attempt))
        .col_expr(
            pi::Column::PaymentMethod,
            Expr::value(serde_json::to_string(summary).unwrap_or_default()),
        )
        .col_expr(
            pi::Column::LastPaymentError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pi::Column::Updated, Expr::value(now))
        .filter(pi::Column::Id.eq(intent_id))
        .filter(pi::Column::Status.eq(IntentStatus::RequiresPaymentMethod))
        .exec(&state.db)
        .await?;
    if claimed.rows_affected == 1 {
        return Ok(());
    }
    let current = pi::Entity::find_by_id(intent_id)
        .unique(&state.db)
        .await?
        .map(|i| i.status);
    Err(Error::Conflict(match current {
        Some(IntentStatus::Succeeded) => Conflict::SessionCompleted,
        Some(IntentStatus::Canceled) => Conflict::SessionExpired,
        Some(IntentStatus::Processing | IntentStatus::RequiresPaymentMethod) => {
            Conflict::PaymentInProgress
        }
        None => return Err(Error::Internal("claimed intent vanished".into())),
    }))
}

/// Ends attempt `attempt` of intent `intent_id`. Returns false when that
/// attempt no longer holds the intent (someone else settled it).
pub async fn settle(
    state: &AppState,
    intent_id: &str,
    attempt: &str,
    how: Settlement,
) -> Result<bool> {
    let now = state.clock.now();
    let Some(intent) = pi::Entity::find_by_id(intent_id).unique(&state.db).await? else {
        return Ok(false);
    };
    let tx = crate::db::begin_write(&state.db).await?;
    let (status, error) = match &how {
        Settlement::Succeed => (IntentStatus::Succeeded, None),
        Settlement::Fail(d) => (IntentStatus::RequiresPaymentMethod, Some(payment_error(d))),
    };
    let updated = pi::Entity::update_many()
        .col_expr(pi::Column::Status, Expr::value(status))
        .col_expr(
            pi::Column::LastPaymentError,
            Expr::value(error.as_ref().and_then(|e| serde_json::to_string(e).ok())),
        )
        .col_expr(
            pi::Column::PendingOutcome,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pi::Column::SettleAt, Expr::value(Option::<i64>::None))
        .col_expr(pi::Column::Updated, Expr::value(now))
        .filter(pi::Column::Id.eq(intent_id))
        .filter(pi::Column::Status.eq(IntentStatus::Processing))
        .filter(pi::Column::AttemptId.eq(attempt))
        .exec(&tx)
        .await?;
    if updated.rows_affected != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let row = payment::ActiveModel {
        id: Set(attempt.to_string()),
        payment_intent_id: Set(intent.id.clone()),
        session_id: Set(intent.session_id.clone()),
        status: Set(if error.is_none() {
            ChargeStatus::Succeeded
        } else {
            ChargeStatus::Failed
        }),
        amount: Set(intent.amount),
        currency: Set(intent.currency.clone()),
        payment_method: Set(intent.payment_method.clone().unwrap_or_else(|| "{}".into())),
        failure_code: Set(error
            .as_ref()
            .map(|e| e.decline_code.clone().unwrap_or_else(|| e.code.clone()))),
        created: Set(now),
    };
    if let Err(e) = row.insert(&tx).await {
        tx.rollback().await?;
        if crate::db::is_unique_violation(&e) {
            tracing::error!("second successful payment refused by the database");
            return Ok(false);
        }
        return Err(e.into());
    }
    if error.is_none() {
        let completed = cs::Entity::update_many()
            .col_expr(cs::Column::Status, Expr::value(SessionStatus::Complete))
            .col_expr(cs::Column::PaymentStatus, Expr::value(PaymentStatus::Paid))
            .col_expr(cs::Column::CompletedAt, Expr::value(now))
            .filter(cs::Column::Id.eq(&intent.session_id))
            .filter(cs::Column::Status.eq(SessionStatus::Open))
            .exec(&tx)
            .await?;
        if completed.rows_affected != 1 {
            tx.rollback().await?;
            return Err(Error::Internal(
                "paid intent on a session that is not open".into(),
            ));
        }
        subscription::create_for_session(&tx, &intent.session_id, now).await?;
    }
    tx.commit().await?;
    if error.is_none() {
        let event = events::SessionEvent {
            session_id: intent.session_id.clone(),
            merchant_id: intent.merchant_id.clone(),
            livemode: intent.livemode,
            status: SessionStatus::Complete,
        };
        events::session_changed(state, event).await;
    }
    Ok(true)
}

fn payment_error(d: &Decline) -> PaymentError {
    PaymentError {
        r#type: "card_error".into(),
        code: d.code.clone(),
        decline_code: d.decline_code.clone(),
        message: d.message.clone(),
    }
}

/// Settles a pending payment after `after`, unless someone settles it first.
pub fn schedule_settlement(state: AppState, intent_id: String, attempt: String, after: Duration) {
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            // Stored as due: the next process's start-up recovery settles it.
            _ = state.shutdown.cancelled() => return,
        }
        if let Err(e) = settle_pending(&state, &intent_id, &attempt).await {
            tracing::warn!(error = %e, "pending settlement failed; the recovery scan will retry");
        }
    });
}

async fn settle_pending(state: &AppState, intent_id: &str, attempt: &str) -> Result<bool> {
    let Some(i) = pi::Entity::find_by_id(intent_id).unique(&state.db).await? else {
        return Ok(false);
    };
    match (i.attempt_id.as_deref(), i.pending_outcome.as_deref()) {
        (Some(a), Some(outcome)) if a == attempt && i.status == IntentStatus::Processing => {
            settle(state, intent_id, attempt, Settlement::decode(outcome)).await
        }
        _ => Ok(false),
    }
}

/// Periodically (any process): settles pending payments that are due and
/// releases claims cut short by a crash. Conditional updates make a second
/// process doing the same at the same time harmless.
pub async fn settle_due(state: &AppState) -> Result<()> {
    // In bounded batches by id, so a backlog never loads at once.
    const BATCH: u64 = 200;
    let mut after = String::new();
    loop {
        let batch = pi::Entity::find()
            .filter(pi::Column::Status.eq(IntentStatus::Processing))
            .filter(pi::Column::Id.gt(after.as_str()))
            .order_by_asc(pi::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id.clone();
        let full = batch.len() as u64 == BATCH;
        settle_batch(state, batch).await?;
        if !full {
            return Ok(());
        }
    }
}

async fn settle_batch(state: &AppState, processing: Vec<pi::Model>) -> Result<()> {
    let now = state.clock.now();
    for i in processing {
        let Some(attempt) = i.attempt_id.clone() else {
            continue;
        };
        match (i.pending_outcome.as_deref(), i.settle_at) {
            (Some(outcome), Some(at)) if at <= now => {
                settle(state, &i.id, &attempt, Settlement::decode(outcome)).await?;
            }
            (None, _) if i.updated + STALE_CLAIM_SECS < now => {
                recover_claim(state, &i.id, &attempt).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A claim cut short (crash, lost answer): ask the processor what became
/// of the attempt and settle from its answer. Only an attempt the processor
/// never received is failed; an unreachable processor is asked again at the
/// next sweep, never guessed.
async fn recover_claim(state: &AppState, intent_id: &str, attempt: &str) -> Result<()> {
    let outcome = match state.processor.lookup(attempt).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, attempt, "interrupted payment: processor not reachable; will ask again");
            return Ok(());
        }
    };
    tracing::info!(
        attempt,
        known = outcome.is_some(),
        "recovering an interrupted payment from the processor's answer"
    );
    match outcome {
        None => {
            let d = crate::processor::decline(
                "card_declined",
                Some("processing_error"),
                "The payment was interrupted; please try again.",
            );
            settle(state, intent_id, attempt, Settlement::Fail(d)).await?;
        }
        Some(Outcome::Succeeded) => {
            settle(state, intent_id, attempt, Settlement::Succeed).await?;
        }
        Some(Outcome::Declined(d)) => {
            settle(state, intent_id, attempt, Settlement::Fail(d)).await?;
        }
        Some(Outcome::Pending { after, then }) => {
            let settle_at = state.clock.now() + after.as_millis().div_ceil(1000) as i64;
            pi::Entity::update_many()
                .col_expr(pi::Column::PendingOutcome, Expr::value(then.encode()))
                .col_expr(pi::Column::SettleAt, Expr::value(settle_at))
                .filter(pi::Column::Id.eq(intent_id))
                .filter(pi::Column::AttemptId.eq(attempt))
                .filter(pi::Column::Status.eq(IntentStatus::Processing))
                .exec(&state.db)
                .await?;
            schedule_settlement(
                state.clone(),
                intent_id.to_string(),
                attempt.to_string(),
                after,
            );
        }
    }
    Ok(())
}

/// At start-up: everything `settle_due` does, and timers for the pending
/// payments that are not due yet, so a restart forgets none.
pub async fn recover(state: &AppState) -> Result<()> {
    settle_due(state).await?;
    let now = state.clock.now();
    let pending = pi::Entity::find()
        .filter(pi::Column::Status.eq(IntentStatus::Processing))
        .filter(pi::Column::SettleAt.is_not_null())
        .all(&state.db)
        .await?;
    for i in pending {
        if let (Some(attempt), Some(at)) = (i.attempt_id, i.settle_at) {
            schedule_settlement(
                state.clone(),
                i.id,
                attempt,
                Duration::from_secs(at.saturating_sub(now).max(0) as u64),
            );
        }
    }
    Ok(())
}

/// Test helper `succeed` / `fail`: drives the session as a customer would.
pub async fn test_helper_settle(
    state: &AppState,
    p: &Principal,
    session_id: &str,
    succeed: bool,
) -> Result<()> {
    p.require(Scope::Write)?;
    if p.livemode {
        return Err(Error::TestModeOnly);
    }
    let s = checkout::find_owned(state, p, session_id).await?;
    match checkout::effective_status(&s, state.clock.now()) {
        SessionStatus::Complete => return Err(Error::Conflict(Conflict::SessionCompleted)),
        SessionStatus::Expired => return Err(Error::Conflict(Conflict::SessionExpired)),
        SessionStatus::Open => {}
    }
    let intent = pi::Entity::find_by_id(&s.payment_intent_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("missing intent".into()))?;
    let how = if succeed {
        Settlement::Succeed
    } else {
        Settlement::Fail(crate::processor::decline(
            "card_declined",
            Some("insufficient_funds"),
            "The payment was declined (test helper).",
        ))
    };
    let attempt = match (
        intent.status,
        intent.pending_outcome.is_some(),
        intent.attempt_id.clone(),
    ) {
        (IntentStatus::Processing, true, Some(a)) => a,
        (IntentStatus::Processing, _, _) => {
            return Err(Error::Conflict(Conflict::PaymentInProgress));
        }
        _ => {
            let attempt = ids::new_id("py");
            let summary = PaymentMethodSummary {
                r#type: "test_helper".into(),
                brand: None,
                last4: None,
                exp_month: None,
                exp_year: None,
                provider: None,
                phone: None,
            };
            claim(state, &intent.id, &attempt, &summary).await?;
            attempt
        }
    };
    if !settle(state, &intent.id, &attempt, how).await? {
        return Err(Error::Conflict(Conflict::PaymentInProgress));
    }
    Ok(())
}

/// Test helper `expire`: the expire route, test mode only.
pub async fn test_helper_expire(state: &AppState, p: &Principal, session_id: &str) -> Result<()> {
    p.require(Scope::Write)?;
    if p.livemode {
        return Err(Error::TestModeOnly);
    }
    checkout::expire(state, p, session_id).await.map(|_| ())
}

pub async fn get_intent(state: &AppState, p: &Principal, id: &str) -> Result<pi::Model> {
    p.require(Scope::Read)?;
    if !ids::well_formed(id) {
        return Err(Error::not_found("payment_intent", id));
    }
    pi::Entity::find_by_id(id)
        .filter(pi::Column::MerchantId.eq(&p.merchant_id))
        .filter(pi::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("payment_intent", id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_brand() {
        assert!(luhn_ok("4242424242424242"));
        assert!(!luhn_ok("4242424242424241"));
        assert_eq!(card_brand("5555555555554444"), "mastercard");
        assert_eq!(mask_phone("+2250700000000"), "+225******0000");
        assert!(is_e164("+2250700000000"));
        assert!(!is_e164("0700000000"));
    }

    #[test]
    fn expiry_runs_through_month_end() {
        // 2030-12-31T23:59:59Z is still valid for 12/2030; 2031-01-01 is not.
        let jan2031 = civil_month_start(2031, 1);
        assert!(!is_past(2030, 12, jan2031 - 1));
        assert!(is_past(2030, 12, jan2031));
    }
}
