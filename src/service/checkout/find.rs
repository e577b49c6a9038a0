//! Reading one session: by id (with its first items), and its line items.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait,
};

use super::*;
use crate::AppState;
use crate::db::{Shape, Unique, columns};
use crate::domain::principal::{Principal, Scope};
use crate::domain::{CheckoutSessionId, LineItemId, MerchantId};
use crate::error::{Error, Result};
use crate::service::paging::limit_of;

/// Session `id` if it is the caller's (merchant and mode).
fn owned(p: &Principal, id: &CheckoutSessionId) -> sea_orm::Select<cs::Entity> {
    owned_by(&p.merchant_id, p.livemode, id)
}

fn owned_by(
    merchant: &MerchantId,
    livemode: bool,
    id: &CheckoutSessionId,
) -> sea_orm::Select<cs::Entity> {
    cs::Entity::find_by_id(id)
        .filter(cs::Column::MerchantId.eq(merchant))
        .filter(cs::Column::Livemode.eq(livemode))
}

/// A session of this merchant and mode, or `404`.
pub async fn find_owned(
    state: &AppState,
    p: &Principal,
    id: &CheckoutSessionId,
) -> Result<cs::Model> {
    owned(p, id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))
}

/// One statement: the caller's session `LEFT JOIN` its first
/// `EMBEDDED_ITEMS` items (a row per item). A session past `expires_at`
/// takes `load_view`'s path, which persists the expiry first (REST's
/// retrieve: its answer and the stored row agree).
pub async fn get(state: &AppState, p: &Principal, id: &CheckoutSessionId) -> Result<SessionView> {
    let (session, items) = first_read(state, p, id).await?;
    if is_due(&session, state.clock.now()) {
        return load_view(state, session).await;
    }
    Ok(view_of(session, items, state.clock.now()))
}

/// `get` without a write: a session past `expires_at` reads as expired and
/// the sweeper, or the next write, stores it so (GraphQL's
/// `checkoutSession(id)`: a query never writes).
pub async fn read(state: &AppState, p: &Principal, id: &CheckoutSessionId) -> Result<SessionView> {
    let (session, items) = first_read(state, p, id).await?;
    Ok(view_of(session, items, state.clock.now()))
}

async fn first_read(
    state: &AppState,
    p: &Principal,
    id: &CheckoutSessionId,
) -> Result<(cs::Model, Vec<li::Model>)> {
    p.require(Scope::Read)?;
    type Args = (CheckoutSessionId, MerchantId, bool, i32);
    static SHAPE: Shape<Args> = Shape::new(|(id, merchant, livemode, first): &Args, backend| {
        with_first_items(owned_by(merchant, *livemode, id), *first, backend)
    });
    let args = (
        id.clone(),
        p.merchant_id.clone(),
        p.livemode,
        first_items_bound(),
    );
    let stmt = SHAPE.statement(state.db.get_database_backend(), &args);
    session_and_items(&state.db, stmt)
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))
}

/// `EMBEDDED_ITEMS` as the bound on an item's position.
pub(super) fn first_items_bound() -> i32 {
    i32::try_from(EMBEDDED_ITEMS).unwrap_or(i32::MAX)
}

/// The sessions `select` finds, each with its items of position `< first`,
/// in one statement: a `LEFT JOIN`, a row per item, the session's columns
/// as `s_<column>` and the item's as `i_<column>`.
pub(super) fn with_first_items(
    select: sea_orm::Select<cs::Entity>,
    first: i32,
    backend: sea_orm::DbBackend,
) -> sea_orm::Statement {
    let select = columns::<cs::Entity, _>(select.select_only(), "s_");
    columns::<li::Entity, _>(select, "i_")
        .join(JoinType::LeftJoin, cs::Relation::LineItems.def())
        .filter(
            Condition::any()
                .add(li::Column::Position.lt(first))
                .add(li::Column::Position.is_null()),
        )
        .order_by_asc(li::Column::Position)
        .build(backend)
}

/// The one session of `with_first_items`' rows, with its items.
pub(super) async fn session_and_items(
    db: &impl sea_orm::ConnectionTrait,
    stmt: sea_orm::Statement,
) -> Result<Option<(cs::Model, Vec<li::Model>)>> {
    let mut found: Option<(cs::Model, Vec<li::Model>)> = None;
    for row in db.query_all_raw(stmt).await? {
        let item = li::Model::from_query_result_optional(&row, "i_")?;
        let (_, items) = match &mut found {
            Some(f) => f,
            None => found.insert((cs::Model::from_query_result(&row, "s_")?, Vec::new())),
        };
        items.extend(item);
    }
    Ok(found)
}

/// The first `first` line items of each session, in position order: the one
/// implementation behind embedded items, REST and GraphQL. Positions are
/// 0..n, so a bound on the position replaces `LIMIT` per session.
pub async fn first_items(
    db: &impl sea_orm::ConnectionTrait,
    session_ids: &[CheckoutSessionId],
    first: u64,
) -> Result<BTreeMap<CheckoutSessionId, Vec<li::Model>>> {
    let mut by_session: BTreeMap<CheckoutSessionId, Vec<li::Model>> = BTreeMap::new();
    if session_ids.is_empty() {
        return Ok(by_session);
    }
    let items = li::Entity::find()
        .filter(li::Column::SessionId.is_in(session_ids.iter().cloned()))
        .filter(li::Column::Position.lt(i32::try_from(first).unwrap_or(i32::MAX)))
        .order_by_asc(li::Column::Position)
        .all(db)
        .await?;
    for it in items {
        by_session
            .entry(it.session_id.clone())
            .or_default()
            .push(it);
    }
    Ok(by_session)
}

pub async fn line_items(
    state: &AppState,
    p: &Principal,
    id: &CheckoutSessionId,
    q: &PageRequest,
) -> Result<(Vec<li::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = limit_of(q.limit)?;
    find_owned(state, p, id).await?;
    let position_of = |item: &str, param: &'static str| {
        let item = item.to_string();
        let session = id.clone();
        async move {
            let Some(item) = LineItemId::parse(&item) else {
                return Err(Error::invalid(param, "No such line item in this session."));
            };
            li::Entity::find_by_id(item)
                .filter(li::Column::SessionId.eq(session))
                .unique(&state.db)
                .await?
                .map(|i| i.position)
                .ok_or_else(|| Error::invalid(param, "No such line item in this session."))
        }
    };
    let mut find = li::Entity::find().filter(li::Column::SessionId.eq(id));
    let backwards = q.ending_before.is_some();
    if let Some(after) = &q.starting_after {
        find = find.filter(li::Column::Position.gt(position_of(after, "starting_after").await?));
    }
    if let Some(before) = &q.ending_before {
        find = find.filter(li::Column::Position.lt(position_of(before, "ending_before").await?));
    }
    crate::service::paging::keyset_page(
        &state.db,
        find,
        li::Column::Position,
        false,
        backwards,
        limit,
    )
    .await
}
