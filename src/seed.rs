//! Synthetic sessions loaded straight into the database (a few `INSERT …
//! SELECT` over a number series), for the scale benchmarks and the query
//! plan tests: a million sessions in well under a minute.
//!
//! Seeded sessions belong to one merchant, test mode, spread over the 365
//! days before `now`, oldest first: the newest 1 % open, then one in three
//! complete (paid), the rest expired; `client_reference_id` is `ref<i>`,
//! `customer_email` `buyer<i>@example.com`. Each has one line item and its
//! intent. With `open`, every session is instead open and payable for a
//! day, created in the last hours (the pay benchmark's pool). The counters
//! and the rollup are rebuilt afterwards.
use sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::AppState;
use crate::domain::MerchantId;
use crate::error::Result;

/// Adds `n` sessions (ids `cs_test_seed<i>`, `i` from `first`) to
/// `merchant`, in one transaction, then rebuilds the rollups.
pub async fn sessions(
    state: &AppState,
    merchant: &MerchantId,
    first: u64,
    n: u64,
    now: i64,
    open: bool,
) -> Result<()> {
    let db = &state.db;
    let last = first + n.max(1) - 1;
    let (numbers, from, pad) = match db.get_database_backend() {
        DatabaseBackend::Postgres => (
            String::new(),
            format!("FROM generate_series({first}::bigint, {last}::bigint) AS seq(i)"),
            "lpad(seq.i::text, 9, '0')",
        ),
        _ => (
            format!(
                "WITH RECURSIVE seq(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM seq WHERE i < {last})"
            ),
            "FROM seq".to_string(),
            "printf('%09d', seq.i)",
        ),
    };
    // Ids and the merchant are ours (an id the service minted, integers):
    // nothing here comes from a request.
    let m = merchant.as_str();
    let span = 365 * 86_400_i64;
    let total = last as i64;
    let (created, status) = if open {
        (format!("({now} - {total} + seq.i)"), "'open'".to_string())
    } else {
        (
            format!("({now} - {span} + (seq.i * {span}) / {total})"),
            format!(
                "(CASE WHEN seq.i > {total} - {total} / 100 THEN 'open' WHEN seq.i % 3 = 1 THEN 'complete' ELSE 'expired' END)"
            ),
        )
    };
    let statements = [
        format!(
            "INSERT INTO checkout_sessions (id, merchant_id, livemode, status, payment_status, mode, currency,
              amount_subtotal, amount_total, line_item_count, payment_intent_id, subscription_id, success_url,
              cancel_url, customer_email, client_reference_id, metadata, locale, payment_method_types, created,
              expires_at, completed_at)
             {numbers}
             SELECT 'cs_test_seed' || {pad}, '{m}', false, {status},
              CASE WHEN {status} = 'complete' THEN 'paid' ELSE 'unpaid' END, 'payment', 'XOF', 50000, 50000, 1,
              'pi_seed' || {pad}, NULL, 'https://shop.example/ok', NULL,
              'buyer' || seq.i || '@example.com', 'ref' || seq.i, '{{}}', 'fr', 'card,mobile_money',
              {created},
              CASE WHEN {status} = 'open' THEN {now} + 86400 ELSE {created} + 86400 END,
              CASE WHEN {status} = 'complete' THEN {created} + 60 ELSE NULL END
             {from}"
        ),
        format!(
            "INSERT INTO line_items (id, session_id, position, name, description, images, amount, currency,
              quantity, amount_total, recurring_interval, recurring_interval_count)
             {numbers}
             SELECT 'li_seed' || {pad}, 'cs_test_seed' || {pad}, 0, 'Premium Plan', NULL, '[]',
              50000, 'XOF', 1, 50000, NULL, NULL
             {from}"
        ),
        format!(
            "INSERT INTO payment_intents (id, merchant_id, livemode, session_id, amount, currency, status,
              attempt_id, payment_method, last_payment_error, pending_outcome, settle_at, created, updated,
              amount_refunded)
             {numbers}
             SELECT 'pi_seed' || {pad}, '{m}', false, 'cs_test_seed' || {pad}, 50000, 'XOF',
              CASE {status} WHEN 'complete' THEN 'succeeded' WHEN 'open' THEN 'requires_payment_method' ELSE 'canceled' END,
              NULL, NULL, NULL, NULL, NULL, {created}, {created}, 0
             {from}"
        ),
    ];
    state
        .writer
        .transaction(|tx| async move {
            for sql in &statements {
                tx.execute_unprepared(sql).await?;
            }
            Ok::<_, crate::error::Error>(())
        })
        .await?;
    crate::service::tally::rebuild(state).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum and the checkpointer do soon after a bulk load
        // (statistics, visibility map, hint bits, dirty buffers written):
        // left to them, they run during the first measurements.
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
        if let Err(e) = db.execute_unprepared("CHECKPOINT").await {
            tracing::warn!(error = %e, "CHECKPOINT after seeding (needs a superuser)");
        }
    }
    Ok(())
}
