//! Lists of sessions: the typed filter, keyset pages and their first items.
use entity::checkout_session as cs;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::*;
use crate::AppState;
use crate::domain::CheckoutSessionId;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{Currency, Mode, SessionStatus};
use crate::error::{Error, Result};
use crate::service::paging::{first_rows, limit_of};

/// What a list of sessions is narrowed to, typed: each front end (REST
/// query, GraphQL input) builds it once, its enumerated parts parsed there.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub mode: Option<Mode>,
    pub currency: Option<Currency>,
    /// Inclusive.
    pub created_gte: Option<i64>,
    /// Inclusive.
    pub created_lte: Option<i64>,
    pub payment_intent: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    /// Sessions made by this payment link.
    pub payment_link: Option<crate::domain::PaymentLinkId>,
    /// Matches an id, `client_reference_id` or `customer_email` exactly.
    pub search: Option<String>,
}

/// A `status` parameter (REST's query string).
pub fn status_param(s: &str) -> Result<SessionStatus> {
    SessionStatus::parse(s)
        .ok_or_else(|| Error::invalid("status", "status must be one of open, complete, expired."))
}

/// A `payment_link` filter: a `plink_…` id, or `400`.
pub fn payment_link_param(s: &str) -> Result<crate::domain::PaymentLinkId> {
    crate::domain::PaymentLinkId::parse(s).ok_or_else(|| {
        Error::invalid(
            "payment_link",
            "payment_link must be a payment link id (plink_…).",
        )
    })
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
    pub(super) fn counted_by_counters(&self) -> bool {
        self.created_gte.is_none()
            && self.created_lte.is_none()
            && self.payment_intent.is_none()
            && self.client_reference_id.is_none()
            && self.customer_email.is_none()
            && self.payment_link.is_none()
            && self.search().is_none()
    }

    /// The free-text parts hold no control character.
    pub(super) fn check_text(&self) -> Result<()> {
        for (param, v) in [
            ("payment_intent", &self.payment_intent),
            ("client_reference_id", &self.client_reference_id),
            ("customer_email", &self.customer_email),
            ("search", &self.search),
        ] {
            if let Some(v) = v {
                crate::validation::no_controls(param, v)?;
            }
        }
        Ok(())
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

/// The caller's sessions matching `f`, its status aside (see `status_parts`).
pub(super) fn matching(p: &Principal, f: &SessionFilter) -> sea_orm::Select<cs::Entity> {
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
    if let Some(mode) = f.mode {
        find = find.filter(cs::Column::Mode.eq(mode));
    }
    if let Some(c) = f.currency {
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
    if let Some(v) = &f.payment_link {
        find = find.filter(cs::Column::PaymentLinkId.eq(v));
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
pub(super) fn status_parts(status: Option<SessionStatus>, now: i64) -> Vec<Condition> {
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
    f.check_text()?;
    let mut find = matching(p, f);
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
    let parts = status_parts(f.status, state.clock.now());
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
    // Only an unknown cursor is the caller's mistake; a database error stays one.
    let c = match find_owned(state, p, &id).await {
        Err(Error::NotFound { .. }) => return Err(no_such()),
        found => found?,
    };
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
