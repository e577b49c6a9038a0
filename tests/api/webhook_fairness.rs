//! One merchant's dead endpoints against another merchant's webhooks: fair
//! shares of the delivery slots, and the circuit breaker of an endpoint that
//! never answers.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ikawaari::auth::Scope;
use ikawaari::service::credentials::{self, TokenKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::receiver::Receiver;

/// Connections open now, over a group of `Silent` endpoints.
#[derive(Default)]
struct Gauge {
    open: AtomicUsize,
}

/// An endpoint that accepts the connection, reads the request and never
/// answers, until told to answer (then 200 to each request).
struct Silent {
    url: String,
    accepted: Arc<Mutex<Vec<Instant>>>,
    answer: Arc<AtomicBool>,
    /// Event ids answered 200.
    delivered: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Silent {
    async fn start(gauge: Arc<Gauge>) -> Silent {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let accepted: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let answer: Arc<AtomicBool> = Arc::default();
        let delivered: Arc<Mutex<Vec<String>>> = Arc::default();
        let (a, ans, d) = (accepted.clone(), answer.clone(), delivered.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                a.lock().unwrap().push(Instant::now());
                let answering = ans.load(Ordering::SeqCst);
                tokio::spawn(hold(sock, gauge.clone(), answering, d.clone()));
            }
        });
        Silent {
            url,
            accepted,
            answer,
            delivered,
            task,
        }
    }

    fn attempts(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    async fn wait_for_attempts(&self, n: usize, secs: u64) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(at) = self.accepted.lock().unwrap().get(n - 1) {
                return *at;
            }
            assert!(
                Instant::now() < deadline,
                "attempt {n} not made in {secs} s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Reads one connection to its end; answers its request when `answering`.
async fn hold(
    mut sock: tokio::net::TcpStream,
    gauge: Arc<Gauge>,
    answering: bool,
    delivered: Arc<Mutex<Vec<String>>>,
) {
    gauge.open.fetch_add(1, Ordering::SeqCst);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if answering && let Some(body) = request_body(&buf) {
            let event: Value = serde_json::from_slice(body).expect("event JSON");
            delivered
                .lock()
                .unwrap()
                .push(event["id"].as_str().expect("id").to_string());
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            break;
        }
    }
    gauge.open.fetch_sub(1, Ordering::SeqCst);
}

/// The body of a complete HTTP/1.1 request in `buf`, if it is all there.
fn request_body(buf: &[u8]) -> Option<&[u8]> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    buf.get(end..end + len)
}

async fn endpoint_as(app: &TestApp, key: &str, url: &str) -> String {
    let res = app
        .post_as(
            key,
            "/api/v1/webhook_endpoints",
            &json!({"url": url, "enabled_events": ["checkout.session.completed", "payment_intent.succeeded"]}),
        )
        .await;
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert_eq!(status, 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Creates and pays a session as `key`'s merchant; returns its id and when
/// the payment answered (the events were committed).
async fn paid_session(app: &TestApp, key: &str) -> (String, Instant) {
    let res = app
        .post_as(key, "/api/v1/checkout/sessions", &seed_body())
        .await;
    assert_eq!(res.status(), 200);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.pay(&id, &card("4242424242424242")).await.status(), 200);
    (id, Instant::now())
}

async fn second_merchant(app: &TestApp) -> String {
    let m = credentials::create_merchant(&app.state, "Boutique B")
        .await
        .expect("merchant");
    credentials::issue(
        &app.state,
        &m.id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read, Scope::Write],
    )
    .await
    .expect("key")
    .secret
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_endpoints_of_one_merchant_do_not_delay_another_merchants_webhooks() {
    const DEAD: usize = 12;
    const A_SESSIONS: usize = 10; // 20 events to each of 12 endpoints: 240 attempts
    const B_SESSIONS: usize = 20;
    // Each of A's attempts holds its slot for the whole timeout.
    let app = spawn_app_with(|c| {
        c.webhook_timeout_ms = 5_000;
        c.webhook_retry_base_ms = 60_000;
    })
    .await;
    let gauge = Arc::new(Gauge::default());
    let mut dead = Vec::new();
    for _ in 0..DEAD {
        let s = Silent::start(gauge.clone()).await;
        endpoint_as(&app, &app.key, &s.url).await;
        dead.push(s);
    }
    let key_b = second_merchant(&app).await;
    let rx = Receiver::start().await;
    endpoint_as(&app, &key_b, &rx.url).await;

    for _ in 0..A_SESSIONS {
        paid_session(&app, &app.key).await;
    }
    // A's first attempts are out (and hanging) before B's events exist.
    tokio::time::timeout(Duration::from_secs(10), async {
        while gauge.open.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("A's endpoints are attempted");
    let mut paid = std::collections::HashMap::new();
    for _ in 0..B_SESSIONS {
        let (id, at) = paid_session(&app, &key_b).await;
        paid.insert(id, at);
    }
    let completed = |g: &[crate::receiver::Received]| {
        g.iter()
            .filter(|r| r.answered == 200 && r.event_type() == "checkout.session.completed")
            .map(|r| {
                (
                    r.json()["data"]["object"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    r.at,
                )
            })
            .collect::<std::collections::HashMap<String, Instant>>()
    };
    // Waits long enough to measure the unfair case too.
    let deadline = Instant::now() + Duration::from_secs(60);
    while completed(&rx.received()).len() < B_SESSIONS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_open = gauge.open.load(Ordering::SeqCst);
    // Nothing of A's answers or times out in its first 4 s: what it started
    // then is what it held at once.
    let mut a_starts: Vec<Instant> = dead
        .iter()
        .flat_map(|d| d.accepted.lock().unwrap().clone())
        .collect();
    a_starts.sort();
    let first_wave = a_starts
        .iter()
        .filter(|t| **t < a_starts[0] + Duration::from_secs(4))
        .count();
    let got = completed(&rx.received());
    let mut latency: Vec<Duration> = got
        .iter()
        .map(|(s, at)| at.saturating_duration_since(paid[s]))
        .collect();
    latency.sort();
    let db = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    eprintln!(
        "fairness ({db}): B delivered {}/{B_SESSIONS}; commit→receipt p50 {:?} p90 {:?} max {:?}; \
         A in flight now {a_open}, {first_wave} started in its first 4 s",
        got.len(),
        latency.first().map(|_| percentile(&latency, 0.5)),
        latency.first().map(|_| percentile(&latency, 0.9)),
        latency.last(),
    );
    assert_eq!(got.len(), B_SESSIONS, "B's events all delivered");
    // Not one of A's 5 s timeouts is waited out before B's deliveries.
    let worst = *latency.last().unwrap();
    assert!(worst < Duration::from_secs(4), "B waited {worst:?}");
    // … while A's attempts still hang, at most A's fair share of them.
    assert!(a_open > 0, "A's endpoints were hanging meanwhile");
    let cap = app.state.config.webhook_merchant_in_flight as usize;
    assert!(cap < 64);
    assert!(
        first_wave <= cap,
        "A held {first_wave} slots at once (cap {cap})"
    );
}

/// When `endpoint`'s breaker is open until, if it is (unix ms).
async fn breaker_until(app: &TestApp, endpoint: &str) -> Option<i64> {
    use sea_orm::EntityTrait;
    entity::webhook_endpoint::Entity::find_by_id(ikawaari::domain::WebhookEndpointId::trusted(
        endpoint.to_string(),
    ))
    .one(&app.state.db)
    .await
    .unwrap()
    .expect("endpoint")
    .breaker_until
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_gets_one_trial_per_cool_down_and_loses_nothing() {
    const SESSIONS: usize = 10; // 20 events
    const COOL_DOWN: Duration = Duration::from_secs(3);
    let app = spawn_app_with(|c| {
        c.webhook_timeout_ms = 500;
        // Without the breaker a retry would be due every fraction of a second.
        c.webhook_retry_base_ms = 200;
        c.webhook_breaker_after = 3;
        c.webhook_breaker_cooldown_ms = COOL_DOWN.as_millis() as u64;
    })
    .await;
    let dead = Silent::start(Arc::default()).await;
    let id = endpoint_as(&app, &app.key, &dead.url).await;
    let mut events = std::collections::HashSet::new();
    for _ in 0..SESSIONS {
        paid_session(&app, &app.key).await;
    }
    let listed: Value = app
        .get("/api/v1/events?limit=100")
        .await
        .json()
        .await
        .unwrap();
    for e in listed["data"].as_array().unwrap() {
        events.insert(e["id"].as_str().unwrap().to_string());
    }
    assert_eq!(events.len(), 2 * SESSIONS);

    // Opens after its first unanswered attempts (those in flight then end too).
    let deadline = Instant::now() + Duration::from_secs(20);
    let until = loop {
        if let Some(until) = breaker_until(&app, &id).await {
            break until;
        }
        assert!(Instant::now() < deadline, "the breaker never opened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // No trial before `until` (which attempts still in flight only push later).
    let quiet_end = Instant::now()
        + Duration::from_millis((until - app.state.clock.now_ms() - 200).max(0) as u64);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = dead.attempts();
    assert!(before >= 3, "{before} attempts before the breaker opened");
    // Open: nothing is sent during the cool-down …
    tokio::time::sleep_until(quiet_end.into()).await;
    assert_eq!(
        dead.attempts(),
        before,
        "attempts while the breaker was open"
    );
    // … then one trial; it goes unanswered and the breaker opens again.
    let trial = dead.wait_for_attempts(before + 1, 20).await;
    tokio::time::sleep_until((trial + COOL_DOWN - Duration::from_millis(500)).into()).await;
    assert_eq!(dead.attempts(), before + 1, "one trial per cool-down");
    let pending: Value = app
        .get(&format!(
            "/api/v1/webhook_endpoints/{id}/deliveries?limit=100"
        ))
        .await
        .json()
        .await
        .unwrap();
    let rows = pending["data"].as_array().unwrap();
    // Every attempt made is in the list, every other event still waits.
    let failed = rows.iter().filter(|r| r["status"] == "failed").count();
    assert_eq!(failed, before + 1, "{pending}");
    assert!(rows.iter().all(|r| r["status"] != "succeeded"), "{pending}");

    // The endpoint comes back: the next trial is answered, the breaker
    // closes, and every event is delivered.
    dead.answer.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got: std::collections::HashSet<String> =
            dead.delivered.lock().unwrap().iter().cloned().collect();
        if got == events {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events delivered after recovery",
            got.len(),
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(breaker_until(&app, &id).await, None, "closed again");
    eprintln!(
        "breaker ({}): {before} attempts before it opened, 1 trial per {COOL_DOWN:?}, {} attempts in all for {} events",
        if app.db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        dead.attempts(),
        events.len()
    );
}
