//! Claiming an intent: `requires_payment_method → processing` for exactly
//! one attempt, before the processor is called (a payment link's session:
//! with its slot and typed amount, in one transaction).
use entity::{payment_intent as pi, provider_attempt as pa};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::link;
use crate::AppState;
use crate::db::Unique;
use crate::domain::{IntentStatus, PaymentIntentId};
use crate::error::{Conflict, Error, Result};
use crate::service::checkout::PublicView;
use crate::service::stored;
use crate::service::stored::StoredPaymentMethod as PaymentMethodSummary;

/// The intents whose claim is being sent by this process right now.
static CLAIMING: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// One claim of an intent in flight in this process: while a claim waits
/// (its row locked by someone else, up to `db::LOCK_TIMEOUT`), a second
/// one would wait on the same lock holding another pooled connection — a
/// dozen pays on one stuck session held every write connection. It is
/// answered at once instead, as it would be once the first claim got the
/// row: a payment for this session is in progress.
struct Claiming(String);

impl Claiming {
    fn start(intent_id: &PaymentIntentId) -> Result<Claiming> {
        let id = intent_id.to_string();
        let mut set = CLAIMING.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(id.clone()) {
            return Err(Error::Conflict(Conflict::PaymentInProgress));
        }
        Ok(Claiming(id))
    }
}

impl Drop for Claiming {
    fn drop(&mut self) {
        CLAIMING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// `requires_payment_method → processing` for exactly one attempt.
/// `provider`: the attempt's provider row (`provider::prepare`), inserted
/// in the claim's own transaction.
pub(super) async fn claim(
    state: &AppState,
    intent_id: &PaymentIntentId,
    attempt: &str,
    summary: &PaymentMethodSummary,
    provider: Option<pa::ActiveModel>,
) -> Result<()> {
    let _claiming = Claiming::start(intent_id)?;
    let claimed = claim_query(state, intent_id, attempt, summary)?;
    let claimed = match provider {
        None => {
            state
                .writer
                .one(|c| async move { claimed.exec(&c).await })
                .await?
                .rows_affected
                == 1
        }
        Some(row) => {
            let row = &row;
            state
                .writer
                .transaction(|tx| async move {
                    if claimed.exec(&tx).await?.rows_affected != 1 {
                        tx.rollback_only();
                        return Ok(false);
                    }
                    row.clone().insert(&tx).await?;
                    Ok::<_, Error>(true)
                })
                .await?
        }
    };
    if claimed {
        return Ok(());
    }
    Err(not_claimed(state, intent_id).await?)
}

/// `claim` for a payment link's session: in one transaction the intent, one
/// of the link's allowed sessions (`link::take_slot`) and the typed amount.
pub(super) async fn claim_for_link(
    state: &AppState,
    view: &PublicView,
    attempt: &str,
    summary: &PaymentMethodSummary,
    typed: Option<link::Typed>,
    provider: Option<pa::ActiveModel>,
) -> Result<()> {
    let intent_id = &view.intent.id;
    let _claiming = Claiming::start(intent_id)?;
    let Some(link_id) = view.session.payment_link_id.as_ref() else {
        return Err(Error::Internal("a link's claim without a link".into()));
    };
    let claimed = claim_query(state, intent_id, attempt, summary)?;
    let (typed, provider) = (&typed, &provider);
    let claimed = state
        .writer
        .transaction(|tx| async move {
            if claimed.exec(&tx).await?.rows_affected != 1 {
                tx.rollback_only();
                return Ok(false);
            }
            link::take_slot(&tx, link_id).await?;
            if let Some(t) = typed {
                link::apply_amount(&tx, view, t).await?;
            }
            if let Some(row) = provider {
                // The amount as claimed: a typed amount changed the intent's.
                let amount = pi::Entity::find_by_id(intent_id)
                    .unique(&tx)
                    .await?
                    .ok_or_else(|| Error::Internal("claimed intent vanished".into()))?
                    .amount;
                let mut row = row.clone();
                row.amount = sea_orm::Set(amount.minor());
                row.insert(&tx).await?;
            }
            Ok::<_, Error>(true)
        })
        .await?;
    if claimed {
        return Ok(());
    }
    Err(not_claimed(state, intent_id).await?)
}

fn claim_query(
    state: &AppState,
    intent_id: &PaymentIntentId,
    attempt: &str,
    summary: &PaymentMethodSummary,
) -> Result<sea_orm::UpdateMany<pi::Entity>> {
    Ok(pi::Entity::update_many()
        .col_expr(pi::Column::Status, Expr::value(IntentStatus::Processing))
        .col_expr(pi::Column::AttemptId, Expr::value(attempt))
        .col_expr(
            pi::Column::PaymentMethod,
            Expr::value(stored::encode(summary, "payment_intents.payment_method")?),
        )
        .col_expr(
            pi::Column::LastPaymentError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(pi::Column::Updated, Expr::value(state.clock.now()))
        .filter(pi::Column::Id.eq(intent_id))
        .filter(pi::Column::Status.eq(IntentStatus::RequiresPaymentMethod)))
}

/// Why a claim touched no row: the intent's state, as a conflict.
async fn not_claimed(state: &AppState, intent_id: &PaymentIntentId) -> Result<Error> {
    let current = pi::Entity::find_by_id(intent_id)
        .unique(&state.db)
        .await?
        .map(|i| i.status);
    Ok(Error::Conflict(match current {
        Some(IntentStatus::Succeeded) => Conflict::SessionCompleted,
        Some(IntentStatus::Canceled) => Conflict::SessionExpired,
        Some(IntentStatus::Processing | IntentStatus::RequiresPaymentMethod) => {
            Conflict::PaymentInProgress
        }
        None => return Err(Error::Internal("claimed intent vanished".into())),
    }))
}
