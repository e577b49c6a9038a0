//! Events and signed webhooks, against a real receiver on loopback.
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Receiver, matches, signature_count};

/// Creates an endpoint for `events` at `url`; returns (id, secret).
pub async fn endpoint(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let res = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": url, "enabled_events": events}),
        )
        .await;
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert_eq!(status, 200, "{v}");
    (
        v["id"].as_str().unwrap().into(),
        v["secret"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn a_card_payment_is_delivered_signed_and_matches_the_events_api() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let res = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": rx.url, "enabled_events": ["*"], "description": "orders"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["object"], "webhook_endpoint");
    assert_eq!(created["status"], "enabled");
    let id = created["id"].as_str().unwrap();
    // The secret is shown on create only, never on reads.
    let read: Value = app
        .get(&format!("/api/v1/webhook_endpoints/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(read.get("secret").is_none(), "{read}");
    let listed: Value = app
        .get("/api/v1/webhook_endpoints")
        .await
        .json()
        .await
        .unwrap();
    assert!(!listed.to_string().contains(&secret));
    // Nor is it stored in clear.
    let stored = raw_column(&app, "SELECT secret FROM webhook_endpoints").await;
    assert!(
        !stored.contains(&secret) && !stored.contains("whsec_"),
        "{stored}"
    );

    let session = app.seed_session().await;
    assert_eq!(
        app.pay(&session, &card("4242424242424242")).await.status(),
        200
    );
    let completed = rx.wait_for_type("checkout.session.completed").await;
    let succeeded = rx.wait_for_type("payment_intent.succeeded").await;
    for r in [&completed, &succeeded] {
        assert_eq!(
            matches(&r.signature, &r.body, &secret),
            1,
            "{}",
            r.signature
        );
        assert_eq!(r.user_agent, "Ikawaari-Webhooks/1");
        assert!(r.content_type.starts_with("application/json"));
        let t: i64 = r.signature[2..r.signature.find(',').unwrap()]
            .parse()
            .unwrap();
        assert!((t - app.state.clock.now()).abs() <= 5);
    }
    let body = completed.json();
    assert_eq!(body["object"], "event");
    assert_eq!(body["livemode"], false);
    assert_eq!(body["data"]["object"]["id"], session);
    assert_eq!(body["data"]["object"]["status"], "complete");
    assert_eq!(body["data"]["object"]["payment_status"], "paid");
    assert_eq!(body["data"]["object"]["object"], "checkout.session");
    assert_eq!(succeeded.json()["data"]["object"]["status"], "succeeded");
    // The events API serves the very bytes that were delivered.
    let event_id = completed.event_id();
    let res = app.get(&format!("/api/v1/events/{event_id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), completed.body);
    // The session's timeline, newest first.
    let timeline: Value = app
        .get(&format!("/api/v1/events?object_id={session}"))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["checkout.session.completed"], "{timeline}");
    let all: Value = app
        .get("/api/v1/events?type=payment_intent.*")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["data"][0]["type"], "payment_intent.succeeded");
    // Deliveries are listed with their outcome.
    let d: Value = app
        .get(&format!("/api/v1/webhook_endpoints/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    let rows = d["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{d}");
    assert!(
        rows.iter().all(|r| r["status"] == "succeeded"
            && r["response_status"] == 200
            && r["attempt"] == 1)
    );
}

async fn raw_column(app: &TestApp, sql: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_bytes_again_until_it_answers_2xx() {
    // A base of 1 s: the worker's claim beat (250 ms) can add to a wait, so
    // with 100 ms a late first retry (247 ms) once outlasted the second.
    let app = spawn_app_with(|c| c.webhook_retry_base_ms = 1000).await;
    let rx = Receiver::start().await;
    rx.answer_with(&[500, 500]);
    let (id, secret) = endpoint(&app, &rx.url, &["checkout.session.completed"]).await;
    let session = app.seed_session().await;
    assert_eq!(
        app.pay(&session, &card("4242424242424242")).await.status(),
        200
    );
    let got = rx.wait_until(15, |g| g.len() >= 3).await;
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "bodies differ across retries"
    );
    assert!(
        got.iter()
            .all(|r| matches(&r.signature, &r.body, &secret) == 1)
    );
    assert_eq!(got[0].event_id(), got[2].event_id());
    // Exponential: the second wait is longer than the first (±20 % jitter:
    // 0.8–1.2 s, then 1.6–2.4 s, each plus at most one claim beat).
    let (w1, w2) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(
        w1 >= Duration::from_millis(750) && w2 > w1,
        "{w1:?} then {w2:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.received().len(), 3, "nothing after the 2xx");
    let d: Value = app
        .get(&format!("/api/v1/webhook_endpoints/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    let rows: Vec<(i64, String, i64)> = d["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["attempt"].as_i64().unwrap(),
                r["status"].as_str().unwrap().into(),
                r["response_status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (3, "succeeded".into(), 200),
            (2, "failed".into(), 500),
            (1, "failed".into(), 500)
        ],
        "{d}"
    );
    assert!(d["data"][1]["error"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn endpoints_receive_only_their_types_and_nothing_once_deleted_or_disabled() {
    let app = spawn_app().await;
    let (only_expired, deleted, disabled, all) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    endpoint(&app, &only_expired.url, &["checkout.session.expired"]).await;
    let (del_id, _) = endpoint(&app, &deleted.url, &["*"]).await;
    let (dis_id, _) = endpoint(&app, &disabled.url, &["*"]).await;
    endpoint(&app, &all.url, &["*"]).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/webhook_endpoints/{del_id}")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"id": del_id, "object": "webhook_endpoint", "deleted": true})
    );
    let res = app
        .post(
            &format!("/api/v1/webhook_endpoints/{dis_id}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "disabled");

    let paid = app.seed_session().await;
    assert_eq!(
        app.pay(&paid, &card("4242424242424242")).await.status(),
        200
    );
    let expired = app.seed_session().await;
    assert_eq!(
        app.post(
            &format!("/api/v1/checkout/sessions/{expired}/expire"),
            &json!({})
        )
        .await
        .status(),
        200
    );
    // The catch-all endpoint got all three; by then every delivery was queued.
    all.wait_until(15, |g| g.len() >= 3).await;
    let got = only_expired.wait_until(15, |g| !g.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_types: Vec<String> = only_expired
        .received()
        .iter()
        .map(|r| r.event_type())
        .collect();
    assert_eq!(got_types, ["checkout.session.expired"]);
    assert_eq!(got[0].json()["data"]["object"]["id"], expired);
    assert!(deleted.received().is_empty() && disabled.received().is_empty());
    assert_eq!(
        app.get(&format!("/api/v1/webhook_endpoints/{del_id}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_new_one_for_24_hours() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (id, old) = endpoint(&app, &rx.url, &["checkout.session.expired"]).await;
    let res = app
        .post(
            &format!("/api/v1/webhook_endpoints/{id}/rotate_secret"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let new = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let s1 = app.seed_session().await;
    app.post(
        &format!("/api/v1/checkout/sessions/{s1}/expire"),
        &json!({}),
    )
    .await;
    let first = rx.wait_until(15, |g| !g.is_empty()).await.remove(0);
    assert_eq!(signature_count(&first.signature), 2, "{}", first.signature);
    assert_eq!(matches(&first.signature, &first.body, &old), 1);
    assert_eq!(matches(&first.signature, &first.body, &new), 1);

    app.state.clock.advance(86_401);
    let s2 = app.seed_session().await;
    app.post(
        &format!("/api/v1/checkout/sessions/{s2}/expire"),
        &json!({}),
    )
    .await;
    let second = rx.wait_until(15, |g| g.len() >= 2).await.remove(1);
    assert_eq!(
        signature_count(&second.signature),
        1,
        "{}",
        second.signature
    );
    assert_eq!(matches(&second.signature, &second.body, &new), 1);
    assert_eq!(matches(&second.signature, &second.body, &old), 0);
}

#[tokio::test]
async fn live_mode_endpoints_must_be_https_on_public_addresses() {
    let app = spawn_app().await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest",
        "http://example.com/hook",
    ] {
        let res = app
            .post_as(
                &app.live_key,
                "/api/v1/webhook_endpoints",
                &json!({"url": url, "enabled_events": ["*"]}),
            )
            .await;
        assert_error(res, 400, "parameter_invalid", Some("url")).await;
    }
    // Test mode: an integrator's own machine is fine.
    let res = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": "http://localhost:4242/hook", "enabled_events": ["*"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // An update is checked the same way.
    let res = app
        .post_as(
            &app.live_key,
            &format!("/api/v1/webhook_endpoints/{id}"),
            &json!({"url": "https://10.0.0.1/"}),
        )
        .await;
    assert_error(res, 404, "resource_missing", None).await;
}

#[tokio::test]
async fn endpoint_input_scopes_and_isolation() {
    use ikawaari::auth::Scope;
    use ikawaari::service::credentials::TokenKind;
    let app = spawn_app().await;
    let bad = [
        (json!({"url": "not a url", "enabled_events": ["*"]}), "url"),
        (
            json!({"url": "ftp://x.test/", "enabled_events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "http://x.test/", "enabled_events": ["*", "checkout.session.nope"]}),
            "enabled_events[1]",
        ),
        (
            json!({"url": "http://x.test/", "enabled_events": []}),
            "enabled_events",
        ),
    ];
    for (body, param) in bad {
        let res = app.post("/api/v1/webhook_endpoints", &body).await;
        assert_error(res, 400, "parameter_invalid", Some(param)).await;
    }
    let res = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": "http://x.test/"}),
        )
        .await;
    assert_error(res, 400, "parameter_missing", Some("enabled_events")).await;
    // An app token may read but never manage endpoints (they hold secrets).
    let token = app
        .issue(false, TokenKind::AppToken, &[Scope::Read, Scope::Write])
        .await;
    let res = app
        .post_as(
            &token,
            "/api/v1/webhook_endpoints",
            &json!({"url": "http://x.test/", "enabled_events": ["*"]}),
        )
        .await;
    assert_error(res, 403, "scope_missing", None).await;
    let (id, _) = endpoint(&app, "http://x.test/hook", &["*"]).await;
    assert_eq!(
        app.get_as(&token, &format!("/api/v1/webhook_endpoints/{id}"))
            .await
            .status(),
        200
    );
    let res = app
        .post_as(
            &token,
            &format!("/api/v1/webhook_endpoints/{id}/rotate_secret"),
            &json!({}),
        )
        .await;
    assert_error(res, 403, "scope_missing", None).await;
    // Another mode does not see it.
    let res = app
        .get_as(&app.live_key, &format!("/api/v1/webhook_endpoints/{id}"))
        .await;
    assert_error(res, 404, "resource_missing", None).await;
    // 16 per mode.
    for i in 1..16 {
        endpoint(&app, &format!("http://x.test/{i}"), &["*"]).await;
    }
    let res = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": "http://x.test/17", "enabled_events": ["*"]}),
        )
        .await;
    assert_error(res, 400, "parameter_invalid", None).await;
    // Events: unknown filter, unknown id, other mode.
    let res = app.get("/api/v1/events?type=checkout.nope").await;
    assert_error(res, 400, "parameter_invalid", Some("type")).await;
    let res = app.get("/api/v1/events/evt_unknown").await;
    assert_error(res, 404, "resource_missing", None).await;
}

#[tokio::test]
async fn resend_queues_one_more_delivery_of_the_same_event() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (id, _) = endpoint(&app, &rx.url, &["checkout.session.expired"]).await;
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    let first = rx.wait_until(15, |g| !g.is_empty()).await.remove(0);
    let res = app
        .post(
            &format!("/api/v1/webhook_endpoints/{id}/resend"),
            &json!({"event": first.event_id()}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["attempt"], 2);
    assert_eq!(queued["event"], first.event_id().as_str());
    let second = rx.wait_until(15, |g| g.len() >= 2).await.remove(1);
    assert_eq!(second.body, first.body);
    let res = app
        .post(
            &format!("/api/v1/webhook_endpoints/{id}/resend"),
            &json!({"event": "evt_nope"}),
        )
        .await;
    assert_error(res, 400, "parameter_invalid", Some("event")).await;
}

#[tokio::test]
async fn the_expired_event_is_written_once_per_session_whoever_expires_it() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    endpoint(&app, &rx.url, &["checkout.session.expired"]).await;
    // Comfortably past the 30-minute minimum, whatever second the server reads.
    let soon = app.state.clock.now() + 1900;
    let mut body = seed_body();
    body["expires_at"] = json!(soon);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.create_session(&body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let [by_route, by_helper, by_read, by_public_read, by_sweeper] =
        [0, 1, 2, 3, 4].map(|i| ids[i].clone());
    assert_eq!(
        app.post(
            &format!("/api/v1/checkout/sessions/{by_route}/expire"),
            &json!({})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/test_helpers/checkout/sessions/{by_helper}/expire"),
            &json!({})
        )
        .await
        .status(),
        200
    );
    // Leases are timed on the app's clock: let those two land before jumping it.
    rx.wait_until(15, |g| g.len() >= 2).await;
    app.state.clock.advance(1901);
    let read: Value = app
        .get(&format!("/api/v1/checkout/sessions/{by_read}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "expired");
    assert_eq!(app.public(&by_public_read).await["status"], "expired");
    ikawaari::workers::tick(&app.state).await.unwrap();
    // Everything again: nothing new may be written.
    for id in &ids {
        app.get(&format!("/api/v1/checkout/sessions/{id}")).await;
        app.public(id).await;
        let res = app
            .post(
                &format!("/api/v1/checkout/sessions/{id}/expire"),
                &json!({}),
            )
            .await;
        assert_error(res, 409, "checkout_session_not_open", None).await;
    }
    ikawaari::workers::tick(&app.state).await.unwrap();
    let events: Value = app
        .get("/api/v1/events?type=checkout.session.expired&limit=100")
        .await
        .json()
        .await
        .unwrap();
    let mut objects: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["object"]["id"].as_str().unwrap().to_string())
        .collect();
    objects.sort();
    let mut expected = vec![by_route, by_helper, by_read, by_public_read, by_sweeper];
    expected.sort();
    assert_eq!(objects, expected);
    rx.wait_until(15, |g| g.len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.received().len(), 5);
}

#[tokio::test]
async fn mobile_money_writes_processing_then_completed_and_async_succeeded() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    endpoint(&app, &rx.url, &["*"]).await;
    let ok = app.seed_session().await;
    assert_eq!(app.pay(&ok, &momo("+2250700000000")).await.status(), 202);
    let failing = app.seed_session().await;
    assert_eq!(
        app.pay(&failing, &momo("+2250700000001")).await.status(),
        202
    );
    rx.wait_until(15, |g| g.len() >= 7).await;
    let timeline = |id: String| {
        let app = &app;
        async move {
            let v: Value = app
                .get(&format!("/api/v1/events?object_id={id}"))
                .await
                .json()
                .await
                .unwrap();
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["type"].as_str().unwrap().to_string())
                .rev()
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        timeline(ok.clone()).await,
        [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded"
        ]
    );
    assert_eq!(
        timeline(failing.clone()).await,
        ["checkout.session.async_payment_failed"]
    );
    let intent = app.public(&failing).await;
    assert_eq!(intent["status"], "open");
    let pi_events: Value = app
        .get("/api/v1/events?type=payment_intent.*&limit=100")
        .await
        .json()
        .await
        .unwrap();
    let mut types: Vec<String> = pi_events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "payment_intent.payment_failed",
            "payment_intent.processing",
            "payment_intent.processing",
            "payment_intent.succeeded"
        ]
    );
    // A declined card is an intent event too.
    let declined = app.seed_session().await;
    assert_eq!(
        app.pay(&declined, &card("4000000000000002")).await.status(),
        402
    );
    let failed = rx.wait_until(15, |g| g.len() >= 8).await;
    let last = failed.iter().find(|r| {
        r.event_type() == "payment_intent.payment_failed"
            && r.json()["data"]["object"]["checkout_session"] == declined.as_str()
    });
    assert!(last.is_some());
}

/// A subscription started by a card payment, billed every `interval`.
async fn paid_subscription(app: &TestApp, interval: &str) -> String {
    let body = json!({"line_items":[{"name":"Abonnement","amount":5000,"currency":"XOF","quantity":1,
        "recurring":{"interval":interval,"interval_count":1}}],
        "mode":"subscription","success_url":"https://shop.test/ok"});
    let s = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.pay(&s, &card("4242424242424242")).await.status(), 200);
    let v: Value = app
        .get(&format!("/api/v1/checkout/sessions/{s}"))
        .await
        .json()
        .await
        .unwrap();
    v["subscription"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn subscriptions_write_created_updated_and_deleted() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    endpoint(
        &app,
        &rx.url,
        &[
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ],
    )
    .await;
    let sub = paid_subscription(&app, "month").await;
    app.post(
        &format!("/api/v1/subscriptions/{sub}/cancel"),
        &json!({"at_period_end": true}),
    )
    .await;
    app.post(
        &format!("/api/v1/subscriptions/{sub}/cancel"),
        &json!({"at_period_end": true}),
    )
    .await;
    app.post(&format!("/api/v1/subscriptions/{sub}/cancel"), &json!({}))
        .await;
    app.post(&format!("/api/v1/subscriptions/{sub}/cancel"), &json!({}))
        .await;
    let got = rx.wait_until(15, |g| g.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut types: Vec<String> = rx.received().iter().map(|r| r.event_type()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "customer.subscription.created",
            "customer.subscription.deleted",
            "customer.subscription.updated"
        ]
    );
    let deleted = got
        .iter()
        .find(|r| r.event_type() == "customer.subscription.deleted")
        .unwrap();
    assert_eq!(deleted.json()["data"]["object"]["status"], "canceled");
}

#[tokio::test]
async fn a_subscription_ending_at_period_end_is_deleted_by_the_sweeper_once() {
    let app = spawn_app().await;
    let sub = paid_subscription(&app, "day").await;
    app.post(
        &format!("/api/v1/subscriptions/{sub}/cancel"),
        &json!({"at_period_end": true}),
    )
    .await;
    app.state.clock.advance(86_401);
    ikawaari::workers::tick(&app.state).await.unwrap();
    ikawaari::workers::tick(&app.state).await.unwrap();
    let v: Value = app
        .get(&format!("/api/v1/events?object_id={sub}"))
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "customer.subscription.deleted",
            "customer.subscription.updated",
            "customer.subscription.created"
        ]
    );
}

#[test]
fn the_readme_quotes_the_verification_snippets() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let py = std::fs::read_to_string(format!("{root}/examples/webhooks/verify.py")).unwrap();
    let js = std::fs::read_to_string(format!("{root}/examples/webhooks/verify.js")).unwrap();
    assert!(
        readme.contains(py.trim()),
        "README's Python snippet differs from examples/webhooks/verify.py"
    );
    assert!(
        readme.contains(js.trim()),
        "README's Node snippet differs from examples/webhooks/verify.js"
    );
}

#[tokio::test]
#[ignore = "needs python3 and node: .ci/run runs it with --include-ignored"]
async fn the_readme_verification_snippets_accept_real_deliveries() {
    let root = env!("CARGO_MANIFEST_DIR");
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (_, secret) = endpoint(&app, &rx.url, &["checkout.session.expired"]).await;
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    let got = rx.wait_until(15, |g| !g.is_empty()).await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let tampered = dir.path().join("tampered");
    std::fs::write(&body, &got.body).unwrap();
    let mut t = got.body.to_vec();
    t[10] ^= 1;
    std::fs::write(&tampered, &t).unwrap();
    let stale_t = app.state.clock.now() - 301;
    let stale = format!(
        "t={stale_t},v1={}",
        ikawaari::crypto::sign(&secret, stale_t, &got.body)
    );
    let examples = format!("{root}/examples/webhooks");
    let py_check = "import sys; sys.path.insert(0, sys.argv[1]); from verify import verify; \
        print(verify(open(sys.argv[2], 'rb').read(), sys.argv[3], sys.argv[4]))";
    let js_check = "const { verify } = require(process.argv[1] + '/verify.js'); \
        console.log(verify(require('fs').readFileSync(process.argv[2]), process.argv[3], process.argv[4]))";
    let cases = [
        (&body, got.signature.as_str(), "true"),
        (&tampered, got.signature.as_str(), "false"),
        (&body, stale.as_str(), "false"),
    ];
    for (file, header, want) in cases {
        let file = file.to_str().unwrap();
        let out = run_tool(
            "python3",
            &["-c", py_check, &examples, file, header, &secret],
            &[],
        );
        assert_eq!(out.to_lowercase(), want, "python, {header}");
        let out = run_tool(
            "node",
            &["-e", js_check, &examples, file, header, &secret],
            &[],
        );
        assert_eq!(out, want, "node, {header}");
    }
}

#[tokio::test]
async fn graphql_shows_events_timelines_and_endpoints_with_deliveries() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &rx.url, &["*"]).await;
    let session = app.seed_session().await;
    assert_eq!(
        app.pay(&session, &card("4242424242424242")).await.status(),
        200
    );
    rx.wait_until(15, |g| g.len() >= 2).await;
    let query = r#"query($id: ID!) {
                checkoutSession(id: $id) { status events { type objectId data } }
                events(first: 10, filter: {type: "checkout.session.*"}) {
                    edges { cursor node { id type objectId livemode created } } pageInfo { hasNextPage }
                }
                webhookEndpoints { id url status enabledEvents
                    recentDeliveries(first: 5) { eventId type attempt status responseStatus } }
            }"#;
    // The worker records an attempt's outcome after the receiver answered:
    // wait (bounded) until both are recorded.
    let mut v = Value::Null;
    for _ in 0..100 {
        v = app.graphql(query, json!({"id": session})).await;
        let recorded = v["data"]["webhookEndpoints"][0]["recentDeliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["status"] == "SUCCEEDED"));
        if recorded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(v.get("errors").is_none(), "{v}");
    let timeline = &v["data"]["checkoutSession"]["events"];
    assert_eq!(timeline.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(timeline[0]["type"], "checkout.session.completed");
    assert_eq!(timeline[0]["data"]["status"], "complete");
    let edges = v["data"]["events"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["objectId"], session.as_str());
    let endpoints = v["data"]["webhookEndpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["id"], endpoint_id.as_str());
    assert_eq!(endpoints[0]["status"], "ENABLED");
    let deliveries = endpoints[0]["recentDeliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "SUCCEEDED" && d["responseStatus"] == 200)
    );
    // No secret anywhere in GraphQL.
    assert!(!v.to_string().contains(&secret));
    // Another mode sees nothing.
    let live = app
        .graphql_as(
            &app.live_key,
            "{ webhookEndpoints { id } events { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(live["data"]["webhookEndpoints"], json!([]), "{live}");
    assert_eq!(live["data"]["events"]["edges"], json!([]));
}

#[tokio::test]
async fn a_dead_endpoint_is_given_up_after_three_days_and_disabled() {
    let app = spawn_app_with(|c| c.webhook_retry_base_ms = 50).await;
    // A port nothing listens on: every attempt fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (id, _) = endpoint(
        &app,
        &format!("http://{closed}/hook"),
        &["checkout.session.expired"],
    )
    .await;
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    let attempts = |app: &TestApp| {
        let url = app.url(&format!(
            "/api/v1/webhook_endpoints/{id}/deliveries?limit=100"
        ));
        let client = app.client.clone();
        let key = app.key.clone();
        async move {
            let v: Value = client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["data"].as_array().unwrap().clone()
        }
    };
    // Retries follow the first failure.
    for _ in 0..100 {
        if attempts(&app).await.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = attempts(&app).await;
    assert!(before.len() >= 2, "{before:?}");
    assert!(
        before
            .iter()
            .skip(1)
            .all(|d| d["status"] == "failed" && d["error"].as_str().unwrap().contains("connect"))
    );
    // Three days later the next failure is the last, and the endpoint is disabled.
    app.state.clock.advance(3 * 86_400 + 60);
    let mut status = Value::Null;
    for _ in 0..200 {
        let e: Value = app
            .get(&format!("/api/v1/webhook_endpoints/{id}"))
            .await
            .json()
            .await
            .unwrap();
        status = e["status"].clone();
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "disabled");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = attempts(&app).await;
    assert_eq!(after[0]["status"], "failed", "{after:?}");
    assert!(
        after[0]["next_attempt_at"].is_null(),
        "no retry after 3 days: {after:?}"
    );
    assert!(after.iter().all(|d| d["status"] != "pending"));
}

#[tokio::test]
async fn events_are_kept_thirty_days() {
    let app = spawn_app().await;
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    let list: Value = app.get("/api/v1/events").await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    app.state.clock.advance(29 * 86_400);
    ikawaari::workers::tick(&app.state).await.unwrap();
    assert_eq!(app.get(&format!("/api/v1/events/{id}")).await.status(), 200);
    app.state.clock.advance(2 * 86_400);
    ikawaari::workers::tick(&app.state).await.unwrap();
    assert_error(
        app.get(&format!("/api/v1/events/{id}")).await,
        404,
        "resource_missing",
        None,
    )
    .await;
}
