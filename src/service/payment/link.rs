//! A pay of a payment link's session: the link's limit and the typed amount,
//! decided in the claim's transaction.
//!
//! `payment_links.taken` counts the link's sessions paid or being paid. The
//! claim adds one only while it is below the limit — one conditional update
//! on the link's row, which concurrent claims take in turn (PostgreSQL
//! re-checks the condition on the row a first claim committed; SQLite has
//! one writer) — so the last allowed session goes to exactly one customer;
//! the other is told the link is used up before anything is charged. A
//! failed attempt gives its slot back in its settling transaction.
use entity::{checkout_session as cs, line_item as li, payment_intent as pi, payment_link as pl};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::db::WriteTx;
use crate::domain::payment_link::SessionCustomAmount;
use crate::domain::{Amount, CheckoutSessionId, PaymentLinkId};
use crate::error::{Conflict, Error, FieldError, Result};
use crate::service::checkout::PublicView;
use crate::service::stored;

/// The amount a customer typed, checked against the session's bounds.
pub struct Typed {
    pub position: i32,
    pub amount: Amount,
}

/// `amount` in a pay body: required within the bounds of a custom-amount
/// session, refused anywhere else.
pub fn typed_amount(view: &PublicView, amount: Option<i64>) -> Result<Option<Typed>> {
    let custom: Option<SessionCustomAmount> = stored::custom_amount(&view.session)?;
    match (custom, amount) {
        (None, None) => Ok(None),
        // As before payment links: the body has no such field for this session.
        (None, Some(_)) => Err(Error::Validation(vec![FieldError::unknown("amount")])),
        (Some(_), None) => Err(Error::Validation(vec![FieldError::missing("amount")])),
        (Some(c), Some(a)) => Ok(Some(Typed {
            position: c.position,
            amount: c.bounds.check(a, "amount")?,
        })),
    }
}

/// The amount the test helper pays a custom-amount session with: the
/// preset, else the minimum.
pub fn helper_amount(view: &PublicView) -> Result<Option<Typed>> {
    let Some(c) = stored::custom_amount(&view.session)? else {
        return Ok(None);
    };
    let minor = c.bounds.preset.unwrap_or(c.bounds.minimum);
    Ok(Some(Typed {
        position: c.position,
        amount: c.bounds.check(minor, "amount")?,
    }))
}

/// Takes one of the link's sessions, or refuses: `Conflict::PaymentLinkUsedUp`
/// (the caller's transaction then rolls back).
pub async fn take_slot(tx: &WriteTx, link: &PaymentLinkId) -> Result<()> {
    let took = pl::Entity::update_many()
        .col_expr(pl::Column::Taken, Expr::col(pl::Column::Taken).add(1))
        .filter(pl::Column::Id.eq(link))
        .filter(
            Condition::any()
                .add(pl::Column::CompletedLimit.is_null())
                .add(Expr::col(pl::Column::Taken).lt(Expr::col(pl::Column::CompletedLimit))),
        )
        .exec(tx)
        .await?;
    if took.rows_affected == 1 {
        Ok(())
    } else {
        Err(Error::Conflict(Conflict::PaymentLinkUsedUp))
    }
}

/// The typed amount becomes the item's price and the session's and
/// intent's totals (checked: the other items plus the amount).
pub async fn apply_amount(tx: &WriteTx, view: &PublicView, typed: &Typed) -> Result<()> {
    let s = &view.session;
    let item = view
        .items
        .iter()
        .find(|i| i.position == typed.position)
        .ok_or_else(|| Error::Internal("custom amount item missing".into()))?;
    let overflow = || Error::Internal("custom amount total overflows".into());
    let others = s
        .amount_total
        .minor()
        .checked_sub(item.amount_total.minor())
        .ok_or_else(overflow)?;
    let total = Amount::new(others)
        .and_then(|o| o.plus(typed.amount))
        .ok_or_else(overflow)?;
    li::Entity::update_many()
        .col_expr(li::Column::Amount, Expr::value(typed.amount))
        .col_expr(li::Column::AmountTotal, Expr::value(typed.amount))
        .filter(li::Column::Id.eq(&item.id))
        .exec(tx)
        .await?;
    cs::Entity::update_many()
        .col_expr(cs::Column::AmountSubtotal, Expr::value(total))
        .col_expr(cs::Column::AmountTotal, Expr::value(total))
        .filter(cs::Column::Id.eq(&s.id))
        .filter(cs::Column::Status.eq(crate::domain::SessionStatus::Open))
        .exec(tx)
        .await?;
    pi::Entity::update_many()
        .col_expr(pi::Column::Amount, Expr::value(total))
        .filter(pi::Column::Id.eq(&view.intent.id))
        .exec(tx)
        .await?;
    Ok(())
}

/// A failed attempt gives back the slot its session took, if the session
/// is a link's (one statement; no row for any other session).
pub async fn give_back(tx: &WriteTx, session: &CheckoutSessionId) -> Result<()> {
    let link_of_session = Query::select()
        .column(cs::Column::PaymentLinkId)
        .from(cs::Entity)
        .and_where(cs::Column::Id.eq(session))
        .to_owned();
    pl::Entity::update_many()
        .col_expr(pl::Column::Taken, Expr::col(pl::Column::Taken).sub(1))
        .filter(pl::Column::Id.in_subquery(link_of_session))
        .filter(pl::Column::Taken.gt(0))
        .exec(tx)
        .await?;
    Ok(())
}

/// A paid session of a link adds to its totals.
pub async fn count_paid(tx: &WriteTx, session: &cs::Model) -> Result<()> {
    if let Some(link) = &session.payment_link_id {
        pl::Entity::update_many()
            .col_expr(
                pl::Column::CompletedSessions,
                Expr::col(pl::Column::CompletedSessions).add(1),
            )
            .col_expr(
                pl::Column::Volume,
                Expr::col(pl::Column::Volume).add(session.amount_total.minor()),
            )
            .filter(pl::Column::Id.eq(link))
            .exec(tx)
            .await?;
    }
    Ok(())
}
