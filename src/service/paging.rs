//! What every list shares: the page size rule and the "older than this
//! row" keyset condition for lists ordered by (created, id) descending.
use sea_orm::{ColumnTrait, Condition};

use crate::error::{Error, Result};

/// A `currency` filter (lists, stats): an ISO 4217 code, or `400`.
pub fn currency_filter(c: Option<&str>) -> Result<Option<crate::domain::Currency>> {
    c.map(|c| {
        crate::domain::Currency::parse(c).ok_or_else(|| {
            Error::invalid("currency", "Currency must be an ISO 4217 code such as XOF.")
        })
    })
    .transpose()
}

/// `limit`: 1–100, default 10.
pub fn limit_of(limit: Option<i64>) -> Result<u64> {
    match limit {
        None => Ok(10),
        Some(l) if (1..=100).contains(&l) => Ok(l as u64),
        Some(_) => Err(Error::invalid("limit", "limit must be between 1 and 100.")),
    }
}

/// The first `n` rows of `find`, with the limit written into the SQL
/// instead of bound: SQLite re-prepares a statement with a bound `LIMIT` on
/// every execution (see `db::Unique`), while `… LIMIT 21` is one cached
/// statement per page size.
pub async fn first_rows<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    find: sea_orm::Select<E>,
    n: u64,
) -> Result<Vec<E::Model>> {
    use sea_orm::QueryTrait;
    let mut stmt = find.build(db.get_database_backend());
    stmt.sql.push_str(&format!(" LIMIT {n}"));
    Ok(E::find().from_raw_sql(stmt).all(db).await?)
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

/// Rows before (`created`, `id`) in newest-first order (newer ones).
pub fn newer_than<C: ColumnTrait>(
    created_col: C,
    id_col: C,
    created: i64,
    id: impl Into<sea_orm::Value>,
) -> Condition {
    Condition::any().add(created_col.gt(created)).add(
        Condition::all()
            .add(created_col.eq(created))
            .add(id_col.gt(id)),
    )
}

/// An `ending_before` page: the `limit` rows of `find` just newer than its
/// cursor (read oldest first), in newest-first order, and whether newer
/// ones follow.
pub async fn just_newer_page<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    find: sea_orm::Select<E>,
    created_col: E::Column,
    id_col: E::Column,
    limit: u64,
) -> Result<(Vec<E::Model>, bool)> {
    use sea_orm::QueryOrder;
    let find = find.order_by_asc(created_col).order_by_asc(id_col);
    let mut rows = first_rows(db, find, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    rows.reverse();
    Ok((rows, has_more))
}

/// The first `limit` rows of `find` newest first by (`created`, `id`), and
/// whether more follow (one row past the page is read to know).
pub async fn newest_page<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    find: sea_orm::Select<E>,
    created_col: E::Column,
    id_col: E::Column,
    limit: u64,
) -> Result<(Vec<E::Model>, bool)> {
    use sea_orm::QueryOrder;
    let find = find.order_by_desc(created_col).order_by_desc(id_col);
    let mut rows = first_rows(db, find, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_more))
}

/// One page of `find` keyed by the single column `col`, in list order
/// (`descending` for newest first); `backwards` (an `ending_before` page)
/// reads from the other end and turns the rows back into list order.
pub async fn keyset_page<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    find: sea_orm::Select<E>,
    col: E::Column,
    descending: bool,
    backwards: bool,
    limit: u64,
) -> Result<(Vec<E::Model>, bool)> {
    use sea_orm::QueryOrder;
    let find = if descending != backwards {
        find.order_by_desc(col)
    } else {
        find.order_by_asc(col)
    };
    let mut rows = first_rows(db, find, limit + 1).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    Ok((rows, has_more))
}
