//! Checkout sessions: creation (cross-field rules, totals), reads, lists and
//! expiry. Every state change is one write transaction.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, line_item as li, merchant, payment_intent as pi};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::money::MAX_TOTAL;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{
    Amount, Currency, IntentStatus, Interval, Mode, PaymentStatus, ReturnUrl, SessionStatus, ids,
    locale,
};
use crate::error::{Conflict, Error, FieldError, Result};
use crate::service::events;
use crate::wire::{CreateCheckoutSessionRequest, ListLineItemsQuery, ListSessionsQuery};

pub const MIN_EXPIRY_SECS: i64 = 30 * 60;
pub const MAX_EXPIRY_SECS: i64 = 24 * 3600;
/// Line items embedded in a session object.
pub const EMBEDDED_ITEMS: u64 = 10;

/// A session with the line items a caller asked for and its effective status.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: cs::Model,
    pub items: Vec<li::Model>,
    pub has_more_items: bool,
    /// `expired` when `expires_at` has passed, even before the sweeper runs.
    pub status: SessionStatus,
}

/// The status a reader sees at `now`.
pub fn effective_status(s: &cs::Model, now: i64) -> SessionStatus {
    if s.status == SessionStatus::Open && now >= s.expires_at {
        SessionStatus::Expired
    } else {
        s.status
    }
}

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

async fn load_view(state: &AppState, session: cs::Model) -> Result<SessionView> {
    // Positions are 0..n: a bound on the position instead of `LIMIT ?` keeps
    // the statement cached (see `db::Unique`).
    let items = li::Entity::find()
        .filter(li::Column::SessionId.eq(&session.id))
        .filter(li::Column::Position.lt(EMBEDDED_ITEMS as i32))
        .order_by_asc(li::Column::Position)
        .all(&state.db)
        .await?;
    let has_more_items = session.line_item_count as u64 > EMBEDDED_ITEMS;
    let status = effective_status(&session, state.clock.now());
    Ok(SessionView {
        session,
        items,
        has_more_items,
        status,
    })
}

/// A session of this merchant and mode, or `404`.
pub async fn find_owned(state: &AppState, p: &Principal, id: &str) -> Result<cs::Model> {
    if !ids::well_formed(id) {
        return Err(Error::not_found("checkout session", id));
    }
    cs::Entity::find_by_id(id)
        .filter(cs::Column::MerchantId.eq(&p.merchant_id))
        .filter(cs::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))
}

pub async fn get(state: &AppState, p: &Principal, id: &str) -> Result<SessionView> {
    p.require(Scope::Read)?;
    let s = find_owned(state, p, id).await?;
    load_view(state, s).await
}

fn limit_of(limit: Option<i64>) -> Result<u64> {
    match limit {
        None => Ok(10),
        Some(l) if (1..=100).contains(&l) => Ok(l as u64),
        Some(_) => Err(Error::invalid("limit", "limit must be between 1 and 100.")),
    }
}

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
    /// Matches an id, `client_reference_id` or `customer_email` exactly.
    pub search: Option<String>,
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

impl From<&ListSessionsQuery> for (SessionFilter, PageRequest) {
    fn from(q: &ListSessionsQuery) -> Self {
        let filter = SessionFilter {
            status: q.status.clone(),
            created_gte: q.created_gte,
            created_lte: q.created_lte,
            payment_intent: q.payment_intent.clone(),
            client_reference_id: q.client_reference_id.clone(),
            ..Default::default()
        };
        let page = PageRequest {
            limit: q.limit,
            starting_after: q.starting_after.clone(),
            ending_before: q.ending_before.clone(),
            from_end: false,
        };
        (filter, page)
    }
}

/// The caller's sessions matching `f`, as a query to page or count.
fn filtered(p: &Principal, f: &SessionFilter, now: i64) -> Result<sea_orm::Select<cs::Entity>> {
    for (param, v) in [
        ("payment_intent", &f.payment_intent),
        ("client_reference_id", &f.client_reference_id),
        ("search", &f.search),
    ] {
        if let Some(v) = v {
            crate::validation::no_controls(param, v)?;
        }
    }
    let mut find = cs::Entity::find()
        .filter(cs::Column::MerchantId.eq(&p.merchant_id))
        .filter(cs::Column::Livemode.eq(p.livemode));
    if let Some(status) = f.status.as_deref() {
        let status = SessionStatus::parse(status).ok_or_else(|| {
            Error::invalid("status", "status must be one of open, complete, expired.")
        })?;
        let open = Condition::all().add(cs::Column::Status.eq(SessionStatus::Open));
        find = find.filter(match status {
            SessionStatus::Open => open.add(cs::Column::ExpiresAt.gt(now)),
            SessionStatus::Expired => Condition::any()
                .add(cs::Column::Status.eq(SessionStatus::Expired))
                .add(open.add(cs::Column::ExpiresAt.lte(now))),
            SessionStatus::Complete => {
                Condition::all().add(cs::Column::Status.eq(SessionStatus::Complete))
            }
        });
    }
    if let Some(mode) = f.mode.as_deref() {
        let mode = Mode::parse(mode)
            .ok_or_else(|| Error::invalid("mode", "mode must be payment or subscription."))?;
        find = find.filter(cs::Column::Mode.eq(mode));
    }
    if let Some(c) = f.currency.as_deref() {
        let c = Currency::parse(c).ok_or_else(|| {
            Error::invalid("currency", "Currency must be an ISO 4217 code such as XOF.")
        })?;
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
    if let Some(q) = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        find = find.filter(
            Condition::any()
                .add(cs::Column::Id.eq(q))
                .add(cs::Column::ClientReferenceId.eq(q))
                .add(cs::Column::CustomerEmail.eq(q))
                .add(cs::Column::PaymentIntentId.eq(q)),
        );
    }
    Ok(find)
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
    let mut find = filtered(p, f, state.clock.now())?;
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
    let mut rows = find.limit(limit + 1).all(&state.db).await?;
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
    let c = find_owned(state, p, id)
        .await
        .map_err(|_| Error::invalid(param, "No such checkout session."))?;
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

/// How many sessions match `f` (one `COUNT(*)`).
pub async fn count(state: &AppState, p: &Principal, f: &SessionFilter) -> Result<u64> {
    p.require(Scope::Read)?;
    Ok(PaginatorTrait::count(filtered(p, f, state.clock.now())?, &state.db).await?)
}

/// Loads the first items of many sessions in one query.
pub async fn with_items(state: &AppState, sessions: Vec<cs::Model>) -> Result<Vec<SessionView>> {
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let items = if ids.is_empty() {
        Vec::new()
    } else {
        li::Entity::find()
            .filter(li::Column::SessionId.is_in(ids))
            .filter(li::Column::Position.lt(EMBEDDED_ITEMS as i32))
            .order_by_asc(li::Column::Position)
            .all(&state.db)
            .await?
    };
    let mut by_session: BTreeMap<String, Vec<li::Model>> = BTreeMap::new();
    for it in items {
        by_session
            .entry(it.session_id.clone())
            .or_default()
            .push(it);
    }
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

pub async fn line_items(
    state: &AppState,
    p: &Principal,
    id: &str,
    q: &ListLineItemsQuery,
) -> Result<(Vec<li::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = limit_of(q.limit)?;
    find_owned(state, p, id).await?;
    let position_of = |item: &str, param: &'static str| {
        let item = item.to_string();
        let session = id.to_string();
        async move {
            if !ids::well_formed(&item) {
                return Err(Error::invalid(param, "No such line item in this session."));
            }
            li::Entity::find_by_id(&item)
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
    find = if backwards {
        find.order_by_desc(li::Column::Position)
    } else {
        find.order_by_asc(li::Column::Position)
    };
    let mut rows = find.limit(limit + 1).all(&state.db).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// Expires an open session and cancels its intent, in one transaction; the
/// conditional updates make concurrent expiries (route, sweeper, other
/// processes) and a concurrent payment claim exclude each other.
pub async fn expire_by_id(
    state: &AppState,
    session_id: &str,
    merchant_id: &str,
    livemode: bool,
) -> Result<bool> {
    let now = state.clock.now();
    let tx = crate::db::begin_write(&state.db).await?;
    let canceled = pi::Entity::update_many()
        .col_expr(pi::Column::Status, Expr::value(IntentStatus::Canceled))
        .col_expr(pi::Column::Updated, Expr::value(now))
        .filter(pi::Column::SessionId.eq(session_id))
        .filter(pi::Column::Status.eq(IntentStatus::RequiresPaymentMethod))
        .exec(&tx)
        .await?;
    if canceled.rows_affected != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let expired = cs::Entity::update_many()
        .col_expr(cs::Column::Status, Expr::value(SessionStatus::Expired))
        .filter(cs::Column::Id.eq(session_id))
        .filter(cs::Column::Status.eq(SessionStatus::Open))
        .exec(&tx)
        .await?;
    if expired.rows_affected != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    let event = events::SessionEvent {
        session_id: session_id.to_string(),
        merchant_id: merchant_id.to_string(),
        livemode,
        status: SessionStatus::Expired,
    };
    events::session_changed(state, event).await;
    Ok(true)
}

/// `POST …/{id}/expire`: only open sessions (an already time-expired one is
/// persisted as expired and returned, as Stripe does).
pub async fn expire(state: &AppState, p: &Principal, id: &str) -> Result<SessionView> {
    p.require(Scope::Write)?;
    let s = find_owned(state, p, id).await?;
    if s.status != SessionStatus::Open {
        return Err(Error::Conflict(Conflict::SessionNotOpen));
    }
    if !expire_by_id(state, id, &s.merchant_id, s.livemode).await? {
        let pi = pi::Entity::find_by_id(&s.payment_intent_id)
            .unique(&state.db)
            .await?;
        return Err(Error::Conflict(match pi.map(|p| p.status) {
            Some(IntentStatus::Processing) => Conflict::PaymentInProgress,
            _ => Conflict::SessionNotOpen,
        }));
    }
    get(state, p, id).await
}

/// Persists `expired` for sessions past `expires_at`. Returns how many it expired.
pub async fn sweep_expired(state: &AppState, batch: u64) -> Result<usize> {
    let now = state.clock.now();
    let due: Vec<(String, String, bool)> = cs::Entity::find()
        .select_only()
        .column(cs::Column::Id)
        .column(cs::Column::MerchantId)
        .column(cs::Column::Livemode)
        .filter(cs::Column::Status.eq(SessionStatus::Open))
        .filter(cs::Column::ExpiresAt.lte(now))
        .limit(batch)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut n = 0;
    for (id, merchant_id, livemode) in due {
        if expire_by_id(state, &id, &merchant_id, livemode).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// The public view's pieces: session, all items, merchant name, intent.
pub struct PublicView {
    pub session: cs::Model,
    pub status: SessionStatus,
    pub items: Vec<li::Model>,
    pub merchant_name: String,
    pub intent: pi::Model,
}

/// Two queries: the session joined with its intent, then its items; the
/// merchant's name comes from a cache (names never change once created).
pub async fn public_view(state: &AppState, id: &str) -> Result<PublicView> {
    if !ids::well_formed(id) {
        return Err(Error::not_found("checkout session", id));
    }
    let (session, intent) = cs::Entity::find_by_id(id)
        .find_also_related(pi::Entity)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("checkout session", id))?;
    let intent = intent.ok_or_else(|| Error::Internal("session without intent".into()))?;
    let items = li::Entity::find()
        .filter(li::Column::SessionId.eq(id))
        .order_by_asc(li::Column::Position)
        .all(&state.db)
        .await?;
    let merchant_name = merchant_name(state, &session.merchant_id).await?;
    let status = effective_status(&session, state.clock.now());
    Ok(PublicView {
        session,
        status,
        items,
        merchant_name,
        intent,
    })
}

async fn merchant_name(state: &AppState, merchant_id: &str) -> Result<String> {
    if let Some(name) = state
        .merchant_names
        .read()
        .ok()
        .and_then(|m| m.get(merchant_id).cloned())
    {
        return Ok(name);
    }
    let m = merchant::Entity::find_by_id(merchant_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("session without merchant".into()))?;
    if let Ok(mut cache) = state.merchant_names.write() {
        cache.insert(m.id, m.display_name.clone());
    }
    Ok(m.display_name)
}
