//! Live money through connectors (SPEC §11), against the local fakes of MTN
//! MoMo and Wave (`fakes/`): one scenario table run against both connectors
//! and the test processor, on the test's database (SQLite, or PostgreSQL
//! with `TEST_DATABASE_URL`). Faults: connector_faults.rs; the connector
//! objects: connector_objects.rs.
use std::time::Duration;

use serde_json::{Value, json};

use crate::fakes::mtn::{self, MtnConfig, MtnFake};
use crate::fakes::wave::{WaveConfig, WaveFake};
use crate::helpers::*;

/// The app with both fakes, a live MTN and a live Wave connector.
pub struct Rig {
    pub app: TestApp,
    pub mtn: MtnFake,
    pub wave: WaveFake,
    pub mtn_connector: Value,
    pub wave_connector: Value,
}

pub async fn rig() -> Rig {
    rig_with(MtnConfig::default(), |_| {}).await
}

pub async fn rig_with(mtn_cfg: MtnConfig, tweak: impl FnOnce(&mut ikawaari::Config)) -> Rig {
    let mtn = MtnFake::start(mtn_cfg);
    let wave = WaveFake::start(WaveConfig::default());
    let (m, w) = (mtn.base.clone(), wave.base.clone());
    let app = spawn_app_with(|c| {
        c.checkout_url = SELF_URL.into();
        c.mtn_momo_url = Some(m);
        c.wave_url = w;
        c.provider_timeout_ms = 1_000;
        c.provider_poll_ms = 100;
        tweak(c);
    })
    .await;
    let mtn_connector = connect(&app, &mtn_body(&mtn.cfg)).await;
    let wave_connector = connect(&app, &wave_body(&wave.cfg)).await;
    wave.set_webhook_url(wave_connector["notification_url"].as_str().unwrap());
    Rig {
        app,
        mtn,
        wave,
        mtn_connector,
        wave_connector,
    }
}

pub fn mtn_body(cfg: &MtnConfig) -> Value {
    let mut creds = json!({
        "subscription_key": cfg.subscription_key,
        "api_user": cfg.api_user,
        "api_key": cfg.api_key,
        "target_environment": cfg.target_environment,
    });
    if let Some((s, u, k)) = &cfg.disbursement {
        creds["disbursement"] = json!({"subscription_key": s, "api_user": u, "api_key": k});
    }
    json!({"type": "mtn_momo", "credentials": creds, "description": "MTN CI"})
}

pub fn wave_body(cfg: &WaveConfig) -> Value {
    json!({"type": "wave", "credentials": {"api_key": cfg.api_key, "webhook_secret": cfg.webhook_secret}})
}

/// Creates a live connector, asserting 200.
pub async fn connect(app: &TestApp, body: &Value) -> Value {
    let res = app.post_as(&app.live_key, "/api/v1/connectors", body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

/// A live session of `amount` XOF: (session id, intent id).
pub async fn live_session(app: &TestApp, amount: i64) -> (String, String) {
    let mut body = seed_body();
    body["line_items"][0]["amount"] = amount.into();
    let res = app
        .post_as(&app.live_key, "/api/v1/checkout/sessions", &body)
        .await;
    let v: Value = res.json().await.unwrap();
    (
        v["id"].as_str().expect("session").to_string(),
        v["payment_intent"].as_str().unwrap().to_string(),
    )
}

/// A phone number whose last three digits pick MTN's sandbox outcome.
pub fn mtn_phone(payer: &str) -> String {
    format!("+225070000{}", &payer[payer.len() - 3..])
}

pub fn pay_body(provider: &str, phone: &str) -> Value {
    json!({"payment_method": {"type": "mobile_money", "mobile_money": {"provider": provider, "phone": phone}}})
}

/// One beat of the server's background work: the sweep and the provider
/// poller (test apps run neither on their own).
pub async fn sweep(app: &TestApp) {
    ikawaari::workers::tick(&app.state).await.unwrap();
    ikawaari::service::payment::poll_due(&app.state)
        .await
        .unwrap();
}

/// Runs the sweep and the provider poller until the intent leaves
/// `processing`, or panics after ~15 s. Returns the public view.
pub async fn settle_by_polling(app: &TestApp, session: &str) -> Value {
    for _ in 0..150 {
        let v = app.public(session).await;
        if v["payment_intent"]["status"] != "processing" {
            return v;
        }
        sweep(app).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("still processing: {}", app.public(session).await);
}

/// The types of the events about `ids`, oldest first.
pub async fn event_types(app: &TestApp, key: &str, ids: &[&str]) -> Vec<String> {
    let v: Value = app
        .get_as(key, "/api/v1/events?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let mut out: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let id = e["data"]["object"]["id"].as_str().unwrap_or_default();
            ids.contains(&id)
        })
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    out.reverse();
    out
}

/// What the customer does at the provider.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Customer {
    Approves,
    Refuses,
    LetsItExpire,
    HasNoFunds,
}

struct Row {
    customer: Customer,
    session: &'static str,
    intent: &'static str,
    decline: Option<&'static str>,
    events: &'static [&'static str],
}

const PAID: &[&str] = &[
    "payment_intent.processing",
    "payment_intent.succeeded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
];
const FAILED: &[&str] = &[
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "checkout.session.async_payment_failed",
];

/// The scenario table: the customer's action → the intent's status, its
/// decline code and the events, whichever provider took the payment.
const TABLE: &[Row] = &[
    Row {
        customer: Customer::Approves,
        session: "complete",
        intent: "succeeded",
        decline: None,
        events: PAID,
    },
    Row {
        customer: Customer::Refuses,
        session: "open",
        intent: "requires_payment_method",
        decline: Some("customer_declined"),
        events: FAILED,
    },
    Row {
        customer: Customer::LetsItExpire,
        session: "open",
        intent: "requires_payment_method",
        decline: Some("expired_authorization"),
        events: FAILED,
    },
    Row {
        customer: Customer::HasNoFunds,
        session: "open",
        intent: "requires_payment_method",
        decline: Some("insufficient_funds"),
        events: FAILED,
    },
];

#[derive(Clone, Copy, Debug)]
enum Via {
    Mtn,
    Wave,
    /// Test mode, no connector: the built-in test processor (§4).
    TestProcessor,
}

/// Pays one session through `via` as `customer` acts; `None` when the
/// provider has no such case (Wave has no "insufficient funds").
async fn run(rig: &Rig, via: Via, customer: Customer) -> Option<(Value, Vec<String>)> {
    let app = &rig.app;
    let (session, intent, key) = match via {
        Via::TestProcessor => {
            let s = app.create_session(&seed_body()).await;
            let (sid, pi) = (
                s["id"].as_str().unwrap(),
                s["payment_intent"].as_str().unwrap(),
            );
            (sid.to_string(), pi.to_string(), app.key.clone())
        }
        _ => {
            let (s, pi) = live_session(app, 50_000).await;
            (s, pi, app.live_key.clone())
        }
    };
    let body = match (via, customer) {
        (Via::Mtn, c) => pay_body(
            "mtn_momo",
            &mtn_phone(match c {
                Customer::Approves => mtn::PAYER_SUCCESS,
                Customer::Refuses => mtn::PAYER_REJECTED,
                Customer::LetsItExpire => mtn::PAYER_EXPIRED,
                Customer::HasNoFunds => mtn::PAYER_NOT_ENOUGH_FUNDS,
            }),
        ),
        (Via::Wave, Customer::HasNoFunds) => return None,
        (Via::Wave, _) => pay_body("wave", "+2250700000000"),
        (Via::TestProcessor, Customer::Approves) => momo("+2250700000000"),
        (Via::TestProcessor, Customer::HasNoFunds) => momo("+2250700000001"),
        (Via::TestProcessor, _) => return None,
    };
    let res = app.pay(&session, &body).await;
    let status = res.status();
    let paid: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{via:?} {customer:?}: {paid}");
    assert_eq!(paid["status"], "processing");
    if let Via::Wave = via {
        let url = paid["redirect_url"].as_str().expect("Wave's launch URL");
        assert!(url.starts_with(&rig.wave.base), "{url}");
        let cos = url.rsplit('/').next().unwrap();
        let acted = match customer {
            Customer::Approves => rig.wave.pay(cos).await,
            Customer::Refuses => rig.wave.cancel(cos).await,
            _ => rig.wave.expire(cos).await,
        };
        acted.expect("the customer acts at Wave");
    }
    let view = settle_by_polling(app, &session).await;
    let events = event_types(app, &key, &[&session, &intent]).await;
    Some((view, events))
}

async fn scenario_table(via: Via) {
    let rig = rig_with(
        MtnConfig {
            // The customer takes a moment to approve (the pay answers first).
            approve_after: Duration::from_millis(300),
            ..MtnConfig::default()
        },
        |_| {},
    )
    .await;
    let mut ran = 0;
    for row in TABLE {
        let Some((view, events)) = run(&rig, via, row.customer).await else {
            continue;
        };
        ran += 1;
        let what = format!("{via:?} {:?}", row.customer);
        assert_eq!(view["status"], row.session, "{what}: {view}");
        assert_eq!(
            view["payment_intent"]["status"], row.intent,
            "{what}: {view}"
        );
        assert_eq!(
            view["payment_intent"]["last_payment_error"]["decline_code"].as_str(),
            row.decline,
            "{what}: {view}"
        );
        assert_eq!(events, row.events, "{what}");
    }
    assert!(ran >= 2, "{via:?}: only {ran} rows ran");
}

#[tokio::test]
async fn the_scenario_table_through_mtn_momo() {
    scenario_table(Via::Mtn).await;
}

#[tokio::test]
async fn the_scenario_table_through_wave() {
    scenario_table(Via::Wave).await;
}

#[tokio::test]
async fn the_scenario_table_through_the_test_processor_gives_the_same_events() {
    scenario_table(Via::TestProcessor).await;
}

#[tokio::test]
async fn mtn_sends_the_documented_request_and_the_callback_settles_it() {
    // The customer approves after the pay has answered `202`.
    let rig = rig_with(
        MtnConfig {
            approve_after: Duration::from_millis(300),
            ..MtnConfig::default()
        },
        |_| {},
    )
    .await;
    let (session, intent) = live_session(&rig.app, 50_000).await;
    let res = rig
        .app
        .pay(
            &session,
            &pay_body("mtn_momo", &mtn_phone(mtn::PAYER_SUCCESS)),
        )
        .await;
    assert_eq!(res.status(), 202);
    let sent = rig.mtn.requests();
    let [rtp] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert!(
        crate::fakes::mtn::is_uuid_v4(&rtp.reference),
        "{}",
        rtp.reference
    );
    assert_eq!(rtp.body["amount"], "50000");
    assert_eq!(rtp.body["currency"], "XOF");
    assert_eq!(rtp.body["externalId"], intent.as_str());
    assert_eq!(rtp.body["payer"]["partyId"], "225070000460");
    assert_eq!(
        rtp.callback_url.as_deref(),
        rig.mtn_connector["notification_url"].as_str()
    );
    assert!(!rtp.body["payerMessage"].as_str().unwrap().contains('\''));
    // The callback (sent once) is a hint: the status read settles it.
    rig.mtn.wait_callbacks(1, Duration::from_secs(5)).await;
    let view = rig.app.wait_for_status(&session, "complete").await;
    assert_eq!(view["payment_intent"]["status"], "succeeded");
    assert!(
        rig.mtn.lookups(&rtp.reference) >= 1,
        "settled from a lookup"
    );
    assert_eq!(rig.mtn.callbacks_sent()[0].1, 200);
}

#[tokio::test]
async fn the_hosted_page_offers_only_what_the_connectors_take() {
    let rig = rig().await;
    let (session, _) = live_session(&rig.app, 1_000).await;
    let v = rig.app.public(&session).await;
    assert_eq!(
        v["payment_methods"],
        json!({"card": false, "mobile_money": ["mtn_momo", "wave"]})
    );
    for (body, param) in [
        (card("4242424242424242"), "payment_method.type"),
        (
            pay_body("orange_money", "+2250700000000"),
            "payment_method.mobile_money.provider",
        ),
    ] {
        let res = rig.app.pay(&session, &body).await;
        assert_error(res, 400, "payment_method_unavailable", Some(param)).await;
    }
    assert_eq!(rig.app.public(&session).await["status"], "open");
    // Test mode keeps everything §4 lists.
    let test = rig.app.seed_session().await;
    assert_eq!(rig.app.public(&test).await["payment_methods"]["card"], true);
    // Live mode with no connector at all: 503, never a fake success.
    let bare = spawn_app().await;
    let res = bare
        .post_as(&bare.live_key, "/api/v1/checkout/sessions", &seed_body())
        .await;
    let s: Value = res.json().await.unwrap();
    let res = bare
        .pay(
            s["id"].as_str().unwrap(),
            &pay_body("mtn_momo", "+2250700000000"),
        )
        .await;
    assert_error(res, 503, "processor_unavailable", None).await;
}

#[tokio::test]
async fn wave_sends_the_customer_to_wave_and_the_signed_webhook_settles_it() {
    let rig = rig().await;
    let (session, _) = live_session(&rig.app, 25_000).await;
    let res = rig
        .app
        .pay(&session, &pay_body("wave", "+2250700000000"))
        .await;
    assert_eq!(res.status(), 202);
    let paid: Value = res.json().await.unwrap();
    let url = paid["redirect_url"].as_str().unwrap();
    let cos = url.rsplit('/').next().unwrap();
    let at_wave = rig.wave.session(cos).expect("Wave has the session");
    assert_eq!(at_wave["amount"], "25000");
    assert_eq!(at_wave["currency"], "XOF");
    assert_eq!(at_wave["restrict_payer_mobile"], "+2250700000000");
    let back = format!("{}/checkout/{session}/return", rig.app.base);
    assert_eq!(at_wave["success_url"], back.as_str());
    assert_eq!(at_wave["error_url"], back.as_str());
    // The public view tells a reloaded page where to send the customer.
    let v = rig.app.public(&session).await;
    assert_eq!(
        v["payment_intent"]["next_action"]["type"],
        "redirect_to_url"
    );
    assert_eq!(v["payment_intent"]["next_action"]["redirect_url"], url);
    rig.wave.pay(cos).await.unwrap();
    let sent = rig.wave.webhooks_sent();
    assert_eq!(sent.last().map(|w| w.2), Some(200), "{sent:?}");
    let v = rig.app.public(&session).await;
    assert_eq!(
        v["status"], "complete",
        "settled by the webhook, no poll: {v}"
    );
}
