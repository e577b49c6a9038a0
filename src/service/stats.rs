//! Dashboard figures, computed by the database (aggregates, not rows).
use std::collections::BTreeMap;

use entity::checkout_session as cs;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::AppState;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{Currency, PaymentStatus, SessionStatus};
use crate::error::{Error, Result};

const DAY: i64 = 86_400;
/// Longest range a stats query may cover (bounds the series).
const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    pub currency: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayStats {
    /// Unix seconds of the UTC day's start.
    pub day: i64,
    pub created: i64,
    pub completed: i64,
    pub gross_volume: Vec<Volume>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckoutStats {
    pub from: i64,
    pub to: i64,
    pub created: i64,
    pub open: i64,
    pub complete: i64,
    pub expired: i64,
    /// Paid sessions, per currency.
    pub gross_volume: Vec<Volume>,
    /// complete / created, 0 when nothing was created.
    pub conversion_rate: f64,
    pub series: Vec<DayStats>,
}

fn in_range(p: &Principal, from: i64, to: i64, currency: Option<Currency>) -> Select<cs::Entity> {
    let mut q = cs::Entity::find()
        .select_only()
        .filter(cs::Column::MerchantId.eq(&p.merchant_id))
        .filter(cs::Column::Livemode.eq(p.livemode))
        .filter(cs::Column::Created.gte(from))
        .filter(cs::Column::Created.lt(to));
    if let Some(c) = currency {
        q = q.filter(cs::Column::Currency.eq(c.code()));
    }
    q
}

/// `from` inclusive, `to` exclusive (unix seconds), UTC days in the series.
pub async fn checkout_stats(
    state: &AppState,
    p: &Principal,
    from: i64,
    to: i64,
    currency: Option<&str>,
) -> Result<CheckoutStats> {
    p.require(Scope::Read)?;
    if to <= from {
        return Err(Error::invalid("to", "`to` must be after `from`."));
    }
    if to - from > MAX_DAYS * DAY {
        return Err(Error::invalid(
            "to",
            "A stats range covers at most 366 days.",
        ));
    }
    let currency = currency
        .map(|c| {
            Currency::parse(c).ok_or_else(|| {
                Error::invalid("currency", "Currency must be an ISO 4217 code such as XOF.")
            })
        })
        .transpose()?;
    let mut stats = CheckoutStats {
        from,
        to,
        ..Default::default()
    };
    for (st, n) in counts_by_status(state, p, from, to, currency).await? {
        stats.created += n;
        match st {
            SessionStatus::Open => stats.open += n,
            SessionStatus::Complete => stats.complete += n,
            SessionStatus::Expired => stats.expired += n,
        }
    }
    let (series, gross_volume) = series(state, p, from, to, currency).await?;
    stats.series = series;
    stats.gross_volume = gross_volume;
    stats.conversion_rate = if stats.created > 0 {
        stats.complete as f64 / stats.created as f64
    } else {
        0.0
    };
    Ok(stats)
}

/// Sessions created in the range, by the status a reader sees now.
async fn counts_by_status(
    state: &AppState,
    p: &Principal,
    from: i64,
    to: i64,
    currency: Option<Currency>,
) -> Result<Vec<(SessionStatus, i64)>> {
    let now = state.clock.now();
    // `now` is an integer we format ourselves: no injection.
    let status = format!(
        "CASE WHEN status = '{open}' AND expires_at <= {now} THEN '{expired}' ELSE status END",
        open = SessionStatus::Open,
        expired = SessionStatus::Expired,
    );
    Ok(in_range(p, from, to, currency)
        .column_as(Expr::cust(status.clone()), "st")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(Expr::cust(status))
        .into_tuple()
        .all(&state.db)
        .await?)
}

/// Per UTC day: created, completed, paid volume per currency; and the
/// range's volume per currency.
async fn series(
    state: &AppState,
    p: &Principal,
    from: i64,
    to: i64,
    currency: Option<Currency>,
) -> Result<(Vec<DayStats>, Vec<Volume>)> {
    let day = "(created / 86400)";
    let rows: Vec<(i64, String, i64, i64, i64)> = in_range(p, from, to, currency)
        .column_as(Expr::cust(day), "day")
        .column(cs::Column::Currency)
        .column_as(Expr::cust("COUNT(*)"), "created_n")
        .column_as(
            Expr::cust(format!(
                "CAST(SUM(CASE WHEN status = '{}' THEN 1 ELSE 0 END) AS BIGINT)",
                SessionStatus::Complete
            )),
            "completed_n",
        )
        .column_as(
            Expr::cust(format!(
                "CAST(SUM(CASE WHEN payment_status = '{}' THEN amount_total ELSE 0 END) AS BIGINT)",
                PaymentStatus::Paid
            )),
            "volume",
        )
        .group_by(Expr::cust(day))
        .group_by(cs::Column::Currency)
        .order_by_asc(Expr::cust(day))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut days: BTreeMap<i64, DayStats> = BTreeMap::new();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for (d, cur, created, completed, volume) in rows {
        let e = days.entry(d).or_insert_with(|| DayStats {
            day: d * DAY,
            ..Default::default()
        });
        e.created += created;
        e.completed += completed;
        if volume > 0 {
            e.gross_volume.push(Volume {
                currency: cur.clone(),
                amount: volume,
            });
            let t = totals.entry(cur).or_insert(0);
            *t = t
                .checked_add(volume)
                .ok_or_else(|| Error::Internal("volume overflow".into()))?;
        }
    }
    let gross = totals
        .into_iter()
        .map(|(currency, amount)| Volume { currency, amount })
        .collect();
    Ok((days.into_values().collect(), gross))
}
