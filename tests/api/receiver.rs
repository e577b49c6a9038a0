//! A webhook receiver on loopback, started by a test: records every
//! request (signature header, raw body, arrival) and answers with the
//! statuses it is scripted to.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub user_agent: String,
    pub content_type: String,
    pub body: Bytes,
    pub at: Instant,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
    pub fn event_id(&self) -> String {
        self.json()["id"].as_str().expect("id").to_string()
    }
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().expect("type").to_string()
    }
}

/// What to answer: scripted statuses first, then `default`; a hang holds
/// the request that long before answering.
#[derive(Default)]
struct Script {
    statuses: VecDeque<u16>,
    hang_first: Option<Duration>,
    fail_every: Option<usize>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<Script>> = Arc::default();
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (g, s) = (g.clone(), s.clone());
                async move { answer(&g, &s, headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
            script,
            task: Arc::new(task),
        }
    }

    /// The next answers, in order (then 200).
    pub fn answer_with(&self, statuses: &[u16]) {
        self.script.lock().unwrap().statuses.extend(statuses);
    }

    /// Holds the first request `d` before answering 200.
    pub fn hang_first(&self, d: Duration) {
        self.script.lock().unwrap().hang_first = Some(d);
    }

    /// Answers 500 to every n-th request.
    pub fn fail_every(&self, n: usize) {
        self.script.lock().unwrap().fail_every = Some(n);
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `done(received)` holds (or panics after `secs`).
    pub async fn wait_until(&self, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            if Instant::now() > deadline {
                let types: Vec<String> = got.iter().map(|r| r.event_type()).collect();
                panic!("receiver condition not met in {secs} s; got {types:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a delivery of an event of type `t` and returns it.
    pub async fn wait_for_type(&self, t: &str) -> Received {
        let got = self
            .wait_until(15, |g| {
                g.iter().any(|r| r.answered < 300 && r.event_type() == t)
            })
            .await;
        got.into_iter()
            .find(|r| r.answered < 300 && r.event_type() == t)
            .expect("found")
    }
}

async fn answer(
    got: &Mutex<Vec<Received>>,
    script: &Mutex<Script>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let (status, hang) = {
        let mut s = script.lock().unwrap();
        let n = got.lock().unwrap().len() + 1;
        let hang = s.hang_first.take();
        let status = s.statuses.pop_front().unwrap_or(match s.fail_every {
            Some(k) if n.is_multiple_of(k) => 500,
            _ => 200,
        });
        (status, hang)
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    got.lock().unwrap().push(Received {
        signature: header("ikawaari-signature"),
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        body,
        at,
        // A held request counts as unanswered (its sender may be gone).
        answered: if hang.is_some() { 0 } else { status },
    });
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// Verifies an `Ikawaari-Signature` header the way the README tells
/// merchants to; returns how many `v1` signatures `secret` matches.
pub fn matches(header: &str, body: &[u8], secret: &str) -> usize {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_string()),
            _ => {}
        }
    }
    let t = t.expect("t= in the signature header");
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let expected = hex::encode(hmac_sha256(secret.as_bytes(), &message));
    sigs.iter().filter(|s| **s == expected).count()
}

/// HMAC-SHA256 (RFC 2104) written out, independent of the server's `ring`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The number of `v1=` signatures in a header.
pub fn signature_count(header: &str) -> usize {
    header.split(',').filter(|p| p.starts_with("v1=")).count()
}
