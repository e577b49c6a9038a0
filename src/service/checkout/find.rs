//! Reading one session: by id (with its first items), and its line items.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QueryTrait,
};

use super::*;
use crate::AppState;
use crate::db::{Shape, Unique};
use crate::domain::principal::{Principal, Scope};
use crate::domain::{CheckoutSessionId, LineItemId};
use crate::error::{Error, Result};
use crate::service::paging::limit_of;

/// Session `id` if it is the caller's (merchant and mode).
fn owned(p: &Principal, id: &CheckoutSessionId) -> sea_orm::Select<cs::Entity> {
    cs::Entity::find_by_id(id)
        .filter(cs::Column::MerchantId.eq(&p.merchant_id))
        .filter(cs::Column::Livemode.eq(p.livemode))
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
    static SHAPE: Shape = Shape::new();
    let values = vec![
        id.clone().into(),
        p.merchant_id.clone().into(),
        p.livemode.into(),
    ];
    with_first_items(&state.db, &SHAPE, values, || owned(p, id))
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))
}

/// The session `select` finds, with its first `EMBEDDED_ITEMS` line items,
/// in one statement (`LEFT JOIN`, a row per item). `values` are what
/// `select` binds, in order: the SQL text is built once per `shape`.
pub async fn with_first_items(
    db: &impl sea_orm::ConnectionTrait,
    shape: &Shape,
    mut values: Vec<sea_orm::Value>,
    select: impl FnOnce() -> sea_orm::Select<cs::Entity>,
) -> Result<Option<(cs::Model, Vec<li::Model>)>> {
    let first = i32::try_from(EMBEDDED_ITEMS).unwrap_or(i32::MAX);
    values.push(first.into());
    let backend = db.get_database_backend();
    let stmt = shape.statement(backend, values, || {
        select()
            .find_with_related(li::Entity)
            .filter(
                Condition::any()
                    .add(li::Column::Position.lt(first))
                    .add(li::Column::Position.is_null()),
            )
            .order_by_asc(li::Column::Position)
            .build(backend)
    });
    // `find_with_related`'s aliases: `A_` (the session), `B_` (an item).
    let mut found: Option<(cs::Model, Vec<li::Model>)> = None;
    for row in db.query_all_raw(stmt).await? {
        let item = li::Model::from_query_result_optional(&row, "B_")?;
        let (_, items) = match &mut found {
            Some(f) => f,
            None => found.insert((cs::Model::from_query_result(&row, "A_")?, Vec::new())),
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
