//! The delivery queue (SPEC §5 "Delivery"). A `pending` row is due at
//! `next_attempt_at`; a worker leases it with one conditional statement
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the same `UPDATE …
//! RETURNING` under its single writer), so several processes send each
//! attempt once, and a lease left by a crashed process is taken over when
//! it runs out. Finishing an attempt is conditional on still holding it.
//!
//! Fairness: due attempts are taken round robin across merchants (each
//! merchant's first due attempt, then each one's second, …), leaving out
//! the endpoints and merchants the worker has at capacity.
//!
//! Circuit breaker (in the database, so every process sees one state and
//! only one of them makes the half-open trial): an endpoint whose attempts
//! go unanswered `webhook_breaker_after` times in a row is open for
//! `webhook_breaker_cooldown_ms`: its due attempts are not taken (they wait,
//! `pending`, their retry schedule untouched). Then it is half-open: one
//! attempt, taken with `take_trial`; an answer closes it, none opens it again.
use entity::{event, webhook_delivery as wd, webhook_endpoint as we};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Set, Statement,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::{DeliveryStatus, EndpointStatus, EventId, MerchantId, WebhookEndpointId, ids};
use crate::error::{Error, Result};

mod health;
pub use health::take_trial;
use health::{breaker, endpoint_health};

/// How long a lease outlives the request timeout: a live holder always
/// finishes (or gives up) before another process may take the attempt over.
pub const LEASE_MARGIN_MS: i64 = 5_000;
/// Retries stop this long after the event.
pub const GIVE_UP_SECS: i64 = 3 * 86_400;
/// No wait between attempts is longer.
pub const MAX_WAIT_MS: i64 = 6 * 3_600_000;

/// How long a lease lasts: the request timeout plus a margin.
pub fn lease_ms(state: &AppState) -> i64 {
    state.config.webhook_timeout_ms as i64 + LEASE_MARGIN_MS
}

/// What a worker leaves out of its next lease: what it has at capacity,
/// and how many attempts it could start per endpoint and per merchant.
pub struct Room<'a> {
    pub full_endpoints: &'a [WebhookEndpointId],
    pub full_merchants: &'a [MerchantId],
    pub per_endpoint: usize,
    pub per_merchant: usize,
}

/// Positional values in the order their placeholders appear.
struct Binds {
    backend: DbBackend,
    values: Vec<sea_orm::Value>,
}

impl Binds {
    fn bind(&mut self, v: impl Into<sea_orm::Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }
}

/// `candidates` (due attempts matching `lease`, their endpoint not open, not
/// left out by `room`; the `SCAN` × `limit` most overdue) and `ranked` (each one's turn
/// among its merchant's and its endpoint's), then the condition on `r`
/// (`ranked`) that keeps one attempt of a half-open endpoint and what a
/// worker could start: `per_endpoint` per endpoint, `per_merchant` per
/// merchant. Ordered by `r.turn`: round robin across merchants.
fn ranked_due(
    b: &mut Binds,
    now: i64,
    lease: impl FnOnce(&mut Binds) -> String,
    room: &Room<'_>,
    limit: u64,
) -> (String, String) {
    /// Bounds the work of one selection (it runs each time a slot frees):
    /// the exclusions keep a merchant at capacity from filling it.
    const SCAN: u64 = 4;
    let scan = SCAN * limit;
    let due = b.bind(now);
    let lease = lease(b);
    let breaker_now = b.bind(now);
    let endpoints: Vec<String> = room.full_endpoints.iter().map(|e| b.bind(e)).collect();
    let merchants: Vec<String> = room.full_merchants.iter().map(|m| b.bind(m)).collect();
    let mut skip = String::new();
    if !endpoints.is_empty() {
        skip += &format!(" AND d.endpoint_id NOT IN ({})", endpoints.join(", "));
    }
    if !merchants.is_empty() {
        skip += &format!(
            " AND (e.merchant_id IS NULL OR e.merchant_id NOT IN ({}))",
            merchants.join(", ")
        );
    }
    let ctes = format!(
        "candidates AS (
            SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.attempt, d.event_created,
                   d.next_attempt_at, e.merchant_id, e.breaker_until
            FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= {due} AND {lease}
              AND (e.breaker_until IS NULL OR e.breaker_until <= {breaker_now}){skip}
            ORDER BY d.next_attempt_at LIMIT {scan}
        ),
        ranked AS (
            SELECT c.*,
                ROW_NUMBER() OVER (PARTITION BY c.merchant_id ORDER BY c.next_attempt_at, c.id) AS turn,
                ROW_NUMBER() OVER (PARTITION BY c.endpoint_id ORDER BY c.next_attempt_at, c.id) AS nth
            FROM candidates c
        )"
    );
    let keep = format!(
        "r.turn <= {} AND r.nth <= CASE WHEN r.breaker_until IS NULL THEN {} ELSE 1 END",
        room.per_merchant, room.per_endpoint
    );
    (ctes, keep)
}

fn claimed_of(r: &sea_orm::QueryResult) -> Result<Claimed, sea_orm::DbErr> {
    Ok(Claimed {
        id: r.try_get("", "id")?,
        endpoint_id: WebhookEndpointId::trusted(r.try_get("", "endpoint_id")?),
        merchant_id: r
            .try_get::<Option<String>>("", "merchant_id")?
            .map(MerchantId::trusted),
        event_id: EventId::trusted(r.try_get("", "event_id")?),
        event_type: r.try_get("", "event_type")?,
        attempt: r.try_get("", "attempt")?,
        event_created: r.try_get("", "event_created")?,
        trial: r.try_get::<Option<i64>>("", "breaker_until")?.is_some(),
    })
}

/// A pending attempt `attempt` of `event` to `endpoint`, due at `due_ms`,
/// not leased: the first worker (of any process) to claim it sends it.
pub fn pending_delivery(
    endpoint: &entity::types::WebhookEndpointId,
    event: &EventId,
    event_type: &str,
    event_created: i64,
    attempt: i32,
    due_ms: i64,
) -> wd::ActiveModel {
    wd::ActiveModel {
        id: Set(ids::new_id("whd")),
        endpoint_id: Set(endpoint.clone()),
        event_id: Set(event.clone()),
        event_type: Set(event_type.to_string()),
        event_created: Set(event_created),
        attempt: Set(attempt),
        status: Set(DeliveryStatus::Pending),
        next_attempt_at: Set(Some(due_ms)),
        lease_owner: Set(None),
        lease_until: Set(None),
        response_status: Set(None),
        duration_ms: Set(None),
        error: Set(None),
        created: Set(due_ms),
    }
}

/// A leased attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub endpoint_id: WebhookEndpointId,
    /// `None` only for an endpoint deleted meanwhile.
    pub merchant_id: Option<MerchantId>,
    pub event_id: EventId,
    pub event_type: String,
    pub attempt: i32,
    pub event_created: i64,
    /// Its endpoint's breaker is half-open: sent only by the worker that
    /// wins `take_trial`.
    pub trial: bool,
}

/// What to send for a claimed attempt.
pub struct Target {
    pub url: String,
    pub livemode: bool,
    pub secrets: Vec<String>,
    pub payload: String,
}

/// How an attempt ended. An attempt with `retry: false` was never sent.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub response_status: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// False when trying again cannot help (endpoint disabled, address refused).
    pub retry: bool,
}

impl AttemptResult {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
            && self
                .response_status
                .is_some_and(|s| (200..300).contains(&s))
    }

    /// Sent, and no HTTP answer came back (timeout, no connection): what
    /// opens the breaker.
    pub fn unanswered(&self) -> bool {
        self.response_status.is_none() && self.retry
    }
}

/// Leases up to `limit` due attempts for `owner`, round robin across
/// merchants, within `room`.
pub async fn claim(
    state: &AppState,
    owner: &str,
    limit: u64,
    room: &Room<'_>,
) -> Result<Vec<Claimed>> {
    let backend = state.db.get_database_backend();
    let now = state.clock.now_ms();
    let mut b = Binds {
        backend,
        values: Vec::new(),
    };
    let (ctes, keep) = ranked_due(
        &mut b,
        now,
        |b| {
            let free = b.bind(now);
            format!("(d.lease_until IS NULL OR d.lease_until < {free})")
        },
        room,
        limit,
    );
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let owner = b.bind(owner);
    let until = b.bind(now + lease_ms(state));
    let outer_free = b.bind(now);
    // The endpoint's columns come from subqueries: RETURNING names only the
    // updated table's.
    let sql = format!(
        "WITH {ctes},
        due AS (
            SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id
            WHERE {keep}
            ORDER BY r.turn, r.next_attempt_at, r.id LIMIT {limit} {lock}
        )
        UPDATE webhook_deliveries SET lease_owner = {owner}, lease_until = {until}
        WHERE id IN (SELECT id FROM due) AND status = 'pending'
          AND (lease_until IS NULL OR lease_until < {outer_free})
        RETURNING id, endpoint_id, event_id, event_type, attempt, event_created,
          (SELECT e.merchant_id FROM webhook_endpoints e WHERE e.id = webhook_deliveries.endpoint_id) AS merchant_id,
          (SELECT e.breaker_until FROM webhook_endpoints e WHERE e.id = webhook_deliveries.endpoint_id) AS breaker_until"
    );
    let claim = Statement::from_sql_and_values(backend, sql, b.values);
    let rows = state
        .writer
        .one(|c| async move { c.query_all_raw(claim).await })
        .await?;
    rows.iter()
        .map(claimed_of)
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Error::from)
}

/// Gives a leased attempt back (this worker will not send it now).
pub async fn release(state: &AppState, owner: &str, id: &str) -> Result<()> {
    let q = wd::Entity::update_many()
        .col_expr(wd::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(wd::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .filter(wd::Column::Id.eq(id))
        .filter(wd::Column::LeaseOwner.eq(owner))
        .filter(wd::Column::Status.eq(DeliveryStatus::Pending));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    Ok(())
}

/// The endpoint and payload of a claimed attempt; `Err(reason)` when it
/// must not be sent (endpoint deleted or disabled).
pub async fn target(state: &AppState, c: &Claimed) -> Result<Result<Target, &'static str>> {
    let Some(endpoint) = we::Entity::find_by_id(&c.endpoint_id)
        .unique(&state.db)
        .await?
    else {
        return Ok(Err("endpoint deleted"));
    };
    if endpoint.status != EndpointStatus::Enabled {
        return Ok(Err("endpoint disabled"));
    }
    let payload = event::Entity::find_by_id(&c.event_id)
        .select_only()
        .column(event::Column::Payload)
        .into_tuple::<String>()
        .all(&state.db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("delivery of a pruned event".into()))?;
    Ok(Ok(Target {
        url: endpoint.url.clone(),
        livemode: endpoint.livemode,
        secrets: super::signing_secrets(state, &endpoint)?,
        payload,
    }))
}

/// The wait before attempt `attempt + 1`: base × 2^(attempt−1), at most 6
/// hours, ±20 % jitter.
pub fn retry_wait_ms(base_ms: u64, attempt: i32) -> i64 {
    let doubling = 1i64 << attempt.clamp(1, 40).saturating_sub(1);
    let wait = std::cmp::min((base_ms as i64).saturating_mul(doubling), MAX_WAIT_MS);
    let jitter = rand::rng().random_range(0.8..=1.2);
    ((wait as f64) * jitter) as i64
}

/// Records how attempts ended, in one transaction (one commit for many
/// attempts): each only if `owner` still holds it; a failure queues the
/// next attempt while retries remain, and an endpoint whose attempts have
/// all failed for 3 days is disabled.
pub async fn finish(
    state: &AppState,
    owner: &str,
    done: &[(Claimed, AttemptResult)],
) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    state
        .writer
        .transaction(|tx| async move {
            for (c, r) in done {
                record(state, &tx, owner, c, r).await?;
            }
            Ok(())
        })
        .await
}

async fn record(
    state: &AppState,
    tx: &crate::db::WriteTx,
    owner: &str,
    c: &Claimed,
    r: &AttemptResult,
) -> Result<()> {
    let now_ms = state.clock.now_ms();
    let succeeded = r.succeeded();
    let next_at = (!succeeded && r.retry)
        .then(|| now_ms + retry_wait_ms(state.config.webhook_retry_base_ms, c.attempt))
        .filter(|at| at / 1000 <= c.event_created + GIVE_UP_SECS);
    let status = if succeeded {
        DeliveryStatus::Succeeded
    } else {
        DeliveryStatus::Failed
    };
    let updated = wd::Entity::update_many()
        .col_expr(wd::Column::Status, Expr::value(status))
        .col_expr(
            wd::Column::ResponseStatus,
            Expr::value(r.response_status.map(i32::from)),
        )
        .col_expr(wd::Column::DurationMs, Expr::value(r.duration_ms))
        .col_expr(wd::Column::Error, Expr::value(r.error.clone()))
        .col_expr(wd::Column::NextAttemptAt, Expr::value(next_at))
        .col_expr(wd::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(wd::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .filter(wd::Column::Id.eq(&c.id))
        .filter(wd::Column::LeaseOwner.eq(owner))
        .filter(wd::Column::Status.eq(DeliveryStatus::Pending))
        .exec(tx)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(());
    }
    if let Some(at) = next_at {
        use sea_orm::ActiveModelTrait;
        pending_delivery(
            &c.endpoint_id,
            &c.event_id,
            &c.event_type,
            c.event_created,
            c.attempt + 1,
            at,
        )
        .insert(tx)
        .await?;
    }
    if !succeeded {
        breaker(state, tx, &c.endpoint_id, r, now_ms).await?;
    }
    endpoint_health(tx, &c.endpoint_id, succeeded, now_ms / 1000).await
}

/// When the next pending attempt is due (unix ms), if any: the most
/// overdue attempt whose endpoint's breaker is not open, or the end of the
/// soonest cool-down (its trial is due then).
pub async fn next_due(state: &AppState) -> Result<Option<i64>> {
    let backend = state.db.get_database_backend();
    let now = state.clock.now_ms();
    let (p1, p2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "SELECT MIN(due) AS due FROM (
            SELECT due FROM (
                SELECT d.next_attempt_at AS due
                FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id
                WHERE d.status = 'pending' AND (e.breaker_until IS NULL OR e.breaker_until <= {p1})
                ORDER BY d.next_attempt_at LIMIT 1
            ) soonest
            UNION ALL
            SELECT MIN(breaker_until) AS due FROM webhook_endpoints WHERE breaker_until > {p2}
        ) dues"
    );
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.into(), now.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>>("", "due")?,
        None => None,
    })
}
