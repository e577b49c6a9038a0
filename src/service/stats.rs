//! Dashboard figures: whole days from the daily rollup kept by `tally`,
//! the hours at an unaligned range's ends from the rows themselves.
use std::collections::BTreeMap;

use entity::{checkout_session as cs, daily_stat as ds, refund};
use sea_orm::sea_query::{Expr, ExprTrait};

use crate::service::checkout;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select};

use crate::AppState;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{Currency, PaymentStatus, RefundStatus, SessionStatus};
use crate::error::{Error, Result};

use crate::service::tally::DAY;
/// Longest range a stats query may cover (bounds the series).
const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    pub currency: String,
    /// Minor units; only a net volume can be negative.
    pub amount: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayStats {
    /// Unix seconds of the UTC day's start.
    pub day: i64,
    pub created: i64,
    pub completed: i64,
    pub gross_volume: Vec<Volume>,
    pub refunded: Vec<Volume>,
    pub net_volume: Vec<Volume>,
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
    /// Succeeded refunds (by the day they were requested), per currency.
    pub refunded: Vec<Volume>,
    /// Gross less refunded, per currency.
    pub net_volume: Vec<Volume>,
    /// complete / created, 0 when nothing was created.
    pub conversion_rate: f64,
    pub series: Vec<DayStats>,
}

/// Figures of one UTC day, per currency where they are money.
#[derive(Default)]
struct DayAcc {
    created: i64,
    completed: i64,
    gross: BTreeMap<String, i64>,
    refunded: BTreeMap<String, i64>,
}

/// The stats being summed from the rollup and the edges.
#[derive(Default)]
struct Acc {
    created: i64,
    open: i64,
    complete: i64,
    expired: i64,
    days: BTreeMap<i64, DayAcc>,
}

fn add(to: &mut BTreeMap<String, i64>, currency: &str, amount: i64) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let t = to.entry(currency.to_string()).or_insert(0);
    *t = t
        .checked_add(amount)
        .ok_or_else(|| Error::Internal("volume overflow".into()))?;
    Ok(())
}

fn volumes(m: &BTreeMap<String, i64>) -> Vec<Volume> {
    m.iter()
        .map(|(currency, &amount)| Volume {
            currency: currency.clone(),
            amount,
        })
        .collect()
}

/// `gross - refunded`, per currency present in either.
fn net(gross: &BTreeMap<String, i64>, refunded: &BTreeMap<String, i64>) -> Result<Vec<Volume>> {
    let mut out = gross.clone();
    for (c, r) in refunded {
        add(&mut out, c, r.checked_neg().unwrap_or(i64::MIN))?;
        out.entry(c.clone()).or_insert(0);
    }
    Ok(volumes(&out))
}

impl Acc {
    fn day(&mut self, day: i64) -> &mut DayAcc {
        self.days.entry(day).or_default()
    }

    fn finish(self, from: i64, to: i64) -> Result<CheckoutStats> {
        let mut gross = BTreeMap::new();
        let mut refunded = BTreeMap::new();
        let mut series = Vec::with_capacity(self.days.len());
        for (day, d) in self.days {
            for (c, &a) in &d.gross {
                add(&mut gross, c, a)?;
            }
            for (c, &a) in &d.refunded {
                add(&mut refunded, c, a)?;
            }
            series.push(DayStats {
                day: day * DAY,
                created: d.created,
                completed: d.completed,
                gross_volume: volumes(&d.gross),
                refunded: volumes(&d.refunded),
                net_volume: net(&d.gross, &d.refunded)?,
            });
        }
        Ok(CheckoutStats {
            from,
            to,
            created: self.created,
            open: self.open,
            complete: self.complete,
            expired: self.expired,
            gross_volume: volumes(&gross),
            refunded: volumes(&refunded),
            net_volume: net(&gross, &refunded)?,
            conversion_rate: if self.created > 0 {
                self.complete as f64 / self.created as f64
            } else {
                0.0
            },
            series,
        })
    }
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
/// Whole days come from the rollup (one row per day, currency and slot);
/// the parts of a day at either end of an unaligned range from the sessions
/// and refunds of those hours.
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
    let currency = crate::service::paging::currency_filter(currency)?;
    let mut acc = Acc::default();
    let (first_day, end_day) = (
        from.div_euclid(DAY) + i64::from(from.rem_euclid(DAY) != 0),
        to.div_euclid(DAY),
    );
    if first_day < end_day {
        rollup(state, p, first_day, end_day, currency, &mut acc).await?;
        scanned(state, p, from, first_day * DAY, currency, &mut acc).await?;
        scanned(state, p, end_day * DAY, to, currency, &mut acc).await?;
    } else {
        scanned(state, p, from, to, currency, &mut acc).await?;
    }
    acc.finish(from, to)
}

/// Whole UTC days `[first_day, end_day)` from the rollup, and the open
/// sessions of those days past `expires_at` moved to expired (the sweeper
/// has not stored them so yet; the partial index of open sessions finds them).
async fn rollup(
    state: &AppState,
    p: &Principal,
    first_day: i64,
    end_day: i64,
    currency: Option<Currency>,
    acc: &mut Acc,
) -> Result<()> {
    let sum = |c: &str| Expr::cust(format!("CAST(SUM({c}) AS BIGINT)"));
    let mut q = ds::Entity::find()
        .select_only()
        .column(ds::Column::Day)
        .column(ds::Column::Currency)
        .column_as(sum("created"), "created")
        .column_as(sum("completed"), "completed")
        .column_as(sum("expired"), "expired")
        .column_as(sum("gross_volume"), "gross_volume")
        .column_as(sum("refunded"), "refunded")
        .filter(ds::Column::MerchantId.eq(&p.merchant_id))
        .filter(ds::Column::Livemode.eq(p.livemode))
        .filter(ds::Column::Day.gte(first_day))
        .filter(ds::Column::Day.lt(end_day))
        .group_by(ds::Column::Day)
        .group_by(ds::Column::Currency);
    if let Some(c) = currency {
        q = q.filter(ds::Column::Currency.eq(c.code()));
    }
    let rows: Vec<(i64, String, i64, i64, i64, i64, i64)> = q.into_tuple().all(&state.db).await?;
    for (day, cur, created, completed, expired, gross, refunded) in rows {
        acc.created += created;
        acc.complete += completed;
        acc.expired += expired;
        acc.open += created - completed - expired;
        let d = acc.day(day);
        d.created += created;
        d.completed += completed;
        add(&mut d.gross, &cur, gross)?;
        add(&mut d.refunded, &cur, refunded)?;
    }
    let (from, to) = (first_day * DAY, end_day * DAY);
    // `+ 0`: the range is checked on the few due rows, not used to walk
    // the status index.
    let created = || Expr::col((cs::Entity, cs::Column::Created)).add(0);
    let mut due = cs::Entity::find()
        .filter(cs::Column::MerchantId.eq(&p.merchant_id))
        .filter(cs::Column::Livemode.eq(p.livemode))
        .filter(checkout::due_open(state.clock.now()))
        .filter(created().gte(from))
        .filter(created().lt(to));
    if let Some(c) = currency {
        due = due.filter(cs::Column::Currency.eq(c.code()));
    }
    let due = PaginatorTrait::count(due, &state.db).await? as i64;
    acc.open -= due;
    acc.expired += due;
    Ok(())
}

/// `[from, to)`, less than a day at an end of the range, from the sessions
/// and refunds themselves (an index range of those hours).
async fn scanned(
    state: &AppState,
    p: &Principal,
    from: i64,
    to: i64,
    currency: Option<Currency>,
    acc: &mut Acc,
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    for (st, n) in counts_by_status(state, p, from, to, currency).await? {
        acc.created += n;
        match st {
            SessionStatus::Open => acc.open += n,
            SessionStatus::Complete => acc.complete += n,
            SessionStatus::Expired => acc.expired += n,
        }
    }
    series(state, p, from, to, currency, acc).await?;
    let mut refunds = refund::Entity::find()
        .select_only()
        .column_as(Expr::cust("(created / 86400)"), "day")
        .column(refund::Column::Currency)
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "refunded")
        .filter(refund::Column::MerchantId.eq(&p.merchant_id))
        .filter(refund::Column::Livemode.eq(p.livemode))
        .filter(refund::Column::Created.gte(from))
        .filter(refund::Column::Created.lt(to))
        .filter(refund::Column::Status.eq(RefundStatus::Succeeded))
        .group_by(Expr::cust("(created / 86400)"))
        .group_by(refund::Column::Currency);
    if let Some(c) = currency {
        refunds = refunds.filter(refund::Column::Currency.eq(c.code()));
    }
    let rows: Vec<(i64, String, i64)> = refunds.into_tuple().all(&state.db).await?;
    for (day, cur, amount) in rows {
        add(&mut acc.day(day).refunded, &cur, amount)?;
    }
    Ok(())
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

/// Per UTC day and currency: created, completed, paid volume.
async fn series(
    state: &AppState,
    p: &Principal,
    from: i64,
    to: i64,
    currency: Option<Currency>,
    acc: &mut Acc,
) -> Result<()> {
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
        .into_tuple()
        .all(&state.db)
        .await?;
    for (d, cur, created, completed, volume) in rows {
        let e = acc.day(d);
        e.created += created;
        e.completed += completed;
        add(&mut e.gross, &cur, volume)?;
    }
    Ok(())
}
