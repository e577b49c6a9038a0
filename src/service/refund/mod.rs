//! Refunds (SPEC §5 "Refunds"): full or partial, never more than was paid.
//!
//! A refund first *reserves* its amount with one conditional update of the
//! intent (`amount_refunded + amount <= amount`, intent `succeeded`) in the
//! transaction that inserts it `pending` with its `refund.created` event:
//! however many refunds race, across processes, the database admits only
//! what fits. The processor is asked next (idempotent by refund id); its
//! answer settles the refund — `succeeded`, or `failed` with the reserved
//! amount given back — in a second transaction with its event.
mod ask;
use entity::{payment_intent as pi, refund};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::refund::{NewRefund, RefundSettlement};
use crate::domain::{
    Amount, EventType, IntentStatus, PaymentIntentId, RefundId, RefundStatus, ids,
};
use crate::error::{Conflict, Error, Result};
use crate::service::outbox::{self, EventObject, NewEvent};
use crate::service::payment;
use crate::service::tally;

/// A pending refund the processor never answered (a crash between the
/// reservation and the call) is asked again after this long.
pub const STALE_SECS: i64 = 120;

#[tracing::instrument(skip_all, fields(payment_intent = %req.payment_intent))]
pub async fn create(state: &AppState, p: &Principal, req: NewRefund) -> Result<refund::Model> {
    p.require(Scope::Write)?;
    let intent_id = PaymentIntentId::parse(&req.payment_intent)
        .ok_or_else(|| Error::not_found("payment_intent", &req.payment_intent))?;
    // The caller's intent first (a live key asking about a test intent: 404).
    let intent = payment::get_intent(state, p, &intent_id).await?;
    if let Some(earlier) = by_key(state, p, &intent_id, req.idempotency_key.as_deref()).await? {
        return Ok(earlier);
    }
    let through = ask::route_for(state, &intent, req.amount).await?;
    let id = RefundId::trusted(ids::new_id("re"));
    let provider_ref = ask::reference_for(through.as_ref(), &id);
    let connector_id = through.map(|c| c.id.to_string());
    let metadata = serde_json::to_string(&req.metadata)
        .map_err(|e| Error::Internal(format!("refund metadata: {e}")))?;
    let (intent_ref, id_ref, intent_id_ref) = (&intent, &id, &intent_id);
    let key = req.idempotency_key.clone();
    let (requested, reason) = (req.amount, req.reason);
    let created = state
        .writer
        .transaction(|tx| async move {
            let (intent, id, intent_id) = (intent_ref, id_ref, intent_id_ref);
            let amount = reserve(&tx, intent_id, requested).await?;
            let row = refund::ActiveModel {
                id: Set(id.clone()),
                merchant_id: Set(intent.merchant_id.clone()),
                livemode: Set(intent.livemode),
                payment_intent_id: Set(intent_id.clone()),
                amount: Set(amount),
                currency: Set(intent.currency),
                status: Set(RefundStatus::Pending),
                reason: Set(reason),
                failure_reason: Set(None),
                metadata: Set(metadata),
                pending_outcome: Set(None),
                settle_at: Set(None),
                created: Set(state.clock.now()),
                idempotency_key: Set(key),
                connector_id: Set(connector_id),
                provider_ref: Set(provider_ref),
            }
            .insert(&tx)
            .await
            .map_err(|e| match crate::db::is_unique_violation(&e) {
                // Its key's refund committed meanwhile: answered below.
                true => Error::Conflict(Conflict::IdempotencyKeyInUse),
                false => e.into(),
            })?;
            let event = NewEvent::new(state, EventType::RefundCreated, EventObject::Refund(&row))?;
            outbox::record(state, &tx, &row.merchant_id, row.livemode, vec![event]).await?;
            Ok(row)
        })
        .await;
    let row = match created {
        Err(Error::Conflict(Conflict::IdempotencyKeyInUse)) => {
            return by_key(state, p, &intent_id, req.idempotency_key.as_deref())
                .await?
                .ok_or(Error::Conflict(Conflict::IdempotencyKeyInUse));
        }
        other => other?,
    };
    ask::ask(state, &row, true).await?;
    get_by_id(state, &id).await
}

/// Reserves `requested` (or all that is left) of a succeeded intent's
/// amount, inside `tx`, with a conditional update.
async fn reserve(
    tx: &crate::db::WriteTx,
    id: &PaymentIntentId,
    requested: Option<Amount>,
) -> Result<Amount> {
    // A default amount is recomputed if another refund got in between.
    for _ in 0..5 {
        let current = pi::Entity::find_by_id(id)
            .unique(tx)
            .await?
            .ok_or_else(|| Error::Internal("missing intent".into()))?;
        if current.status != IntentStatus::Succeeded {
            return Err(Error::Conflict(Conflict::IntentUnexpectedState));
        }
        let left = current.amount.minor() - current.amount_refunded.minor();
        let amount = match requested {
            Some(a) => a,
            None if left <= 0 => return Err(Error::ChargeAlreadyRefunded),
            None => {
                Amount::new(left).ok_or_else(|| Error::Internal("negative remainder".into()))?
            }
        };
        let mut update = pi::Entity::update_many()
            .col_expr(
                pi::Column::AmountRefunded,
                Expr::col(pi::Column::AmountRefunded).add(amount.minor()),
            )
            .filter(pi::Column::Id.eq(id))
            .filter(pi::Column::Status.eq(IntentStatus::Succeeded))
            .filter(
                Expr::col(pi::Column::AmountRefunded)
                    .add(amount.minor())
                    .lte(Expr::col(pi::Column::Amount)),
            );
        if requested.is_none() {
            update = update.filter(pi::Column::AmountRefunded.eq(current.amount_refunded));
        }
        if update.exec(tx).await?.rows_affected == 1 {
            return Ok(amount);
        }
        if requested.is_some() {
            // Re-read only to name the refusal.
            let now = pi::Entity::find_by_id(id).unique(tx).await?;
            return Err(match now {
                Some(i) if i.status != IntentStatus::Succeeded => {
                    Error::Conflict(Conflict::IntentUnexpectedState)
                }
                _ => Error::RefundTooLarge,
            });
        }
    }
    Err(Error::RefundTooLarge)
}

/// Ends pending refund `id`: `succeeded`, or `failed` with its amount given
/// back to the intent; one transaction with its event. False when it was
/// not pending any more (someone else settled it).
pub async fn settle(state: &AppState, id: &RefundId, how: RefundSettlement) -> Result<bool> {
    state
        .writer
        .transaction(|tx| async move {
            let (status, reason) = match &how {
                RefundSettlement::Succeed => (RefundStatus::Succeeded, None),
                RefundSettlement::Fail(r) => (RefundStatus::Failed, Some(r.clone())),
            };
            let updated = refund::Entity::update_many()
                .col_expr(refund::Column::Status, Expr::value(status))
                .col_expr(refund::Column::FailureReason, Expr::value(reason))
                .col_expr(
                    refund::Column::PendingOutcome,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(refund::Column::SettleAt, Expr::value(Option::<i64>::None))
                .filter(refund::Column::Id.eq(id))
                .filter(refund::Column::Status.eq(RefundStatus::Pending))
                .exec(&tx)
                .await?;
            if updated.rows_affected != 1 {
                tx.rollback_only();
                return Ok(false);
            }
            let r = refund::Entity::find_by_id(id)
                .unique(&tx)
                .await?
                .ok_or_else(|| Error::Internal("missing refund".into()))?;
            if status == RefundStatus::Succeeded {
                tally::refund_succeeded(&tx, &r)?;
            }
            let kind = if status == RefundStatus::Failed {
                pi::Entity::update_many()
                    .col_expr(
                        pi::Column::AmountRefunded,
                        Expr::col(pi::Column::AmountRefunded).sub(r.amount.minor()),
                    )
                    .filter(pi::Column::Id.eq(&r.payment_intent_id))
                    .exec(&tx)
                    .await?;
                EventType::RefundFailed
            } else {
                EventType::RefundUpdated
            };
            let event = NewEvent::new(state, kind, EventObject::Refund(&r))?;
            outbox::record(state, &tx, &r.merchant_id, r.livemode, vec![event]).await?;
            Ok(true)
        })
        .await
}

/// Settles pending refunds whose outcome is due, and asks the processor
/// again about those it never answered. Returns how many settled.
pub async fn settle_due(state: &AppState) -> Result<usize> {
    let now = state.clock.now();
    let due = refund::Entity::find()
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .filter(refund::Column::SettleAt.lte(now))
        .limit(200)
        .all(&state.db)
        .await?;
    let mut n = 0;
    for r in due {
        match r.pending_outcome.as_deref() {
            Some(outcome) => {
                n += usize::from(settle(state, &r.id, RefundSettlement::decode(outcome)).await?);
            }
            // A provider that had it processing, or did not answer: ask
            // again (one process: the claim moves `settle_at`).
            None if claim_ask(state, &r).await? => ask::ask(state, &r, false).await?,
            None => {}
        }
    }
    let unanswered = refund::Entity::find()
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .filter(refund::Column::SettleAt.is_null())
        .filter(refund::Column::Created.lte(now - STALE_SECS))
        .limit(200)
        .all(&state.db)
        .await?;
    for r in unanswered {
        if claim_ask(state, &r).await? {
            ask::ask(state, &r, false).await?;
        }
    }
    Ok(n)
}

/// Takes the next question to the provider about refund `r` for this
/// process: a conditional update of `settle_at` only one process wins.
async fn claim_ask(state: &AppState, r: &refund::Model) -> Result<bool> {
    let mut q = refund::Entity::update_many()
        .col_expr(
            refund::Column::SettleAt,
            Expr::value(state.clock.now() + ask::ASK_AGAIN_SECS),
        )
        .filter(refund::Column::Id.eq(&r.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending));
    q = match r.settle_at {
        Some(at) => q.filter(refund::Column::SettleAt.eq(at)),
        None => q.filter(refund::Column::SettleAt.is_null()),
    };
    let claimed = state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// A pending refund's timer fired: settle it from its stored outcome.
pub async fn settle_pending(state: &AppState, id: &RefundId) -> Result<bool> {
    let Some(r) = refund::Entity::find_by_id(id).unique(&state.db).await? else {
        return Ok(false);
    };
    match (r.status, r.pending_outcome.as_deref()) {
        (RefundStatus::Pending, Some(outcome)) => {
            settle(state, id, RefundSettlement::decode(outcome)).await
        }
        _ => Ok(false),
    }
}

/// The refund created earlier with `key`, if any: the answer to a retry of
/// the same request; the same key for another payment is a mismatch.
async fn by_key(
    state: &AppState,
    p: &Principal,
    intent_id: &PaymentIntentId,
    key: Option<&str>,
) -> Result<Option<refund::Model>> {
    let Some(key) = key else { return Ok(None) };
    let found = refund::Entity::find()
        .filter(refund::Column::MerchantId.eq(&p.merchant_id))
        .filter(refund::Column::Livemode.eq(p.livemode))
        .filter(refund::Column::IdempotencyKey.eq(key))
        .unique(&state.db)
        .await?;
    match found {
        Some(r) if &r.payment_intent_id != intent_id => Err(Error::IdempotencyMismatch),
        other => Ok(other),
    }
}

async fn get_by_id(state: &AppState, id: &RefundId) -> Result<refund::Model> {
    refund::Entity::find_by_id(id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("missing refund".into()))
}

pub async fn get(state: &AppState, p: &Principal, id: &RefundId) -> Result<refund::Model> {
    p.require(Scope::Read)?;
    refund::Entity::find_by_id(id)
        .filter(refund::Column::MerchantId.eq(&p.merchant_id))
        .filter(refund::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("refund", id))
}

/// The caller's refunds, newest first, optionally of one intent.
pub async fn list(
    state: &AppState,
    p: &Principal,
    payment_intent: Option<&str>,
    limit: Option<i64>,
    starting_after: Option<&str>,
) -> Result<(Vec<refund::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = crate::service::paging::limit_of(limit)?;
    let mut find = refund::Entity::find()
        .filter(refund::Column::MerchantId.eq(&p.merchant_id))
        .filter(refund::Column::Livemode.eq(p.livemode));
    if let Some(intent) = payment_intent {
        crate::validation::no_controls("payment_intent", intent)?;
        find = find.filter(refund::Column::PaymentIntentId.eq(intent));
    }
    if let Some(after) = starting_after {
        let cursor = RefundId::parse(after)
            .ok_or_else(|| Error::invalid("starting_after", "No such refund for this cursor."))?;
        let c = get(state, p, &cursor)
            .await
            .map_err(|_| Error::invalid("starting_after", "No such refund for this cursor."))?;
        find = find.filter(crate::service::paging::older_than(
            refund::Column::Created,
            refund::Column::Id,
            c.created,
            &c.id,
        ));
    }
    crate::service::paging::newest_page(
        &state.db,
        find,
        refund::Column::Created,
        refund::Column::Id,
        limit,
    )
    .await
}

/// Refunds of intents the caller already owns (GraphQL), newest first.
pub async fn by_intents(
    state: &AppState,
    intent_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<refund::Model>>> {
    let rows = refund::Entity::find()
        .filter(refund::Column::PaymentIntentId.is_in(intent_ids.iter().cloned()))
        .order_by_desc(refund::Column::Created)
        .order_by_desc(refund::Column::Id)
        .all(&state.db)
        .await?;
    let mut out: std::collections::HashMap<String, Vec<refund::Model>> = Default::default();
    for r in rows {
        out.entry(r.payment_intent_id.to_string())
            .or_default()
            .push(r);
    }
    Ok(out)
}
