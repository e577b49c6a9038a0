//! Additive counters (the dashboard's `session_counts` and `daily_stats`
//! rows) written at commit: a write notes what it adds, and whoever commits
//! writes the sum, in the same transaction, just before `COMMIT` (the
//! writer's commit-time `Sums`).
//!
//! On SQLite the group commit sums the additions of every write of its
//! batch, so the counters cost two statements per batch, not two per write;
//! a write rolled back takes its additions with it. On PostgreSQL each
//! transaction applies its own, last, so its counter-row locks are held for
//! the commit only.
use entity::currency::Currency;
use entity::types::{MerchantId, Mode};
use entity::{daily_stat as ds, session_count as sc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, DbBackend, DbErr, EntityTrait, IdenStatic, Iterable, PrimaryKeyToColumn,
    QueryTrait, Set, Statement,
};

/// A `session_counts` row's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub mode: Mode,
    pub currency: Currency,
    pub slot: i32,
}

/// A `daily_stats` row's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayKey {
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub day: i64,
    pub currency: Currency,
    pub slot: i32,
}

/// What a `session_counts` row gains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    pub created: i64,
    pub completed: i64,
    pub expired: i64,
}

/// What a `daily_stats` row gains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub created: i64,
    pub completed: i64,
    pub expired: i64,
    pub gross_volume: i64,
    pub refunded: i64,
}

/// Additions not yet written, summed per row (a batch touches few rows:
/// a linear search beats hashing here).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    sessions: Vec<(SessionKey, SessionCounts)>,
    days: Vec<(DayKey, DayCounts)>,
}

fn overflow() -> DbErr {
    DbErr::Custom("dashboard counter overflow".into())
}

impl SessionCounts {
    fn checked_add(self, o: SessionCounts) -> Option<SessionCounts> {
        Some(SessionCounts {
            created: self.created.checked_add(o.created)?,
            completed: self.completed.checked_add(o.completed)?,
            expired: self.expired.checked_add(o.expired)?,
        })
    }
}

impl DayCounts {
    fn checked_add(self, o: DayCounts) -> Option<DayCounts> {
        Some(DayCounts {
            created: self.created.checked_add(o.created)?,
            completed: self.completed.checked_add(o.completed)?,
            expired: self.expired.checked_add(o.expired)?,
            gross_volume: self.gross_volume.checked_add(o.gross_volume)?,
            refunded: self.refunded.checked_add(o.refunded)?,
        })
    }
}

/// Adds `add` to the entry of `key` in `rows`, or appends one.
fn add_to<K: PartialEq, V: Copy>(
    rows: &mut Vec<(K, V)>,
    key: K,
    add: V,
    sum: impl Fn(V, V) -> Option<V>,
) -> Result<(), DbErr> {
    match rows.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = sum(*v, add).ok_or_else(overflow)?,
        None => rows.push((key, add)),
    }
    Ok(())
}

impl Counters {
    pub fn add_session(&mut self, key: SessionKey, add: SessionCounts) -> Result<(), DbErr> {
        add_to(&mut self.sessions, key, add, SessionCounts::checked_add)
    }

    pub fn add_day(&mut self, key: DayKey, add: DayCounts) -> Result<(), DbErr> {
        add_to(&mut self.days, key, add, DayCounts::checked_add)
    }
}

impl crate::db::Sums for Counters {
    /// Moves `other`'s additions into these.
    fn merge(&mut self, other: Counters) -> Result<(), DbErr> {
        for (k, v) in other.sessions {
            self.add_session(k, v)?;
        }
        for (k, v) in other.days {
            self.add_day(k, v)?;
        }
        Ok(())
    }

    /// The upserts that write the sums: one multi-row upsert per table that
    /// has any.
    fn statements(&self, backend: DbBackend) -> Vec<Statement> {
        let mut out = Vec::new();
        if !self.sessions.is_empty() {
            let rows = self.sessions.iter().cloned().map(|(k, v)| sc::ActiveModel {
                merchant_id: Set(k.merchant_id),
                livemode: Set(k.livemode),
                mode: Set(k.mode),
                currency: Set(k.currency),
                slot: Set(k.slot),
                created: Set(v.created),
                completed: Set(v.completed),
                expired: Set(v.expired),
            });
            out.push(adding_upsert(rows, backend));
        }
        if !self.days.is_empty() {
            let rows = self.days.iter().cloned().map(|(k, v)| ds::ActiveModel {
                merchant_id: Set(k.merchant_id),
                livemode: Set(k.livemode),
                day: Set(k.day),
                currency: Set(k.currency),
                slot: Set(k.slot),
                created: Set(v.created),
                completed: Set(v.completed),
                expired: Set(v.expired),
                gross_volume: Set(v.gross_volume),
                refunded: Set(v.refunded),
            });
            out.push(adding_upsert(rows, backend));
        }
        out
    }
}

/// `INSERT … ON CONFLICT (primary key) DO UPDATE SET c = c + excluded.c` for
/// every other column: the table's counters grow by the rows' values.
fn adding_upsert<A: ActiveModelTrait>(
    rows: impl IntoIterator<Item = A>,
    backend: DbBackend,
) -> Statement {
    let keys: Vec<_> = <A::Entity as EntityTrait>::PrimaryKey::iter()
        .map(PrimaryKeyToColumn::into_column)
        .collect();
    let mut on_conflict = OnConflict::columns(keys.iter().copied());
    for c in <A::Entity as EntityTrait>::Column::iter() {
        if !keys.iter().any(|k| k.as_str() == c.as_str()) {
            on_conflict.value(
                c,
                Expr::col((A::Entity::default(), c)).add(Expr::col((Alias::new("excluded"), c))),
            );
        }
    }
    A::Entity::insert_many(rows)
        .on_conflict(on_conflict)
        .build(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Sums;

    fn key(slot: i32) -> DayKey {
        DayKey {
            merchant_id: MerchantId::trusted("acct_1".into()),
            livemode: false,
            day: 1,
            currency: Currency::parse("XOF").unwrap(),
            slot,
        }
    }

    #[test]
    fn additions_to_one_row_are_summed_and_overflow_is_an_error() {
        let mut c = Counters::default();
        let one = DayCounts {
            created: 1,
            gross_volume: 500,
            ..DayCounts::default()
        };
        c.add_day(key(0), one).unwrap();
        c.add_day(key(1), one).unwrap();
        let mut other = Counters::default();
        other.add_day(key(0), one).unwrap();
        c.merge(other).unwrap();
        assert_eq!(c.days.len(), 2);
        assert_eq!(c.days[0].1.created, 2);
        assert_eq!(c.days[0].1.gross_volume, 1_000);
        let huge = DayCounts {
            gross_volume: i64::MAX,
            ..DayCounts::default()
        };
        assert!(c.add_day(key(0), huge).is_err());
    }

    #[test]
    fn the_upsert_adds_to_every_counter_on_the_primary_key() {
        let mut c = Counters::default();
        c.add_day(key(3), DayCounts::default()).unwrap();
        let [stmt] = <[Statement; 1]>::try_from(c.statements(DbBackend::Sqlite)).unwrap();
        assert!(
            stmt.sql.ends_with(
                r#"ON CONFLICT ("merchant_id", "livemode", "day", "currency", "slot") DO UPDATE SET "created" = "daily_stats"."created" + "excluded"."created", "completed" = "daily_stats"."completed" + "excluded"."completed", "expired" = "daily_stats"."expired" + "excluded"."expired", "gross_volume" = "daily_stats"."gross_volume" + "excluded"."gross_volume", "refunded" = "daily_stats"."refunded" + "excluded"."refunded""#
            ),
            "{}",
            stmt.sql
        );
    }
}
