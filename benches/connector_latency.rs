//! What a connector adds to a pay: `POST /api/checkout/{id}/pay` through
//! the MTN MoMo connector (against the local fake of MTN's API: token
//! cached, the provider attempt committed before the call, `202`) and
//! through the Wave connector (the checkout session created at the fake),
//! next to the test processor's mobile money (`+…0000`, the same `202
//! processing` answer; `+…0002`, settled at once),
//! one request at a time on SQLite. Prints p50/p99 per route.
//!
//! `cargo bench --bench connector_latency` (`N=…` pays per route, default 400).
// The fakes' own self-tests are not run here.
#[allow(unused_imports)]
#[path = "../tests/api/fakes/mod.rs"]
mod fakes;

use std::time::{Duration, Instant};

use ikawaari::auth::Scope;
use ikawaari::service::credentials::{self, TokenKind};
use ikawaari::{AppState, Clock, Config};
use serde_json::{Value, json};

async fn post(c: &reqwest::Client, url: String, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = c.post(url).json(body);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let res = r.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mtn = fakes::mtn::MtnFake::start(fakes::mtn::MtnConfig {
        // Final only later: the pay's own latency, no settle racing it.
        approve_after: Duration::from_secs(3600),
        ..Default::default()
    });
    let wave = fakes::wave::WaveFake::start(fakes::wave::WaveConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let conn = ikawaari::db::connect(&url, 5).await.unwrap();
    ikawaari::db::migrate(&conn).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::with_defaults(&url, &format!("http://{addr}/checkout"));
    config.pay_rate_limit = 0;
    config.mtn_momo_url = Some(mtn.base.clone());
    config.wave_url = wave.base.clone();
    let state = AppState::new(conn, config, Clock::default());
    let app = ikawaari::build_app(state.clone());
    let server_config = state.config.clone();
    tokio::spawn(async move {
        let _ = ikawaari::run(listener, app, &server_config, std::future::pending()).await;
    });
    let m = credentials::create_merchant(&state, "Bench").await.unwrap();
    let all = [Scope::Read, Scope::Write];
    let test_key = credentials::issue(&state, &m.id, false, TokenKind::SecretKey, &all)
        .await
        .unwrap()
        .secret;
    let live_key = credentials::issue(&state, &m.id, true, TokenKind::SecretKey, &all)
        .await
        .unwrap()
        .secret;
    let base = format!("http://{addr}");
    let c = reqwest::Client::new();
    let cfg = &mtn.cfg;
    let (s, v) = post(&c, format!("{base}/api/v1/connectors"), Some(&live_key), &json!({"type": "mtn_momo",
        "credentials": {"subscription_key": cfg.subscription_key, "api_user": cfg.api_user, "api_key": cfg.api_key,
                        "target_environment": cfg.target_environment}})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &c,
        format!("{base}/api/v1/connectors"),
        Some(&live_key),
        &json!({"type": "wave",
        "credentials": {"api_key": wave.cfg.api_key, "webhook_secret": wave.cfg.webhook_secret}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let session = json!({"line_items": [{"name": "Bench", "amount": 5000, "currency": "XOF", "quantity": 1}],
        "mode": "payment", "success_url": "https://example.com/ok", "cancel_url": "https://example.com/no"});
    let routes = [
        (
            "test processor (mobile money, settles at once)",
            &test_key,
            "orange_money",
            "+2250700000002",
            200,
        ),
        (
            "test processor (mobile money, 202 processing)",
            &test_key,
            "orange_money",
            "+2250700000000",
            202,
        ),
        (
            "MTN MoMo connector (fake, 202)",
            &live_key,
            "mtn_momo",
            "+225070000460",
            202,
        ),
        (
            "Wave connector (fake, 202 + launch URL)",
            &live_key,
            "wave",
            "+2250700000000",
            202,
        ),
    ];
    println!("{n} pays per route, one at a time, SQLite, loopback fakes");
    for (name, key, provider, phone, want) in routes {
        let mut took = Vec::with_capacity(n);
        for _ in 0..n {
            let (_, s) = post(
                &c,
                format!("{base}/api/v1/checkout/sessions"),
                Some(key),
                &session,
            )
            .await;
            let id = s["id"].as_str().unwrap();
            let body = json!({"payment_method": {"type": "mobile_money", "mobile_money": {"provider": provider, "phone": phone}}});
            let t = Instant::now();
            let (status, v) = post(&c, format!("{base}/api/checkout/{id}/pay"), None, &body).await;
            took.push(t.elapsed());
            assert_eq!(status, want, "{name}: {v}");
        }
        took.sort();
        println!(
            "{name}: p50 {:.2} ms, p99 {:.2} ms",
            pct(&took, 0.5),
            pct(&took, 0.99)
        );
    }
}
