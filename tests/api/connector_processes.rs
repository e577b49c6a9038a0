//! Connectors across real server processes (the binary): a callback that
//! lands on the process that did not initiate the payment, and a kill -9
//! between the provider's `202` and our commit, recovered on restart by a
//! lookup with the same reference.
use std::time::Duration;

use serde_json::Value;

use crate::connectors::{mtn_body, mtn_phone, pay_body};
use crate::fakes::mtn::{self, MtnConfig, MtnFake};
use crate::helpers::*;

async fn post(client: &reqwest::Client, base: &str, key: &str, path: &str, body: &Value) -> Value {
    let res = client
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn status_of(client: &reqwest::Client, base: &str, session: &str) -> Value {
    client
        .get(format!("{base}/api/checkout/{session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_complete(client: &reqwest::Client, base: &str, session: &str) -> Value {
    for _ in 0..150 {
        let v = status_of(client, base, session).await;
        if v["status"] == "complete" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not complete: {}", status_of(client, base, session).await);
}

fn envs<'a>(mtn: &'a str, poll_ms: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("IKAWAARI_MTN_MOMO_URL", mtn),
        ("IKAWAARI_PROVIDER_POLL_MS", poll_ms),
        ("IKAWAARI_SWEEP_INTERVAL_MS", "200"),
        ("IKAWAARI_PROVIDER_TIMEOUT_MS", "2000"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_mtn_callback_on_the_other_process_settles_the_payment() {
    let mtn = MtnFake::start(MtnConfig {
        approve_after: Duration::from_millis(800),
        ..MtnConfig::default()
    });
    let db = TestDb::new().await;
    // Neither process polls within the test: only the callback can settle.
    let never = "600000";
    let b = ServerProcess::start(&db.url, &envs(&mtn.base, never));
    let mut a_envs = envs(&mtn.base, never);
    a_envs.push(("IKAWAARI_PUBLIC_URL", &b.base));
    let a = ServerProcess::start(&db.url, &a_envs);
    let key = b.test_key().expect("the first process seeds the demo key");
    let client = reqwest::Client::new();
    let c = post(
        &client,
        &a.base,
        &key,
        "/api/v1/connectors",
        &mtn_body(&mtn.cfg),
    )
    .await;
    assert!(
        c["notification_url"].as_str().unwrap().starts_with(&b.base),
        "{c}"
    );
    let s = post(
        &client,
        &a.base,
        &key,
        "/api/v1/checkout/sessions",
        &seed_body(),
    )
    .await;
    let session = s["id"].as_str().unwrap();
    let res = client
        .post(format!("{}/api/checkout/{session}/pay", a.base))
        .json(&pay_body("mtn_momo", &mtn_phone(mtn::PAYER_SUCCESS)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let sent = mtn.wait_callbacks(1, Duration::from_secs(5)).await;
    assert_eq!(sent[0].1, 200, "{sent:?}");
    let rtp = &mtn.requests()[0];
    assert!(rtp.callback_url.as_deref().unwrap().starts_with(&b.base));
    wait_complete(&client, &a.base, session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_between_the_providers_202_and_our_commit_is_recovered_on_restart() {
    let mtn = MtnFake::start(MtnConfig::default());
    let db = TestDb::new().await;
    let mut a = ServerProcess::start(&db.url, &envs(&mtn.base, "200"));
    let key = a.test_key().expect("demo key");
    let client = reqwest::Client::new();
    post(
        &client,
        &a.base,
        &key,
        "/api/v1/connectors",
        &mtn_body(&mtn.cfg),
    )
    .await;
    let s = post(
        &client,
        &a.base,
        &key,
        "/api/v1/checkout/sessions",
        &seed_body(),
    )
    .await;
    let session = s["id"].as_str().unwrap().to_string();
    // MTN takes its time to answer; the process dies while it waits.
    mtn.delay_next_request_to_pay(Duration::from_millis(1_500));
    let pay = {
        let (client, base, session) = (client.clone(), a.base.clone(), session.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/checkout/{session}/pay"))
                .json(&pay_body("mtn_momo", &mtn_phone(mtn::PAYER_SUCCESS)))
                .send()
                .await
        })
    };
    // The row with its reference is committed, the call is at MTN.
    tokio::time::sleep(Duration::from_millis(600)).await;
    a.kill();
    assert!(pay.await.unwrap().is_err(), "the pay never got its answer");
    // MTN accepts the payment after the crash, its callback lost.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let rtps = mtn.requests();
    assert_eq!(rtps.len(), 1, "MTN has the payment");
    let reference = rtps[0].reference.clone();
    let b = ServerProcess::start(&db.url, &envs(&mtn.base, "200"));
    let v = wait_complete(&client, &b.base, &session).await;
    assert_eq!(v["payment_intent"]["status"], "succeeded");
    assert_eq!(mtn.request_to_pay_calls(&reference), 1, "never sent twice");
    assert!(mtn.lookups(&reference) >= 1, "recovered by a lookup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_calls_are_logged_without_credentials_or_phone_numbers() {
    // The customer approves after the pay has answered `202`.
    let mtn = MtnFake::start(MtnConfig {
        approve_after: Duration::from_millis(800),
        ..MtnConfig::default()
    });
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.log");
    let log = std::fs::File::create(&path).unwrap();
    let mut server_envs = envs(&mtn.base, "200");
    server_envs.push(("RUST_LOG", "info"));
    let mut a = ServerProcess::start_logging(&db.url, &server_envs, log);
    let key = a.test_key().expect("demo key");
    let client = reqwest::Client::new();
    post(
        &client,
        &a.base,
        &key,
        "/api/v1/connectors",
        &mtn_body(&mtn.cfg),
    )
    .await;
    let s = post(
        &client,
        &a.base,
        &key,
        "/api/v1/checkout/sessions",
        &seed_body(),
    )
    .await;
    let session = s["id"].as_str().unwrap();
    let phone = mtn_phone(mtn::PAYER_SUCCESS);
    let res = client
        .post(format!("{}/api/checkout/{session}/pay", a.base))
        .json(&pay_body("mtn_momo", &phone))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    wait_complete(&client, &a.base, session).await;
    a.kill();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("provider call"), "calls are logged: {text}");
    assert!(
        text.lines()
            .any(|l| l.contains("provider call") && l.contains("request_id") && l.contains("req_")),
        "with the request id: {text}"
    );
    let (sub, user, secret) = mtn.cfg.credentials(mtn::COLLECTION).unwrap();
    for needle in [
        sub.as_str(),
        user.as_str(),
        secret.as_str(),
        phone.trim_start_matches('+'),
        &phone[phone.len() - 7..],
    ] {
        assert!(!text.contains(needle), "{needle} in the log");
    }
}
