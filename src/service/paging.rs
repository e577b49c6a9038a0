//! What every list shares: the page size rule and the "older than this
//! row" keyset condition for lists ordered by (created, id) descending.
use sea_orm::{ColumnTrait, Condition};

use crate::error::{Error, Result};

/// `limit`: 1–100, default 10.
pub fn limit_of(limit: Option<i64>) -> Result<u64> {
    match limit {
        None => Ok(10),
        Some(l) if (1..=100).contains(&l) => Ok(l as u64),
        Some(_) => Err(Error::invalid("limit", "limit must be between 1 and 100.")),
    }
}

/// Rows after (`created`, `id`) in newest-first order.
pub fn older_than<C: ColumnTrait>(
    created_col: C,
    id_col: C,
    created: i64,
    id: impl Into<sea_orm::Value>,
) -> Condition {
    Condition::any().add(created_col.lt(created)).add(
        Condition::all()
            .add(created_col.eq(created))
            .add(id_col.lt(id)),
    )
}
