//! The dashboard's counters and daily rollup, moved in the transaction of
//! each change they count (added up and written at its commit: `counters`,
//! the writer's commit-time sums), so a count or a stat is read from a few rows,
//! never by counting sessions (migration `m20261127_000004_dashboard`).
//!
//! Each change adds to one of `SLOTS` rows of its key (chosen by the
//! session's or refund's id): on PostgreSQL concurrent transactions of one
//! merchant then rarely wait on the same row lock until commit. Readers sum
//! the slots.
use entity::{checkout_session as cs, refund};
use sea_orm::ConnectionTrait;

use crate::db::WriteTx;
pub mod counters;

use crate::error::Result;
use counters::{Counters, DayCounts, DayKey, SessionCounts, SessionKey};

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
/// its creation day's rollup, when `tx` commits.
pub fn session(tx: &WriteTx, s: &cs::Model, m: Move) -> Result<()> {
    let slot = slot_of(s.id.as_str());
    let one = |wanted: Move| i64::from(m == wanted);
    let gross = if m == Move::Completed {
        s.amount_total.minor()
    } else {
        0
    };
    tx.sum(|c: &mut Counters| {
        c.add_session(
            SessionKey {
                merchant_id: s.merchant_id.clone(),
                livemode: s.livemode,
                mode: s.mode,
                currency: s.currency,
                slot,
            },
            SessionCounts {
                created: one(Move::Created),
                completed: one(Move::Completed),
                expired: one(Move::Expired),
            },
        )?;
        c.add_day(
            DayKey {
                merchant_id: s.merchant_id.clone(),
                livemode: s.livemode,
                day: s.created.div_euclid(DAY),
                currency: s.currency,
                slot,
            },
            DayCounts {
                created: one(Move::Created),
                completed: one(Move::Completed),
                expired: one(Move::Expired),
                gross_volume: gross,
                refunded: 0,
            },
        )
    })?;
    Ok(())
}

/// Adds succeeded refund `r` to the refunded volume of the day it was
/// created, when `tx` commits.
pub fn refund_succeeded(tx: &WriteTx, r: &refund::Model) -> Result<()> {
    tx.sum(|c: &mut Counters| {
        c.add_day(
            DayKey {
                merchant_id: r.merchant_id.clone(),
                livemode: r.livemode,
                day: r.created.div_euclid(DAY),
                currency: r.currency,
                slot: slot_of(r.id.as_str()),
            },
            DayCounts {
                refunded: r.amount.minor(),
                ..DayCounts::default()
            },
        )
    })?;
    Ok(())
}

/// Rebuilds the counters and the rollup from the stored sessions and
/// refunds (after data was loaded behind the service's back), in one write
/// transaction.
pub async fn rebuild(state: &crate::AppState) -> Result<()> {
    state.writer.transaction(|tx| async move {
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
    })
    .await
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
