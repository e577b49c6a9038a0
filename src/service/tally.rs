//! The dashboard's counters and daily rollup, moved in the transaction of
//! each change they count, so a count or a stat is read from a few rows,
//! never by counting sessions (migration `m20261127_000004_dashboard`).
//!
//! Each change adds to one of `SLOTS` rows of its key (chosen by the
//! session's or refund's id): on PostgreSQL concurrent transactions of one
//! merchant then rarely wait on the same row lock until commit. Readers sum
//! the slots.
use entity::{checkout_session as cs, daily_stat as ds, refund, session_count as sc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::error::Result;

const SLOTS: u32 = 8;
pub const DAY: i64 = 86_400;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Created,
    /// Completed, hence paid: its total joins the gross volume.
    Completed,
    Expired,
}

fn slot_of(id: &str) -> i32 {
    // FNV-1a: stable, cheap, spreads sequential ids.
    let h = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (h % SLOTS) as i32
}

/// Counts session `s` (as stored after the change) in its counters and in
/// its creation day's rollup.
pub async fn session(db: &impl ConnectionTrait, s: &cs::Model, m: Move) -> Result<()> {
    let slot = slot_of(s.id.as_str());
    let one = |wanted: Move| i64::from(m == wanted);
    let gross = if m == Move::Completed {
        s.amount_total.minor()
    } else {
        0
    };
    let counter = match m {
        Move::Created => sc::Column::Created,
        Move::Completed => sc::Column::Completed,
        Move::Expired => sc::Column::Expired,
    };
    sc::Entity::insert(sc::ActiveModel {
        merchant_id: Set(s.merchant_id.clone()),
        livemode: Set(s.livemode),
        mode: Set(s.mode),
        currency: Set(s.currency),
        slot: Set(slot),
        created: Set(one(Move::Created)),
        completed: Set(one(Move::Completed)),
        expired: Set(one(Move::Expired)),
    })
    .on_conflict(
        OnConflict::columns([
            sc::Column::MerchantId,
            sc::Column::Livemode,
            sc::Column::Mode,
            sc::Column::Currency,
            sc::Column::Slot,
        ])
        .value(counter, Expr::col((sc::Entity, counter)).add(1))
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let day_counter = match m {
        Move::Created => ds::Column::Created,
        Move::Completed => ds::Column::Completed,
        Move::Expired => ds::Column::Expired,
    };
    let mut on_conflict = OnConflict::columns(KEY);
    on_conflict.value(day_counter, Expr::col((ds::Entity, day_counter)).add(1));
    if gross > 0 {
        on_conflict.value(
            ds::Column::GrossVolume,
            Expr::col((ds::Entity, ds::Column::GrossVolume)).add(gross),
        );
    }
    ds::Entity::insert(ds::ActiveModel {
        merchant_id: Set(s.merchant_id.clone()),
        livemode: Set(s.livemode),
        day: Set(s.created.div_euclid(DAY)),
        currency: Set(s.currency),
        slot: Set(slot),
        created: Set(one(Move::Created)),
        completed: Set(one(Move::Completed)),
        expired: Set(one(Move::Expired)),
        gross_volume: Set(gross),
        refunded: Set(0),
    })
    .on_conflict(on_conflict)
    .exec_without_returning(db)
    .await?;
    Ok(())
}

const KEY: [ds::Column; 5] = [
    ds::Column::MerchantId,
    ds::Column::Livemode,
    ds::Column::Day,
    ds::Column::Currency,
    ds::Column::Slot,
];

/// Adds succeeded refund `r` to the refunded volume of the day it was created.
pub async fn refund_succeeded(db: &impl ConnectionTrait, r: &refund::Model) -> Result<()> {
    let amount = r.amount.minor();
    ds::Entity::insert(ds::ActiveModel {
        merchant_id: Set(r.merchant_id.clone()),
        livemode: Set(r.livemode),
        day: Set(r.created.div_euclid(DAY)),
        currency: Set(r.currency),
        slot: Set(slot_of(r.id.as_str())),
        created: Set(0),
        completed: Set(0),
        expired: Set(0),
        gross_volume: Set(0),
        refunded: Set(amount),
    })
    .on_conflict(
        OnConflict::columns(KEY)
            .value(
                ds::Column::Refunded,
                Expr::col((ds::Entity, ds::Column::Refunded)).add(amount),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Rebuilds the counters and the rollup from the stored sessions and
/// refunds (after data was loaded behind the service's back), in one write
/// transaction.
pub async fn rebuild(state: &crate::AppState) -> Result<()> {
    let tx = state.writer.begin().await?;
    let result = async {
        if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Writers wait while the tables are refilled.
            tx.execute_unprepared(
                "LOCK TABLE checkout_sessions, refunds, session_counts, daily_stats IN SHARE ROW EXCLUSIVE MODE",
            )
            .await?;
        }
        tx.execute_unprepared("DELETE FROM session_counts").await?;
        tx.execute_unprepared("DELETE FROM daily_stats").await?;
        for sql in migration::ROLLUP_BACKFILL {
            tx.execute_unprepared(sql).await?;
        }
        Ok(())
    }
    .await;
    crate::db::end(tx, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_spread_and_stay_in_range() {
        let mut seen = [0u32; SLOTS as usize];
        for i in 0..800 {
            seen[slot_of(&format!("cs_test_{i:09}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    }
}
