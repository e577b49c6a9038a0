//! How many sessions match a filter: from the dashboard counters when it
//! allows, else by counting the filter's index seek.
use entity::session_count as sc;
use sea_orm::sea_query::{Expr, QueryStatementBuilder};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait};

use super::list::{matching, status_parts};
use super::*;
use crate::AppState;
use crate::domain::SessionStatus;
use crate::domain::principal::{Principal, Scope};
use crate::error::{Error, Result};

/// How many sessions match `f`: from the counters when `f` narrows by
/// status, mode and currency only (a few rows, however many sessions);
/// otherwise by counting what the filter's index seek finds.
pub async fn count(state: &AppState, p: &Principal, f: &SessionFilter) -> Result<u64> {
    p.require(Scope::Read)?;
    f.check_text()?;
    let now = state.clock.now();
    if !f.counted_by_counters() {
        let mut total = 0;
        for part in status_parts(f.status, now) {
            total += PaginatorTrait::count(matching(p, f).filter(part), &state.db).await?;
        }
        return Ok(total);
    }
    let sum = |c: &str| Expr::cust(format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)"));
    // Open sessions past `expires_at` the sweeper has not reached yet,
    // counted in the same statement (a scalar subquery).
    let due = matching(p, f)
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
    if let Some(mode) = f.mode {
        counters = counters.filter(sc::Column::Mode.eq(mode));
    }
    if let Some(c) = f.currency {
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
    let n = match f.status {
        None => created,
        Some(SessionStatus::Open) => created - completed - expired - due,
        Some(SessionStatus::Complete) => completed,
        Some(SessionStatus::Expired) => expired + due,
    };
    u64::try_from(n).map_err(|_| Error::Internal(format!("session counters went negative: {n}")))
}
