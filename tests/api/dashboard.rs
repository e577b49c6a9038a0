//! The dashboard's counts and stats come from counters and a daily rollup
//! kept in the transactions of the changes: they must equal what the
//! sessions themselves say, through every kind of change, and again after
//! the rollups are rebuilt from scratch.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::*;

const DAY: i64 = 86_400;

/// Every session of the test key, through the REST list.
async fn all_sessions(app: &TestApp) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let mut path = "/api/v1/checkout/sessions?limit=100".to_string();
        if let Some(last) = out.last() {
            path += &format!("&starting_after={}", last["id"].as_str().unwrap());
        }
        let page: Value = app.get(&path).await.json().await.unwrap();
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] != true {
            return out;
        }
    }
}

fn body(amount: i64, currency: &str, mode: &str) -> Value {
    let mut item =
        json!({"name": "Article", "amount": amount, "currency": currency, "quantity": 1});
    if mode == "subscription" {
        item["recurring"] = json!({"interval": "month"});
    }
    json!({"line_items": [item], "mode": mode, "success_url": "https://shop.test/ok"})
}

/// GraphQL `totalCount` under `filter`.
async fn total(app: &TestApp, filter: Value) -> i64 {
    let v = app
        .graphql(
            "query($f: CheckoutSessionFilter) { checkoutSessions(first: 1, filter: $f) { totalCount } }",
            json!({"f": filter}),
        )
        .await;
    v["data"]["checkoutSessions"]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{v}"))
}

/// `checkoutStats` over `[from, to)`, without the series.
async fn stats(app: &TestApp, from: i64, to: i64) -> Value {
    let fmt = ikawaari::domain::time::format_rfc3339;
    let v = app
        .graphql(
            "query($from: DateTime!, $to: DateTime!) { checkoutStats(from: $from, to: $to) {
                created counts { open complete expired } grossVolume { currency amount }
                refundedVolume { currency amount } netVolume { currency amount } } }",
            json!({"from": fmt(from), "to": fmt(to)}),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    v["data"]["checkoutStats"].clone()
}

fn volumes(m: &BTreeMap<String, i64>) -> Value {
    Value::Array(
        m.iter()
            .map(|(c, a)| json!({"currency": c, "amount": a}))
            .collect(),
    )
}

/// What `checkoutStats` must say over `[from, to)`, from the sessions and
/// the succeeded refunds (amount, currency, created) themselves.
fn expected(sessions: &[Value], refunds: &[(i64, &str, i64)], from: i64, to: i64) -> Value {
    let mut counts = BTreeMap::from([("open", 0), ("complete", 0), ("expired", 0)]);
    let (mut gross, mut refunded) = (BTreeMap::new(), BTreeMap::new());
    let mut created = 0;
    for s in sessions {
        let t = s["created"].as_i64().unwrap();
        if t < from || t >= to {
            continue;
        }
        created += 1;
        *counts.get_mut(s["status"].as_str().unwrap()).unwrap() += 1;
        if s["payment_status"] == "paid" {
            *gross
                .entry(s["currency"].as_str().unwrap().to_uppercase())
                .or_insert(0) += s["amount_total"].as_i64().unwrap();
        }
    }
    for &(amount, currency, t) in refunds {
        if t >= from && t < to {
            *refunded.entry(currency.to_string()).or_insert(0) += amount;
        }
    }
    let mut net = gross.clone();
    for (c, r) in &refunded {
        *net.entry(c.clone()).or_insert(0) -= r;
    }
    json!({"created": created, "counts": counts, "grossVolume": volumes(&gross),
           "refundedVolume": volumes(&refunded), "netVolume": volumes(&net)})
}

async fn check_everything(app: &TestApp, refunds: &[(i64, &str, i64)], day1: i64, when: &str) {
    let sessions = all_sessions(app).await;
    let count = |f: &dyn Fn(&Value) -> bool| sessions.iter().filter(|s| f(s)).count() as i64;
    assert_eq!(total(app, json!({})).await, sessions.len() as i64, "{when}");
    for status in ["open", "complete", "expired"] {
        assert_eq!(
            total(app, json!({"status": status.to_uppercase()})).await,
            count(&|s| s["status"] == status),
            "{when}: {status}"
        );
        for mode in ["payment", "subscription"] {
            assert_eq!(
                total(
                    app,
                    json!({"status": status.to_uppercase(), "mode": mode.to_uppercase()})
                )
                .await,
                count(&|s| s["status"] == status && s["mode"] == mode),
                "{when}: {status} {mode}"
            );
        }
    }
    assert_eq!(
        total(app, json!({"currency": "USD"})).await,
        count(&|s| s["currency"] == "usd" || s["currency"] == "USD"),
        "{when}: USD"
    );
    assert_eq!(
        total(app, json!({"search": "ref-7"})).await,
        count(&|s| s["client_reference_id"] == "ref-7"),
        "{when}: search"
    );
    // Whole days (the rollup), and a range with an hour at each end (rollup
    // plus the rows of those hours).
    for (from, to) in [
        (day1, day1 + 2 * DAY),
        (day1 - DAY, day1 + 3 * DAY),
        (day1 + 3600, day1 + DAY + 7200),
        (day1 + 3600, day1 + 7200),
    ] {
        assert_eq!(
            stats(app, from, to).await,
            expected(&sessions, refunds, from, to),
            "{when}: stats [{from}, {to})"
        );
    }
}

#[tokio::test]
async fn counts_and_stats_equal_the_sessions_through_every_change_and_a_rebuild() {
    let app = spawn_app().await;
    // Start at 00:30 UTC: day 1 has sessions before and after 01:00.
    let now = app.state.clock.now();
    let day1 = now - now.rem_euclid(DAY) + DAY;
    app.state.clock.advance(day1 + 1800 - now);
    let mut ids = Vec::new();
    for i in 0..8 {
        let mut b = body(10_000 + i * 1000, "XOF", "payment");
        b["client_reference_id"] = json!(format!("ref-{i}"));
        if i == 5 {
            // Expires by time, before the sweeper ever runs.
            b["expires_at"] = json!(app.state.clock.now() + 1900);
        }
        let s = app.create_session(&b).await;
        ids.push((
            s["id"].as_str().unwrap().to_string(),
            s["payment_intent"].as_str().unwrap().to_string(),
        ));
        app.state.clock.advance(600);
    }
    let usd = app.create_session(&body(1999, "USD", "payment")).await;
    let sub = app.create_session(&body(5000, "XOF", "subscription")).await;
    for id in [&ids[0].0, &ids[1].0, &ids[2].0] {
        assert_eq!(app.pay(id, &card("4242424242424242")).await.status(), 200);
    }
    assert_eq!(
        app.pay(&ids[3].0, &card("4000000000005126")).await.status(),
        200
    );
    assert_eq!(
        app.pay(usd["id"].as_str().unwrap(), &card("4242424242424242"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.pay(sub["id"].as_str().unwrap(), &card("4242424242424242"))
            .await
            .status(),
        200
    );
    // A declined payment changes nothing.
    app.pay(&ids[4].0, &card("4000000000000002")).await;
    let expired = app
        .post(
            &format!("/api/v1/checkout/sessions/{}/expire", ids[6].0),
            &json!({}),
        )
        .await;
    assert_eq!(expired.status(), 200);
    let mut refunds: Vec<(i64, &str, i64)> = Vec::new();
    for (pi, amount) in [(&ids[0].1, 4000), (&ids[1].1, 11_000), (&ids[3].1, 2000)] {
        let r: Value = app
            .post(
                "/api/v1/refunds",
                &json!({"payment_intent": pi, "amount": amount}),
            )
            .await
            .json()
            .await
            .unwrap();
        // The 5126 card's refund fails: not refunded volume.
        if r["status"] == "succeeded" {
            refunds.push((amount, "XOF", r["created"].as_i64().unwrap()));
        }
    }
    assert_eq!(refunds.len(), 2, "the failing card's refund failed");
    // Day 2: one more session, and session 5 (and the open ones of day 1
    // whose 24 hours passed) now read as expired.
    app.state.clock.advance(DAY);
    app.create_session(&body(7000, "XOF", "payment")).await;
    check_everything(&app, &refunds, day1, "live").await;
    ikawaari::service::tally::rebuild(&app.state)
        .await
        .expect("rebuild");
    check_everything(&app, &refunds, day1, "after a rebuild").await;
    // The sweeper storing what readers already saw moves nothing.
    ikawaari::service::checkout::sweep_expired(&app.state, 100)
        .await
        .expect("sweep");
    check_everything(&app, &refunds, day1, "after the sweeper").await;
}

/// Writes that share a commit (SQLite's group commit sums their counter
/// additions and writes them once per batch): concurrent creates, payments
/// racing on the same sessions, declines and a failing write among them —
/// the counters still equal the sessions, before and after a rebuild.
#[tokio::test]
async fn counts_hold_when_many_writes_share_a_commit() {
    let app = spawn_app().await;
    let now = app.state.clock.now();
    let day1 = now - now.rem_euclid(DAY) + 3600;
    app.state.clock.advance(day1 - now);
    let creates = (0..40).map(|i| {
        let app = &app;
        async move {
            let mode = if i % 5 == 0 {
                "subscription"
            } else {
                "payment"
            };
            app.create_session(&body(1000 + i, "XOF", mode)).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    });
    let ids = futures::future::join_all(creates).await;
    // Every session paid by two racing requests (one wins), every fourth
    // declined, and one create that fails on its idempotency key's reuse.
    let pays = ids.iter().enumerate().flat_map(|(i, id)| {
        let number = if i % 4 == 0 {
            "4000000000000002"
        } else {
            "4242424242424242"
        };
        [id, id].map(|id| {
            let app = &app;
            async move { app.pay(id, &card(number)).await.status().as_u16() }
        })
    });
    let reused = async {
        let key = "same-key";
        let post = |amount: i64| {
            app.client
                .post(app.url("/api/v1/checkout/sessions"))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", key)
                .json(&body(amount, "XOF", "payment"))
                .send()
        };
        let first = post(500).await.unwrap().status().as_u16();
        let second = post(600).await.unwrap().status().as_u16();
        (first, second)
    };
    let (statuses, reused) = tokio::join!(futures::future::join_all(pays), reused);
    assert!(
        statuses.iter().all(|s| [200, 402, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        reused,
        (200, 400),
        "an idempotency key reused with another body"
    );
    let paid = all_sessions(&app)
        .await
        .iter()
        .filter(|s| s["status"] == "complete")
        .count();
    assert_eq!(paid, 30, "40 sessions, 10 declined");
    check_everything(&app, &[], day1 - 3600, "concurrent").await;
    ikawaari::service::tally::rebuild(&app.state)
        .await
        .expect("rebuild");
    check_everything(&app, &[], day1 - 3600, "after a rebuild").await;
}

/// A write's deferred statements are part of it: when one fails at commit,
/// nothing of the write stays — neither the statements run before it nor
/// its counter additions — and the writes after it are unaffected. Both
/// PostgreSQL paths (deferred only: one statement in autocommit; after a
/// statement: inside the transaction) and SQLite's savepoint.
#[tokio::test]
async fn a_deferred_statement_that_fails_fails_its_whole_write() {
    use entity::merchant;
    use ikawaari::service::tally::counters::{Counters, SessionCounts, SessionKey};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = spawn_app().await;
    let row = |id: &str| merchant::ActiveModel {
        id: Set(ikawaari::domain::MerchantId::trusted(id.to_string())),
        display_name: Set("Boutique".into()),
        created: Set(0),
    };
    let exists = |id: &'static str| {
        let db = app.state.db.clone();
        async move {
            merchant::Entity::find_by_id(ikawaari::domain::MerchantId::trusted(id.to_string()))
                .all(&db)
                .await
                .unwrap()
                .len()
                == 1
        }
    };
    let counted = || async {
        app.graphql("{ checkoutSessions(first: 1) { totalCount } }", json!({}))
            .await["data"]["checkoutSessions"]["totalCount"]
            .as_i64()
            .unwrap()
    };
    let before = counted().await;
    let count_one = |tx: &ikawaari::db::WriteTx| {
        tx.sum(|c: &mut Counters| {
            c.add_session(
                SessionKey {
                    merchant_id: ikawaari::domain::MerchantId::trusted(app.merchant_id.clone()),
                    livemode: false,
                    mode: ikawaari::domain::Mode::Payment,
                    currency: ikawaari::domain::Currency::parse("XOF").unwrap(),
                    slot: 0,
                },
                SessionCounts {
                    created: 1,
                    ..SessionCounts::default()
                },
            )
        })
        .unwrap()
    };

    // Deferred statements only; the second repeats the first's key.
    let written = app
        .state
        .writer
        .transaction(|tx| async move {
            tx.defer(&merchant::Entity::insert(row("acct_deferred_a")));
            tx.defer(&merchant::Entity::insert(row("acct_deferred_a")));
            count_one(&tx);
            Ok::<_, sea_orm::DbErr>(())
        })
        .await;
    assert!(written.is_err());
    assert!(!exists("acct_deferred_a").await);

    // A statement run first, then a deferred one that fails.
    let merchant_id = app.merchant_id.as_str();
    let written = app
        .state
        .writer
        .transaction(|tx| async move {
            row("acct_deferred_b").insert(&tx).await.unwrap();
            tx.defer(&merchant::Entity::insert(row(merchant_id)));
            count_one(&tx);
            Ok::<_, sea_orm::DbErr>(())
        })
        .await;
    assert!(written.is_err());
    assert!(!exists("acct_deferred_b").await);
    assert_eq!(
        counted().await,
        before,
        "a failed write's counters stay out"
    );

    // The next write commits, deferred statements and counters included.
    app.state
        .writer
        .transaction(|tx| async move {
            tx.defer(&merchant::Entity::insert(row("acct_deferred_c")));
            count_one(&tx);
            Ok::<_, sea_orm::DbErr>(())
        })
        .await
        .unwrap();
    assert!(exists("acct_deferred_c").await);
    assert_eq!(counted().await, before + 1);
}
