//! Webhook delivery benchmark against a running server (`bench/webhooks.sh`
//! starts one per database): commit→receipt latency over 1 000 events,
//! worker throughput to fast receivers, and what an endpoint that times
//! out on every attempt costs a healthy one.
//!
//!   cargo run --release --example webhook_bench -- http://127.0.0.1:7090 ik_test_…
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Path;
use futures::StreamExt;
use serde_json::{Value, json};

type Log = Arc<Mutex<Vec<(String, Value, Instant)>>>;

struct Receiver {
    base: String,
    log: Log,
    gate: Arc<tokio::sync::Semaphore>,
}

async fn receiver() -> Receiver {
    let log: Log = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (l, g) = (log.clone(), gate.clone());
    let app = axum::Router::new().route(
        "/{kind}/{n}",
        axum::routing::post(move |Path((kind, n)): Path<(String, u32)>, body: Bytes| {
            let (l, g) = (l.clone(), g.clone());
            async move {
                match kind.as_str() {
                    "dead" => tokio::time::sleep(Duration::from_secs(15)).await,
                    "gated" => drop(g.acquire().await),
                    _ => {}
                }
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                l.lock()
                    .unwrap()
                    .push((format!("{kind}/{n}"), v, Instant::now()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { base, log, gate }
}

struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> Value {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    async fn endpoint(&self, url: &str, events: &[&str]) -> String {
        self.post(
            "/api/v1/webhook_endpoints",
            &json!({"url": url, "enabled_events": events}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn delete(&self, id: &str) {
        self.client
            .delete(format!("{}/api/v1/webhook_endpoints/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
    }

    async fn session(&self) -> String {
        let body = json!({"line_items":[{"name":"Premium Plan","amount":50000,"currency":"XOF","quantity":1}],
            "mode":"payment","success_url":"https://yoursite.com/success"});
        self.post("/api/v1/checkout/sessions", &body).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates and pays `n` sessions, `conc` at a time; when each pay answered.
    async fn paid_sessions(&self, n: usize, conc: usize) -> HashMap<String, Instant> {
        let card = json!({"payment_method": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}});
        futures::stream::iter(0..n)
            .map(|_| async {
                let s = self.session().await;
                let res = self
                    .client
                    .post(format!("{}/api/checkout/{s}/pay", self.base))
                    .json(&card)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                (s, Instant::now())
            })
            .buffer_unordered(conc)
            .collect()
            .await
    }
}

/// Receipts beyond the first of the same event at the same path.
fn duplicates(log: &Log) -> usize {
    let mut seen = std::collections::HashSet::new();
    log.lock()
        .unwrap()
        .iter()
        .filter(|(p, e, _)| !seen.insert((p.clone(), e["id"].as_str().unwrap_or("").to_string())))
        .count()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Commit→receipt of `checkout.session.completed` at `path`.
fn latencies(log: &Log, path: &str, paid: &HashMap<String, Instant>) -> Vec<Duration> {
    let mut v: Vec<Duration> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, e, _)| p == path && e["type"] == "checkout.session.completed")
        .filter_map(|(_, e, at)| {
            let s = e["data"]["object"]["id"].as_str()?;
            Some(at.saturating_duration_since(*paid.get(s)?))
        })
        .collect();
    v.sort();
    v
}

async fn wait_for(log: &Log, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while log.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let api = Api {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        base: args.get(1).cloned().expect("server base URL"),
        key: args.get(2).cloned().expect("test key"),
    };
    let rx = receiver().await;
    let both = ["checkout.session.completed", "payment_intent.succeeded"];

    // 1. Latency: 500 paid sessions → 1 000 events to one endpoint.
    let e = api.endpoint(&format!("{}/fast/1", rx.base), &both).await;
    let paid = api.paid_sessions(500, 8).await;
    wait_for(&rx.log, 1000, 60).await;
    let l = latencies(&rx.log, "fast/1", &paid);
    let receipts = rx.log.lock().unwrap().len();
    let dups = duplicates(&rx.log);
    println!(
        "latency: {receipts} receipts ({dups} duplicates), commit→receipt p50 {:.1} ms, p99 {:.1} ms",
        pct(&l, 0.5).as_secs_f64() * 1e3,
        pct(&l, 0.99).as_secs_f64() * 1e3
    );
    api.delete(&e).await;
    rx.log.lock().unwrap().clear();

    // 2. Throughput: 4 endpoints held shut while 250 sessions are paid
    //    (2 000 deliveries queued), then opened.
    let mut gated = Vec::new();
    for i in 0..4 {
        gated.push(api.endpoint(&format!("{}/gated/{i}", rx.base), &both).await);
    }
    api.paid_sessions(250, 16).await;
    let opened = Instant::now();
    rx.gate.add_permits(1 << 20);
    wait_for(&rx.log, 2000, 120).await;
    let last = rx
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, at)| *at)
        .max()
        .unwrap();
    let n = rx.log.lock().unwrap().len();
    println!("throughput: {} duplicates", duplicates(&rx.log));
    println!(
        "throughput: {n} deliveries to 4 endpoints in {:.2} s after opening: {:.0} deliveries/s",
        (last - opened).as_secs_f64(),
        n as f64 / (last - opened).as_secs_f64()
    );
    for id in gated {
        api.delete(&id).await;
    }
    rx.log.lock().unwrap().clear();

    // 3. A dead endpoint (no answer within the 10 s timeout) next to a healthy one.
    let dead = api.endpoint(&format!("{}/dead/1", rx.base), &both).await;
    let healthy = api.endpoint(&format!("{}/fast/2", rx.base), &both).await;
    let paid = api.paid_sessions(200, 4).await;
    let healthy_count = || {
        rx.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == "fast/2")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while healthy_count() < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let l = latencies(&rx.log, "fast/2", &paid);
    println!("dead neighbour: {} duplicates", duplicates(&rx.log));
    if std::env::var("KEEP").is_ok() {
        let mut seen = std::collections::HashSet::new();
        for (p, e, _) in rx.log.lock().unwrap().iter() {
            let id = e["id"].as_str().unwrap_or("").to_string();
            if !seen.insert((p.clone(), id.clone())) {
                println!("dup {p} {id} {}", e["type"]);
            }
        }
    }
    println!(
        "dead neighbour: healthy endpoint got {} events, commit→receipt p50 {:.1} ms, p99 {:.1} ms",
        healthy_count(),
        pct(&l, 0.5).as_secs_f64() * 1e3,
        pct(&l, 0.99).as_secs_f64() * 1e3
    );
    if std::env::var("KEEP").is_err() {
        api.delete(&dead).await;
        api.delete(&healthy).await;
    }
}
