//! Reading sessions: one by id, keyset pages with filters, counts, line items.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li, session_count as sc};
use sea_orm::sea_query::{Expr, ExprTrait, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::*;
use crate::AppState;
use crate::db::{Shape, Unique};
use crate::domain::principal::{Principal, Scope};
use crate::domain::{CheckoutSessionId, LineItemId};
use crate::domain::{Currency, Mode, SessionStatus};
use crate::error::{Error, Result};

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
/// takes `load_view`'s path, which persists the expiry first.
pub async fn get(state: &AppState, p: &Principal, id: &CheckoutSessionId) -> Result<SessionView> {
    p.require(Scope::Read)?;
    static SHAPE: Shape = Shape::new();
    let values = vec![
        id.clone().into(),
        p.merchant_id.clone().into(),
        p.livemode.into(),
    ];
    let (session, items) = with_first_items(&state.db, &SHAPE, values, || owned(p, id))
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))?;
    let now = state.clock.now();
    if is_due(&session, now) {
        return load_view(state, session).await;
    }
    Ok(view_of(session, items, now))
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

use crate::service::paging::{first_rows, limit_of};

/// What a list of sessions is narrowed to (REST query and GraphQL filter).
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<String>,
    pub mode: Option<String>,
    pub currency: Option<String>,
    /// Inclusive.
    pub created_gte: Option<i64>,
    /// Inclusive.
    pub created_lte: Option<i64>,
    pub payment_intent: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    /// Matches an id, `client_reference_id` or `customer_email` exactly.
    pub search: Option<String>,
}

impl SessionFilter {
    fn search(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
    }

    /// Narrowed by status, mode and currency at most: counted from the
    /// counters, not from the sessions.
    fn counted_by_counters(&self) -> bool {
        self.created_gte.is_none()
            && self.created_lte.is_none()
            && self.payment_intent.is_none()
            && self.client_reference_id.is_none()
            && self.customer_email.is_none()
            && self.search().is_none()
    }
}

/// A keyset page, newest first: `starting_after` pages to older sessions,
/// `ending_before` (or `from_end`) to newer ones.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
    /// Take the page from the oldest end (GraphQL `last` without `before`).
    pub from_end: bool,
}

/// The filter's enumerated parts, parsed.
struct Narrowed {
    status: Option<SessionStatus>,
    mode: Option<Mode>,
    currency: Option<Currency>,
}

fn narrowed(f: &SessionFilter) -> Result<Narrowed> {
    for (param, v) in [
        ("payment_intent", &f.payment_intent),
        ("client_reference_id", &f.client_reference_id),
        ("customer_email", &f.customer_email),
        ("search", &f.search),
    ] {
        if let Some(v) = v {
            crate::validation::no_controls(param, v)?;
        }
    }
    let status = f
        .status
        .as_deref()
        .map(|s| {
            SessionStatus::parse(s).ok_or_else(|| {
                Error::invalid("status", "status must be one of open, complete, expired.")
            })
        })
        .transpose()?;
    let mode = f
        .mode
        .as_deref()
        .map(|m| {
            Mode::parse(m)
                .ok_or_else(|| Error::invalid("mode", "mode must be payment or subscription."))
        })
        .transpose()?;
    let currency = crate::service::paging::currency_filter(f.currency.as_deref())?;
    Ok(Narrowed {
        status,
        mode,
        currency,
    })
}

/// The caller's sessions matching `f`, its status aside (see `status_parts`).
fn matching(p: &Principal, f: &SessionFilter, n: &Narrowed) -> sea_orm::Select<cs::Entity> {
    let mut find = cs::Entity::find();
    if let Some(q) = f.search() {
        // The few ids found drive the query (primary-key lookups); the
        // subquery keeps to the caller's merchant and mode. With the owner
        // here too, the planner would walk the owner's whole list instead.
        find = find.filter(cs::Column::Id.in_subquery(search_ids(p, q)));
    } else {
        find = find
            .filter(cs::Column::MerchantId.eq(&p.merchant_id))
            .filter(cs::Column::Livemode.eq(p.livemode));
    }
    if let Some(mode) = n.mode {
        find = find.filter(cs::Column::Mode.eq(mode));
    }
    if let Some(c) = n.currency {
        find = find.filter(cs::Column::Currency.eq(c.code()));
    }
    if let Some(t) = f.created_gte {
        find = find.filter(cs::Column::Created.gte(t));
    }
    if let Some(t) = f.created_lte {
        find = find.filter(cs::Column::Created.lte(t));
    }
    if let Some(v) = &f.payment_intent {
        find = find.filter(cs::Column::PaymentIntentId.eq(v));
    }
    if let Some(v) = &f.client_reference_id {
        find = find.filter(cs::Column::ClientReferenceId.eq(v));
    }
    if let Some(v) = &f.customer_email {
        find = find.filter(cs::Column::CustomerEmail.eq(v));
    }
    find
}

/// Ids of the caller's sessions whose id, `client_reference_id`,
/// `customer_email` or payment intent is `q`: one index seek per column,
/// united (an `OR` of the four would let the planner walk the list index).
fn search_ids(p: &Principal, q: &str) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Query, UnionType};
    let by = |column: cs::Column| {
        Query::select()
            .column(cs::Column::Id)
            .from(cs::Entity)
            .and_where(cs::Column::MerchantId.eq(&p.merchant_id))
            .and_where(cs::Column::Livemode.eq(p.livemode))
            .and_where(column.eq(q))
            .to_owned()
    };
    by(cs::Column::Id)
        .union(UnionType::All, by(cs::Column::ClientReferenceId))
        .union(UnionType::All, by(cs::Column::CustomerEmail))
        .union(UnionType::All, by(cs::Column::PaymentIntentId))
        .to_owned()
}

/// Sessions a reader sees in `status` at `now`, as disjoint conditions each
/// served by one index: an open session past `expires_at` reads as expired
/// before the sweeper stores it so, and those few are found through the
/// partial index of open sessions by expiry.
fn status_parts(status: Option<SessionStatus>, now: i64) -> Vec<Condition> {
    let open = || Condition::all().add(cs::Column::Status.eq(SessionStatus::Open));
    match status {
        None => vec![Condition::all()],
        // `+ 0`: not a range on the partial index of open sessions, so the
        // status index serves the filter and the order.
        Some(SessionStatus::Open) => vec![
            open().add(
                Expr::col((cs::Entity, cs::Column::ExpiresAt))
                    .add(0)
                    .gt(now),
            ),
        ],
        Some(SessionStatus::Expired) => vec![
            Condition::all().add(cs::Column::Status.eq(SessionStatus::Expired)),
            due_open(now),
        ],
        Some(SessionStatus::Complete) => {
            vec![Condition::all().add(cs::Column::Status.eq(SessionStatus::Complete))]
        }
    }
}

/// Newest first; a cursor is a session id of the same caller, giving its
/// (created, id) position, so pages are stable under inserts.
pub async fn page(
    state: &AppState,
    p: &Principal,
    f: &SessionFilter,
    page: &PageRequest,
) -> Result<(Vec<cs::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = limit_of(page.limit)?;
    let n = narrowed(f)?;
    let mut find = matching(p, f, &n);
    let backwards = page.ending_before.is_some() || page.from_end;
    match (&page.starting_after, &page.ending_before) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "ending_before",
                "Use starting_after or ending_before, not both.",
            ));
        }
        (Some(id), None) => {
            find = find.filter(beyond_cursor(state, p, id, "starting_after", true).await?)
        }
        (None, Some(id)) => {
            find = find.filter(beyond_cursor(state, p, id, "ending_before", false).await?)
        }
        (None, None) => {}
    }
    find = if backwards {
        find.order_by_asc(cs::Column::Created)
            .order_by_asc(cs::Column::Id)
    } else {
        find.order_by_desc(cs::Column::Created)
            .order_by_desc(cs::Column::Id)
    };
    let mut rows = Vec::new();
    let parts = status_parts(n.status, state.clock.now());
    let merged = parts.len() > 1;
    for part in parts {
        rows.extend(first_rows(&state.db, find.clone().filter(part), limit + 1).await?);
    }
    if merged {
        // Each part is in page order; their union is sorted again.
        rows.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        if !backwards {
            rows.reverse();
        }
    }
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// Sessions older (or newer) than the cursor session, by (created, id).
async fn beyond_cursor(
    state: &AppState,
    p: &Principal,
    id: &str,
    param: &'static str,
    older: bool,
) -> Result<Condition> {
    let no_such = || Error::invalid(param, "No such checkout session.");
    let id = CheckoutSessionId::parse(id).ok_or_else(no_such)?;
    let c = find_owned(state, p, &id).await.map_err(|_| no_such())?;
    let (created, tie) = if older {
        (cs::Column::Created.lt(c.created), cs::Column::Id.lt(c.id))
    } else {
        (cs::Column::Created.gt(c.created), cs::Column::Id.gt(c.id))
    };
    Ok(Condition::any().add(created).add(
        Condition::all()
            .add(cs::Column::Created.eq(c.created))
            .add(tie),
    ))
}

/// A page of sessions with their first line items (two queries).
pub async fn list(
    state: &AppState,
    p: &Principal,
    f: &SessionFilter,
    req: &PageRequest,
) -> Result<(Vec<SessionView>, bool)> {
    let (rows, has_more) = page(state, p, f, req).await?;
    Ok((with_items(state, rows).await?, has_more))
}

/// How many sessions match `f`: from the counters when `f` narrows by
/// status, mode and currency only (a few rows, however many sessions);
/// otherwise by counting what the filter's index seek finds.
pub async fn count(state: &AppState, p: &Principal, f: &SessionFilter) -> Result<u64> {
    p.require(Scope::Read)?;
    let n = narrowed(f)?;
    let now = state.clock.now();
    if !f.counted_by_counters() {
        let mut total = 0;
        for part in status_parts(n.status, now) {
            total += PaginatorTrait::count(matching(p, f, &n).filter(part), &state.db).await?;
        }
        return Ok(total);
    }
    let sum = |c: &str| Expr::cust(format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)"));
    // Open sessions past `expires_at` the sweeper has not reached yet,
    // counted in the same statement (a scalar subquery).
    let due = matching(p, f, &n)
        .filter(due_open(now))
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "due")
        .into_query();
    let mut counters = sc::Entity::find()
        .select_only()
        .column_as(sum("created"), "created")
        .column_as(sum("completed"), "completed")
        .column_as(sum("expired"), "expired")
        .column_as(
            Expr::SubQuery(None, Box::new(due.into_sub_query_statement())),
            "due",
        )
        .filter(sc::Column::MerchantId.eq(&p.merchant_id))
        .filter(sc::Column::Livemode.eq(p.livemode));
    if let Some(mode) = n.mode {
        counters = counters.filter(sc::Column::Mode.eq(mode));
    }
    if let Some(c) = n.currency {
        counters = counters.filter(sc::Column::Currency.eq(c.code()));
    }
    // `all`, not `one`: no `LIMIT ?` (re-prepared on every run by SQLite).
    let (created, completed, expired, due): (i64, i64, i64, i64) = counters
        .into_tuple()
        .all(&state.db)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let n = match n.status {
        None => created,
        Some(SessionStatus::Open) => created - completed - expired - due,
        Some(SessionStatus::Complete) => completed,
        Some(SessionStatus::Expired) => expired + due,
    };
    u64::try_from(n).map_err(|_| Error::Internal(format!("session counters went negative: {n}")))
}

/// Loads the first items of many sessions in one query.
pub async fn with_items(state: &AppState, sessions: Vec<cs::Model>) -> Result<Vec<SessionView>> {
    let ids: Vec<CheckoutSessionId> = sessions.iter().map(|s| s.id.clone()).collect();
    let mut by_session = first_items(&state.db, &ids, EMBEDDED_ITEMS).await?;
    let now = state.clock.now();
    Ok(sessions
        .into_iter()
        .map(|s| SessionView {
            items: by_session.remove(&s.id).unwrap_or_default(),
            has_more_items: s.line_item_count as u64 > EMBEDDED_ITEMS,
            status: effective_status(&s, now),
            session: s,
        })
        .collect())
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
