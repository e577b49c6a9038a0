//! Which webhook endpoint addresses are accepted (SPEC §5): in live mode only
//! globally reachable ones (the IANA special-purpose registries, IPv4
//! carried in IPv6 judged or refused), at create, at update and at delivery;
//! test mode too when `IKAWAARI_WEBHOOK_ALLOW_PRIVATE` is off.
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Receiver;

/// Addresses that look public to a naive filter and are not: each carries
/// or reaches a private, loopback or relay address.
const NOT_GLOBAL: &[&str] = &[
    // NAT64 (the translator connects to 10.0.0.1, 127.0.0.1).
    "https://[64:ff9b::a00:1]/hook",
    "https://[64:ff9b::7f00:1]/hook",
    // IPv4-compatible and IPv4-translated forms of 127.0.0.1.
    "https://[::7f00:1]/hook",
    "https://[::ffff:0:7f00:1]/hook",
    // IPv4-mapped.
    "https://[::ffff:7f00:1]/hook",
    // 6to4 of 127.0.0.1.
    "https://[2002:7f00:1::1]/hook",
    // Teredo (2001::/32).
    "https://[2001::1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
    // The deprecated 6to4 relay anycast.
    "https://192.88.99.1/hook",
    // Port 0.
    "https://8.8.8.8:0/hook",
    "https://example.com:0/hook",
    // And the plain ones.
    "https://127.0.0.1/hook",
    "https://[::1]/hook",
    "https://100.64.0.1/hook",
    "https://198.18.0.1/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
];

/// Public addresses, some of them in the same special forms.
const GLOBAL: &[&str] = &[
    "https://8.8.8.8/hook",
    "https://[2606:4700::1111]/hook",
    // NAT64 and 6to4 of 8.8.8.8.
    "https://[64:ff9b::808:808]/hook",
    "https://[2002:808:808::1]/hook",
    "https://8.8.8.8:65535/hook",
];

async fn create(app: &TestApp, key: &str, url: &str) -> reqwest::Response {
    app.post_as(
        key,
        "/api/v1/webhook_endpoints",
        &json!({"url": url, "enabled_events": ["*"]}),
    )
    .await
}

async fn created_id(res: reqwest::Response) -> String {
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn live_mode_refuses_every_address_that_is_not_globally_reachable() {
    let app = spawn_app().await;
    for url in NOT_GLOBAL {
        let res = create(&app, &app.live_key, url).await;
        let body = assert_error(res, 400, "parameter_invalid", Some("url")).await;
        assert_eq!(body["error"]["type"], "invalid_request_error", "{url}");
    }
    // An update is held to the same rule.
    let id = created_id(create(&app, &app.live_key, GLOBAL[0]).await).await;
    for url in NOT_GLOBAL {
        let res = app
            .post_as(
                &app.live_key,
                &format!("/api/v1/webhook_endpoints/{id}"),
                &json!({"url": url}),
            )
            .await;
        assert_error(res, 400, "parameter_invalid", Some("url")).await;
    }
    let kept: Value = app
        .get_as(&app.live_key, &format!("/api/v1/webhook_endpoints/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["url"], GLOBAL[0]);
}

#[tokio::test]
async fn live_mode_still_accepts_public_addresses() {
    let app = spawn_app().await;
    for url in GLOBAL {
        let res = create(&app, &app.live_key, url).await;
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["url"], *url, "{v}");
        assert_eq!(v["livemode"], true, "{v}");
    }
}

#[tokio::test]
async fn port_zero_is_refused_in_test_mode_too() {
    let app = spawn_app().await;
    for url in ["http://127.0.0.1:0/hook", "http://localhost:0/hook"] {
        let res = create(&app, &app.key, url).await;
        assert_error(res, 400, "parameter_invalid", Some("url")).await;
    }
}

#[tokio::test]
async fn by_default_test_mode_endpoints_may_be_on_loopback_and_receive() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let port = url::Url::parse(&rx.url).unwrap().port().unwrap();
    created_id(create(&app, &app.key, &rx.url).await).await;
    let by_name = format!("http://localhost:{port}/hook");
    created_id(create(&app, &app.key, &by_name).await).await;
    // Private ranges are accepted as before (deleted: no delivery there).
    let private = created_id(create(&app, &app.key, "http://10.0.0.1/hook").await).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/webhook_endpoints/{private}")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    // Both loopback endpoints (by address and by name) are delivered to.
    let got = rx.wait_until(30, |r| r.len() >= 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .all(|r| r.event_type() == "checkout.session.expired")
    );
}

#[tokio::test]
async fn with_allow_private_off_test_mode_is_held_to_the_live_rule_at_create() {
    let app = spawn_app_with(|c| c.webhook_allow_private = false).await;
    for url in [
        "http://127.0.0.1:4242/hook",
        "http://localhost:4242/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://[64:ff9b::7f00:1]/hook",
    ] {
        let res = create(&app, &app.key, url).await;
        assert_error(res, 400, "parameter_invalid", Some("url")).await;
    }
    // A public address is fine, over http too (test mode's shape rule).
    let id = created_id(create(&app, &app.key, "http://8.8.8.8/hook").await).await;
    let res = app
        .post(
            &format!("/api/v1/webhook_endpoints/{id}"),
            &json!({"url": "http://127.0.0.1:4242/hook"}),
        )
        .await;
    assert_error(res, 400, "parameter_invalid", Some("url")).await;
}

/// Sets an endpoint's stored URL as if it had been accepted earlier: the
/// state of a deployment that turned the setting off after its merchants
/// made loopback endpoints, and the state DNS rebinding produces (a name
/// public at create, private at delivery).
async fn store_url(app: &TestApp, id: &str, url: &str) {
    use entity::webhook_endpoint as we;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let done = we::Entity::update_many()
        .col_expr(we::Column::Url, Expr::value(url))
        .filter(we::Column::Id.eq(id));
    let done = app
        .state
        .writer
        .one(|c| async move { done.exec(&c).await })
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 1);
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let v: Value = app
        .get(&format!("/api/v1/webhook_endpoints/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    v["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn with_allow_private_off_no_delivery_reaches_a_private_address() {
    let app = spawn_app_with(|c| c.webhook_allow_private = false).await;
    let rx = Receiver::start().await;
    let port = url::Url::parse(&rx.url).unwrap().port().unwrap();
    // By name (the resolver refuses it) and by address (checked before
    // connecting), IPv4 and IPv6-mapped.
    let targets = [
        format!("http://localhost:{port}/hook"),
        rx.url.clone(),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
    ];
    let mut ids = Vec::new();
    for url in &targets {
        let id = created_id(create(&app, &app.key, "http://8.8.8.8/hook").await).await;
        store_url(&app, &id, url).await;
        ids.push(id);
    }
    let s = app.seed_session().await;
    app.post(&format!("/api/v1/checkout/sessions/{s}/expire"), &json!({}))
        .await;
    for (id, url) in ids.iter().zip(&targets) {
        let mut first = Value::Null;
        for _ in 0..300 {
            if let Some(d) = deliveries(&app, id).await.pop()
                && d["status"] != "pending"
            {
                first = d;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(first["status"], "failed", "{url}: {first}");
        assert!(first["response_status"].is_null(), "{url}: {first}");
        let error = first["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("not public") || error.contains("non-public"),
            "{url}: {first}"
        );
    }
    assert!(rx.received().is_empty(), "{:?}", rx.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setting_is_read_from_ikawaari_webhook_allow_private() {
    let db = TestDb::new().await;
    let client = reqwest::Client::new();
    let try_create = |base: String, key: String| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/api/v1/webhook_endpoints"))
                .bearer_auth(key)
                .json(&json!({"url": "http://127.0.0.1:4242/hook", "enabled_events": ["*"]}))
                .send()
                .await
                .unwrap()
        }
    };
    let mut off = ServerProcess::start(&db.url, &[("IKAWAARI_WEBHOOK_ALLOW_PRIVATE", "false")]);
    let key = off
        .test_key()
        .expect("a fresh database prints its test key");
    let res = try_create(off.base.clone(), key.clone()).await;
    assert_error(res, 400, "parameter_invalid", Some("url")).await;
    off.kill();
    // Unset: allowed, as before.
    let on = ServerProcess::start(&db.url, &[]);
    let res = try_create(on.base.clone(), key).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
