//! The delivery queue (SPEC §5 "Delivery"). A `pending` row is due at
//! `next_attempt_at`; a worker leases it with one conditional statement
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the same `UPDATE …
//! RETURNING` under its single writer), so several processes send each
//! attempt once, and a lease left by a crashed process is taken over when
//! it runs out. Finishing an attempt is conditional on still holding it.
use entity::{event, webhook_delivery as wd, webhook_endpoint as we};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::{DeliveryStatus, EndpointStatus, EventId, WebhookEndpointId, ids};
use crate::error::{Error, Result};

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

/// Due attempts already leased to `owner` (written so by its own process)
/// with enough lease left to make the attempt: found with a read, no write.
/// `exclude`d endpoints (at capacity) are skipped, so their backlog never
/// hides other endpoints' attempts.
pub async fn own_due(
    state: &AppState,
    owner: &str,
    limit: u64,
    exclude: &[WebhookEndpointId],
) -> Result<Vec<Claimed>> {
    let now = state.clock.now_ms();
    let rows = wd::Entity::find()
        .filter(wd::Column::EndpointId.is_not_in(exclude.iter().cloned()))
        .filter(wd::Column::Status.eq(DeliveryStatus::Pending))
        .filter(wd::Column::LeaseOwner.eq(owner))
        .filter(wd::Column::NextAttemptAt.lte(now))
        .filter(wd::Column::LeaseUntil.gt(now + state.config.webhook_timeout_ms as i64))
        .order_by_asc(wd::Column::NextAttemptAt)
        .limit(limit)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| Claimed {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempt: d.attempt,
            event_created: d.event_created,
        })
        .collect())
}

/// The PostgreSQL channel that wakes every process's delivery worker.
pub const WAKE_CHANNEL: &str = "ikawaari_webhooks";

/// A pending attempt `attempt` of `event` to `endpoint`, due at `due_ms`,
/// leased to this process's worker from the start: it sends the attempt
/// without a claiming write (the latency path), and another process takes
/// it over only if this one dies and the lease runs out.
pub fn pending_delivery(
    state: &AppState,
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
        lease_owner: Set(Some(state.worker_id.clone())),
        lease_until: Set(Some(due_ms + lease_ms(state))),
        response_status: Set(None),
        duration_ms: Set(None),
        error: Set(None),
        created: Set(due_ms),
    }
}

/// On PostgreSQL, `NOTIFY` inside the transaction: delivered to every
/// process's listener when (and only if) it commits.
pub async fn notify_in(tx: &crate::db::WriteTx) -> Result<()> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {WAKE_CHANNEL}"),
        ))
        .await?;
    }
    Ok(())
}

/// A leased attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: String,
    pub attempt: i32,
    pub event_created: i64,
}

/// What to send for a claimed attempt.
pub struct Target {
    pub url: String,
    pub livemode: bool,
    pub secrets: Vec<String>,
    pub payload: String,
}

/// How an attempt ended.
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
}

/// Leases up to `limit` due attempts for `owner`, skipping `exclude`d
/// endpoints (those this worker is already sending to at capacity).
pub async fn claim(
    state: &AppState,
    owner: &str,
    limit: u64,
    exclude: &[WebhookEndpointId],
) -> Result<Vec<Claimed>> {
    let backend = state.db.get_database_backend();
    let now = state.clock.now_ms();
    // Values in the order their placeholders appear (SQLite's `?` are positional).
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut bind = |v: sea_orm::Value| {
        values.push(v);
        match backend {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_string(),
        }
    };
    let due = bind(now.into());
    let lease_free = bind(now.into());
    let excluded: Vec<String> = exclude.iter().map(|e| bind(e.into())).collect();
    let exclude_clause = if excluded.is_empty() {
        String::new()
    } else {
        format!("AND endpoint_id NOT IN ({})", excluded.join(", "))
    };
    let lock = if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let owner = bind(owner.into());
    let until = bind((now + lease_ms(state)).into());
    let outer_free = bind(now.into());
    let sql = format!(
        "WITH due AS (
            SELECT id FROM webhook_deliveries
            WHERE status = 'pending' AND next_attempt_at <= {due}
              AND (lease_until IS NULL OR lease_until < {lease_free}) {exclude_clause}
            ORDER BY next_attempt_at LIMIT {limit} {lock}
        )
        UPDATE webhook_deliveries SET lease_owner = {owner}, lease_until = {until}
        WHERE id IN (SELECT id FROM due) AND status = 'pending'
          AND (lease_until IS NULL OR lease_until < {outer_free})
        RETURNING id, endpoint_id, event_id, event_type, attempt, event_created"
    );
    let rows = state
        .writer
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("", "id")?,
                endpoint_id: WebhookEndpointId::trusted(r.try_get("", "endpoint_id")?),
                event_id: EventId::trusted(r.try_get("", "event_id")?),
                event_type: r.try_get("", "event_type")?,
                attempt: r.try_get("", "attempt")?,
                event_created: r.try_get("", "event_created")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Error::from)
}

/// Gives a leased attempt back (this worker will not send it now).
pub async fn release(state: &AppState, owner: &str, id: &str) -> Result<()> {
    wd::Entity::update_many()
        .col_expr(wd::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(wd::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .filter(wd::Column::Id.eq(id))
        .filter(wd::Column::LeaseOwner.eq(owner))
        .filter(wd::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&state.writer)
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
    let tx = state.writer.begin().await?;
    let result = async {
        for (c, r) in done {
            record(state, &tx, owner, c, r).await?;
        }
        Ok(())
    }
    .await;
    crate::db::end(tx, result).await
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
            state,
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
    endpoint_health(tx, &c.endpoint_id, succeeded, now_ms / 1000).await
}

/// A success clears the failure window; a failure opens it, and one open
/// for 3 days disables the endpoint. Conditional updates, no reads: most
/// attempts change nothing here.
async fn endpoint_health(
    tx: &crate::db::WriteTx,
    id: &WebhookEndpointId,
    succeeded: bool,
    now: i64,
) -> Result<()> {
    let mine = || we::Entity::update_many().filter(we::Column::Id.eq(id));
    if succeeded {
        mine()
            .col_expr(we::Column::FailingSince, Expr::value(Option::<i64>::None))
            .filter(we::Column::FailingSince.is_not_null())
            .exec(tx)
            .await?;
        return Ok(());
    }
    mine()
        .col_expr(we::Column::FailingSince, Expr::value(now))
        .filter(we::Column::FailingSince.is_null())
        .exec(tx)
        .await?;
    let disabled = mine()
        .col_expr(we::Column::Status, Expr::value(EndpointStatus::Disabled))
        .filter(we::Column::Status.eq(EndpointStatus::Enabled))
        .filter(we::Column::FailingSince.lte(now - GIVE_UP_SECS))
        .exec(tx)
        .await?;
    if disabled.rows_affected == 1 {
        tracing::warn!(endpoint = %id, "webhook endpoint failing for 3 days: disabled");
    }
    Ok(())
}

/// When the next pending attempt is due (unix ms), if any.
pub async fn next_due(state: &AppState) -> Result<Option<i64>> {
    Ok(wd::Entity::find()
        .select_only()
        .column_as(Expr::col(wd::Column::NextAttemptAt).min(), "due")
        .filter(wd::Column::Status.eq(DeliveryStatus::Pending))
        .into_tuple::<Option<i64>>()
        // `all`: an aggregate is one row; no `LIMIT ?` to re-prepare.
        .all(&state.db)
        .await?
        .into_iter()
        .next()
        .flatten())
}
