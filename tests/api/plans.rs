//! Every dashboard filter, count and stat is an index seek, a counter read
//! or a rollup read — on SQLite and on PostgreSQL. The statements a request
//! really runs are captured and EXPLAINed on a table of seeded sessions; a
//! query that stops using its index, or scans a table, fails here.
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::*;

/// Tables that grow with the business: never read by a full scan.
const BIG: &[&str] = &[
    "checkout_sessions",
    "line_items",
    "payment_intents",
    "events",
    "refunds",
    "daily_stats",
    "session_counts",
];

const SEEDED: u64 = 20_000;

/// The query plans of `statements`, one text per statement.
async fn plans(app: &TestApp, statements: &[Statement]) -> Vec<(String, String)> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for s in statements {
        if !s.sql.trim_start().starts_with("SELECT") && !s.sql.trim_start().starts_with("WITH") {
            continue;
        }
        let plan = if backend == DatabaseBackend::Postgres {
            // A table of a few rows is read faster without its index: say
            // what the planner would do once the table is big.
            let tx = sea_orm::TransactionTrait::begin(db).await.expect("begin");
            tx.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .expect("set");
            let rows = tx
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!("EXPLAIN {}", s.sql),
                    s.values.clone().map(|v| v.0).unwrap_or_default(),
                ))
                .await
                .expect("explain");
            tx.rollback().await.expect("rollback");
            rows.iter()
                .map(|r| r.try_get_by_index::<String>(0).expect("plan line"))
                .collect::<Vec<_>>()
        } else {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!("EXPLAIN QUERY PLAN {}", s.sql),
                    s.values.clone().map(|v| v.0).unwrap_or_default(),
                ))
                .await
                .expect("explain");
            rows.iter()
                .map(|r| r.try_get::<String>("", "detail").expect("detail"))
                .collect()
        };
        out.push((s.sql.clone(), plan.join("\n")));
    }
    out
}

/// A full read of a big table: SQLite `SCAN t` (with or without an index:
/// an index walked end to end is still every row), PostgreSQL `Seq Scan on t`.
fn full_scan(plan: &str) -> Option<&'static str> {
    BIG.iter().copied().find(|t| {
        plan.lines().any(|l| {
            let l = l.trim_start_matches([' ', '-', '>']).trim();
            l.starts_with(&format!("SCAN {t}")) || l.contains(&format!("Seq Scan on {t}"))
        })
    })
}

/// The merchant's whole list, walked in order and filtered row by row: fine
/// for the plain list (its `LIMIT` stops the walk), a scan for a filter.
const WALK: &str = "checkout_sessions_list";

/// Whether `plan` walks the list index on the owner alone (no `created`
/// range): SQLite `… checkout_sessions_list (merchant_id=? AND livemode=?)`,
/// PostgreSQL an index scan on it whose `Index Cond` has no `created`.
fn walks_list(plan: &str) -> bool {
    let lines: Vec<&str> = plan.lines().collect();
    lines.iter().enumerate().any(|(i, l)| {
        if !l.contains(WALK) {
            return false;
        }
        if l.contains("SEARCH") || l.contains("SCAN") {
            return !l.contains("created");
        }
        let cond = lines[i + 1..]
            .iter()
            .find(|n| n.contains("Index Cond:"))
            .copied()
            .unwrap_or("");
        !cond.contains("created")
    })
}

/// Runs `request`, and checks every statement it ran: no full scan of a big
/// table, no walk of the list unless `indexes` names it, and each of
/// `indexes` used by some statement (`a|b`: either).
async fn check<F: std::future::Future<Output = Value>>(
    app: &TestApp,
    what: &str,
    indexes: &[&str],
    request: F,
) {
    let (answer, statements) = app.statements_of(request).await;
    assert!(answer.get("errors").is_none(), "{what}: {answer}");
    let plans = plans(app, &statements).await;
    let all = plans
        .iter()
        .map(|(sql, plan)| format!("{sql}\n  => {}", plan.replace('\n', "\n     ")))
        .collect::<Vec<_>>()
        .join("\n");
    if std::env::var("IK_PRINT_PLANS").is_ok() {
        eprintln!("== {what}\n{all}");
    }
    for (_, plan) in &plans {
        assert!(
            full_scan(plan).is_none(),
            "{what}: a full scan of {:?}\n{all}",
            full_scan(plan)
        );
    }
    if !indexes.contains(&WALK) {
        assert!(
            plans.iter().all(|(_, p)| !walks_list(p)),
            "{what}: walks the list index\n{all}"
        );
    }
    for index in indexes {
        // `a|b`: either index (the planner picks by the statistics).
        assert!(
            plans
                .iter()
                .any(|(_, p)| index.split('|').any(|i| p.contains(i))),
            "{what}: no statement used {index}\n{all}"
        );
    }
}

async fn rest(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.expect("json")
}

#[tokio::test]
async fn every_dashboard_filter_count_and_stat_is_an_index_seek() {
    let app = spawn_app_without_webhook_worker().await;
    // A paid, refunded session of our own (events and a refund), then the
    // seeded ones.
    let s = app.create_session(&seed_body()).await;
    let (sid, pi) = (
        s["id"].as_str().unwrap().to_string(),
        s["payment_intent"].as_str().unwrap().to_string(),
    );
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    let r = app
        .post(
            "/api/v1/refunds",
            &json!({"payment_intent": pi, "amount": 1000}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let merchant = ikawaari::domain::MerchantId::parse(&app.merchant_id).unwrap();
    let now = app.state.clock.now();
    ikawaari::seed::sessions(&app.state, &merchant, 1, SEEDED, now, false)
        .await
        .expect("seed");

    let list = WALK;
    check(
        &app,
        "list",
        &[list],
        rest(&app, "/api/v1/checkout/sessions?limit=20"),
    )
    .await;
    for (status, indexes) in [
        // PostgreSQL may read the (few) open sessions from the partial index
        // of open sessions and sort them, by its statistics.
        (
            "open",
            &["checkout_sessions_status|checkout_sessions_sweep|checkout_sessions_open_due"][..],
        ),
        ("complete", &["checkout_sessions_status"]),
        (
            "expired",
            &[
                "checkout_sessions_status",
                "checkout_sessions_open_due|checkout_sessions_sweep",
            ],
        ),
    ] {
        let path = format!("/api/v1/checkout/sessions?limit=20&status={status}");
        check(&app, &path, indexes, rest(&app, &path)).await;
    }
    for (path, index) in [
        (
            "/api/v1/checkout/sessions?client_reference_id=ref500".to_string(),
            "checkout_sessions_by_client_ref",
        ),
        (
            "/api/v1/checkout/sessions?customer_email=buyer500@example.com".into(),
            "checkout_sessions_email",
        ),
        (
            "/api/v1/checkout/sessions?payment_intent=pi_seed000000500".into(),
            "checkout_sessions_payment_intent",
        ),
        (
            format!(
                "/api/v1/checkout/sessions?created[gte]={}&created[lte]={}",
                now - 86_400,
                now - 3_600
            ),
            list,
        ),
        (
            "/api/v1/checkout/sessions?payment_link=plink_none0000000000000".into(),
            "checkout_sessions_by_link",
        ),
        (
            format!("/api/v1/events?object_id={sid}"),
            "events_by_object",
        ),
        (
            "/api/v1/events?type=checkout.session.completed".into(),
            "events_by_type",
        ),
        (
            "/api/v1/events?type=checkout.session.*".into(),
            "events_by_type",
        ),
        (
            format!("/api/v1/refunds?payment_intent={pi}"),
            "refunds_by_payment_intent",
        ),
    ] {
        check(&app, &path, &[index], rest(&app, &path)).await;
    }
    let counts = "{ checkoutSessions(first: 20) { totalCount nodes { id } } }";
    check(
        &app,
        "totalCount",
        &[
            "session_counts",
            "checkout_sessions_open_due|checkout_sessions_sweep",
            WALK,
        ],
        app.graphql(counts, json!({})),
    )
    .await;
    let by_status =
        "{ checkoutSessions(first: 20, filter: {status: EXPIRED}) { totalCount nodes { id } } }";
    check(
        &app,
        "totalCount by status",
        &[
            "session_counts",
            "checkout_sessions_open_due|checkout_sessions_sweep",
        ],
        app.graphql(by_status, json!({})),
    )
    .await;
    let by_link = "{ checkoutSessions(first: 20, filter: {paymentLink: \"plink_none0000000000000\"}) { totalCount nodes { id } } }";
    check(
        &app,
        "totalCount by payment link",
        &["checkout_sessions_by_link"],
        app.graphql(by_link, json!({})),
    )
    .await;
    let search = "query($q: String) { checkoutSessions(first: 20, filter: {search: $q}) { totalCount nodes { id } } }";
    for q in [
        "ref500",
        "buyer500@example.com",
        "pi_seed000000500",
        "cs_test_seed000000500",
    ] {
        check(
            &app,
            &format!("search {q}"),
            &["checkout_sessions_by_client_ref", "checkout_sessions_email"],
            app.graphql(search, json!({"q": q})),
        )
        .await;
    }
    let stats = "query($from: DateTime!, $to: DateTime!) { checkoutStats(from: $from, to: $to) { created counts { open complete expired } grossVolume { amount } refundedVolume { amount } netVolume { amount } } }";
    let day = 86_400;
    let to = (now / day + 1) * day;
    for (from, to) in [(to - 365 * day, to), (now - 365 * day, now)] {
        let vars = json!({"from": ikawaari::domain::time::format_rfc3339(from),
                          "to": ikawaari::domain::time::format_rfc3339(to)});
        check(
            &app,
            "checkoutStats",
            &[
                "daily_stats",
                "checkout_sessions_open_due|checkout_sessions_sweep",
            ],
            app.graphql(stats, vars),
        )
        .await;
    }
}
