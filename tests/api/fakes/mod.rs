//! Local fakes of the payment providers (one axum server per provider on
//! `127.0.0.1:0`, spawned on the test's tokio runtime, as Hyperswitch's
//! LocalMock): each implements the provider's documented contract, with
//! fault knobs and counters for the tests. Point the product's provider base
//! URL at `fake.base` (`http://127.0.0.1:PORT`, no trailing slash).
//!
//! The server stops when the last clone of its fake is dropped (or with the
//! test's runtime). State is behind a std `Mutex`, never held across `.await`.
#![allow(dead_code)]

pub mod mtn;
pub mod wave;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use rand::Rng;
use rand::distr::Alphanumeric;

/// Aborts the server task when the last clone of a fake goes away.
pub struct ServerGuard {
    task: tokio::task::AbortHandle,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener on a free loopback port and its base URL (no trailing slash).
/// Needs to be called inside a tokio runtime.
pub fn bind() -> (tokio::net::TcpListener, String) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    std_listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = std_listener.local_addr().expect("local addr");
    let listener = tokio::net::TcpListener::from_std(std_listener)
        .expect("a tokio listener (the fakes must be started inside a tokio runtime)");
    (listener, format!("http://{addr}"))
}

/// Serves `router` on `listener` in a task of the current runtime.
pub fn spawn_server(listener: tokio::net::TcpListener, router: Router) -> Arc<ServerGuard> {
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Arc::new(ServerGuard {
        task: task.abort_handle(),
    })
}

/// Runs a handler in its own task, so that it completes even when the
/// client hangs up first (hyper drops a connection's pending handler): a
/// request that timed out at the client is still processed, as a provider's
/// would be.
pub async fn detached<F>(handler: F) -> axum::response::Response
where
    F: std::future::Future<Output = axum::response::Response> + Send + 'static,
{
    tokio::spawn(handler)
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Locks, surviving a poisoned mutex (a test that panicked elsewhere).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The HTTP client the fakes use for callbacks and webhooks: no proxy, no
/// redirects, short timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

pub fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub fn random_lower_alnum(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

pub fn random_upper_alnum(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// `n` decimal digits, the first one not zero.
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|i| {
            let d = if i == 0 {
                rng.random_range(1..10u8)
            } else {
                rng.random_range(0..10u8)
            };
            (b'0' + d) as char
        })
        .collect()
}

/// A random lowercase UUIDv4 (an MTN `X-Reference-Id`).
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Seconds since the Unix epoch (wall clock).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2024-05-01T12:34:56Z` for a Unix time (proleptic Gregorian, UTC).
pub fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// One request a [`Recorder`] received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lowercased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("recorded body is JSON")
    }
}

#[derive(Default)]
struct RecorderState {
    received: Vec<Recorded>,
    status: u16,
}

/// A tiny HTTP server on `127.0.0.1:0` that records every request (any
/// method, any path) and answers an empty body with a settable status (200
/// by default): a stand-in for the product's callback/webhook endpoint.
#[derive(Clone)]
pub struct Recorder {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    state: Arc<Mutex<RecorderState>>,
    _server: Arc<ServerGuard>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let state = Arc::new(Mutex::new(RecorderState {
            received: Vec::new(),
            status: 200,
        }));
        let (listener, base) = bind();
        let router = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&state));
        let server = spawn_server(listener, router);
        Recorder {
            base,
            state,
            _server: server,
        }
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set_status(&self, status: u16) {
        lock(&self.state).status = status;
    }

    pub fn received(&self) -> Vec<Recorded> {
        lock(&self.state).received.clone()
    }

    /// Waits (up to `timeout`) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn record(
    State(state): State<Arc<Mutex<RecorderState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut st = lock(&state);
    st.received.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers: header_pairs(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::from_u16(st.status).unwrap_or(StatusCode::OK)
}

/// Headers as (lowercased name, value) pairs.
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// A header's value as text, if present and valid UTF-8.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn fake_rfc3339_formats_known_instants() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
}

#[test]
fn fake_uuid_v4_shape() {
    let u = uuid_v4();
    assert_eq!(u.len(), 36);
    assert!(mtn::is_uuid_v4(&u), "{u}");
}
