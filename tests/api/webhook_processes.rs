//! Webhook delivery with the real binary: a crash between commit and
//! delivery, and two server processes sharing one queue.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Receiver;

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

async fn pay(client: &reqwest::Client, base: &str, session: &str) -> u16 {
    client
        .post(format!("{base}/api/checkout/{session}/pay"))
        .json(&card("4242424242424242"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_before_a_crash_is_delivered_after_restart() {
    let db = TestDb::new().await;
    // A 1 s receiver timeout makes the dead process's lease run out in 6 s.
    let env = [
        ("IKAWAARI_WEBHOOK_TIMEOUT_MS", "1000"),
        ("IKAWAARI_WEBHOOK_RETRY_BASE_MS", "100"),
    ];
    let mut first = ServerProcess::start(&db.url, &env);
    let key = first.test_key().unwrap();
    let client = reqwest::Client::new();
    let rx = Receiver::start().await;
    // The first attempt is held open: the server dies while it is in flight.
    rx.hang_first(Duration::from_secs(30));
    post(
        &client,
        &first.base,
        &key,
        "/api/v1/webhook_endpoints",
        &json!({"url": rx.url, "enabled_events": ["checkout.session.completed"]}),
    )
    .await;
    let session = post(
        &client,
        &first.base,
        &key,
        "/api/v1/checkout/sessions",
        &seed_body(),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(pay(&client, &first.base, &session).await, 200);
    let held = rx.wait_until(15, |g| !g.is_empty()).await.remove(0);
    first.kill(); // SIGKILL: no shutdown, no cleanup
    let _second = ServerProcess::start(&db.url, &env);
    let got = rx
        .wait_until(30, |g| g.iter().any(|r| r.answered == 200))
        .await;
    let delivered = got.iter().find(|r| r.answered == 200).unwrap();
    assert_eq!(delivered.event_id(), held.event_id());
    assert_eq!(delivered.body, held.body);
    assert_eq!(delivered.json()["data"]["object"]["id"], session.as_str());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_send_each_attempt_once() {
    const SESSIONS: usize = 500; // two events each: 1 000 events
    let db = TestDb::new().await;
    let env = [("IKAWAARI_WEBHOOK_RETRY_BASE_MS", "100")];
    let a = ServerProcess::start(&db.url, &env);
    let b = ServerProcess::start(&db.url, &env);
    let key = a.test_key().unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(32)
        .build()
        .unwrap();
    let rx = Receiver::start().await;
    rx.fail_every(25); // a retry the receiver asked for, now and then
    post(&client, &a.base, &key, "/api/v1/webhook_endpoints",
        &json!({"url": rx.url, "enabled_events": ["checkout.session.completed", "payment_intent.succeeded"]})).await;
    let bases = [a.base.clone(), b.base.clone()];
    let paid: Vec<(String, Instant)> = futures::stream::iter(0..SESSIONS)
        .map(|i| {
            let (client, key, bases) = (client.clone(), key.clone(), bases.clone());
            async move {
                let s = post(
                    &client,
                    &bases[i % 2],
                    &key,
                    "/api/v1/checkout/sessions",
                    &seed_body(),
                )
                .await["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert_eq!(pay(&client, &bases[(i + 1) % 2], &s).await, 200);
                (s, Instant::now())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let done = |g: &[crate::receiver::Received]| {
        let ok: std::collections::HashSet<String> = g
            .iter()
            .filter(|r| r.answered == 200)
            .map(|r| r.event_id())
            .collect();
        ok.len() >= 2 * SESSIONS
    };
    rx.wait_until(120, done).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = rx.received();
    let mut per_event: HashMap<String, (usize, usize)> = HashMap::new();
    for r in &got {
        let e = per_event.entry(r.event_id()).or_default();
        if r.answered == 200 {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    assert_eq!(per_event.len(), 2 * SESSIONS);
    let retried = per_event.values().filter(|(_, failed)| *failed > 0).count();
    for (id, (ok, failed)) in &per_event {
        assert_eq!(
            *ok, 1,
            "event {id} answered 2xx {ok} times ({failed} failures)"
        );
    }
    assert!(retried > 0, "the receiver's 500s were retried");
    // Commit (pay answered) → first receipt of checkout.session.completed.
    let paid_at: HashMap<&str, Instant> = paid.iter().map(|(s, t)| (s.as_str(), *t)).collect();
    let mut latency: Vec<Duration> = got
        .iter()
        .filter(|r| r.event_type() == "checkout.session.completed")
        .filter_map(|r| {
            let s = r.json()["data"]["object"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            Some(r.at.saturating_duration_since(*paid_at.get(s.as_str())?))
        })
        .collect();
    latency.sort();
    eprintln!(
        "two-process delivery ({}): {} events, {} receipts, {} retried; commit→receipt p50 {:?} p99 {:?}",
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        per_event.len(),
        got.len(),
        retried,
        percentile(&latency, 0.5),
        percentile(&latency, 0.99),
    );
}
