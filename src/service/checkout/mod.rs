//! Checkout sessions: creation (cross-field rules, totals), reads, lists,
//! the public view and expiry. Every state change is one write transaction.
mod count;
mod create;
mod expiry;
mod find;
mod list;
mod public;

use entity::{checkout_session as cs, line_item as li};

pub use crate::service::views::PublicView;
pub use count::count;
pub use create::{create, create_for_link};
pub use expiry::{expire, expire_by_id, expire_if_due, sweep_expired};
pub use find::{find_owned, first_items, get, line_items, read};
pub use list::{
    PageRequest, SessionFilter, list, page, payment_link_param, status_param, with_items,
};
pub use public::{merchant_name, public_view};

use crate::AppState;
use crate::domain::SessionStatus;
use crate::error::Result;

/// Line items embedded in a session object.
pub const EMBEDDED_ITEMS: u64 = 10;

pub use crate::service::views::SessionView;

/// Open sessions past `expires_at` that the sweeper has not stored as
/// expired yet (readers already see them expired): a seek on the partial
/// index `checkout_sessions_open_due`, whose `WHERE status = 'open'` the
/// literal here provably implies (a bound parameter would not, for a
/// PostgreSQL generic plan).
pub fn due_open(now: i64) -> sea_orm::Condition {
    use sea_orm::ColumnTrait;
    sea_orm::Condition::all()
        .add(sea_orm::sea_query::Expr::cust(
            "\"checkout_sessions\".\"status\" = 'open'",
        ))
        .add(cs::Column::ExpiresAt.lte(now))
}

/// Open and past `expires_at`: expired for every reader, stored as expired
/// by the first read (or the sweeper).
pub fn is_due(s: &cs::Model, now: i64) -> bool {
    s.status == SessionStatus::Open && now >= s.expires_at
}

/// The status a reader sees at `now`.
pub fn effective_status(s: &cs::Model, now: i64) -> SessionStatus {
    if is_due(s, now) {
        SessionStatus::Expired
    } else {
        s.status
    }
}

/// The session as a reader sees it. A single read past `expires_at`
/// persists the expiry (and its one event) before answering.
async fn load_view(state: &AppState, session: cs::Model) -> Result<SessionView> {
    let session = expire_if_due(state, session).await?;
    assemble_view(&state.db, session, state.clock.now()).await
}

/// The session as it is inside `tx`, after a change and before commit: the
/// object the change's event carries.
pub async fn view_in(
    tx: &impl sea_orm::ConnectionTrait,
    id: &crate::domain::CheckoutSessionId,
    now: i64,
) -> Result<SessionView> {
    use sea_orm::EntityTrait;
    type Args = (crate::domain::CheckoutSessionId, i32);
    static SHAPE: crate::db::Shape<Args> = crate::db::Shape::new(|(id, first): &Args, backend| {
        find::with_first_items(cs::Entity::find_by_id(id), *first, backend)
    });
    let args = (id.clone(), find::first_items_bound());
    let stmt = SHAPE.statement(tx.get_database_backend(), &args);
    let (session, items) = find::session_and_items(tx, stmt)
        .await?
        .ok_or_else(|| crate::error::Error::Internal("missing session".into()))?;
    Ok(view_of(session, items, now))
}

async fn assemble_view(
    db: &impl sea_orm::ConnectionTrait,
    session: cs::Model,
    now: i64,
) -> Result<SessionView> {
    let items = first_items(db, std::slice::from_ref(&session.id), EMBEDDED_ITEMS)
        .await?
        .remove(&session.id)
        .unwrap_or_default();
    Ok(view_of(session, items, now))
}

/// The view of a session whose first `EMBEDDED_ITEMS` items are `items`.
fn view_of(session: cs::Model, items: Vec<li::Model>, now: i64) -> SessionView {
    let has_more_items = session.line_item_count as u64 > EMBEDDED_ITEMS;
    let status = effective_status(&session, now);
    SessionView {
        session,
        items,
        has_more_items,
        status,
    }
}
