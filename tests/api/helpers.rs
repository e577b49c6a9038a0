//! `spawn_app()`: the real app on a random port with a fresh database —
//! a SQLite temp file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set (created here, dropped when the app is dropped).
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ikawaari::auth::Scope;
use ikawaari::service::credentials::{self, TokenKind};
use ikawaari::{AppState, Clock, Config};
use reqwest::{Client, Response};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub struct TestDb {
    pub url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!(
                    "ik_t_{}",
                    ikawaari::domain::ids::random_token(12).to_lowercase()
                );
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("TEST_DATABASE_URL set but PostgreSQL unreachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                TestDb {
                    url: format!("{base}/{name}"),
                    admin: Some((admin_url.clone(), name)),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDb {
                    url,
                    admin: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.admin.is_some()
    }

    /// For the PostgreSQL-only tests (`#[ignore = "needs PostgreSQL: …"]`,
    /// run by the PostgreSQL pass of `.ci/run` with `--include-ignored`):
    /// fails, never passes, when run without `TEST_DATABASE_URL`.
    pub fn require_postgres(&self) {
        assert!(
            self.is_postgres(),
            "this test needs PostgreSQL: run it with TEST_DATABASE_URL set and --include-ignored"
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.admin.take() {
            // Drop runs outside async context: use a private runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    pub merchant_id: String,
    /// Test-mode secret key, all scopes.
    pub key: String,
    pub live_key: String,
    pub db: TestDb,
    /// SQL statements executed so far (sea-orm metric callback).
    pub statements: Arc<AtomicU64>,
    /// While `Some`, every statement run (with its values) is kept here.
    pub captured: Arc<std::sync::Mutex<Option<Vec<sea_orm::Statement>>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
        self.server.abort();
    }
}

/// Set as `checkout_url` by a tweak: the app's own address (a browser
/// follows the URLs the app gives out, e.g. a payment link's redirects).
pub const SELF_URL: &str = "self";

pub fn test_config(db_url: &str) -> Config {
    let mut c = Config::with_defaults(db_url, "http://checkout.test/checkout");
    c.pay_rate_limit = 0;
    c.test_momo_delay_ms = 300;
    c
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_through(tweak, |url| url.to_string()).await
}

/// `spawn_app_with`, the app reaching its database at `route(url)` (a
/// proxy in front of PostgreSQL, say).
pub async fn spawn_app_through(
    tweak: impl FnOnce(&mut Config),
    route: impl FnOnce(&str) -> String,
) -> TestApp {
    spawn(tweak, route, true).await
}

/// `spawn_app`, without the webhook worker: for the tests that count
/// statements (its claim beat would land in their figures at random).
pub async fn spawn_app_without_webhook_worker() -> TestApp {
    spawn(|_| {}, |url| url.to_string(), false).await
}

async fn spawn(
    tweak: impl FnOnce(&mut Config),
    route: impl FnOnce(&str) -> String,
    webhook_worker: bool,
) -> TestApp {
    let db = TestDb::new().await;
    let mut config = test_config(&db.url);
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    if config.checkout_url == SELF_URL {
        config.checkout_url = format!("http://{addr}/checkout");
    }
    let mut conn = ikawaari::db::connect(&route(&db.url), 5)
        .await
        .expect("connect");
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    let print = std::env::var("IK_PRINT_SQL").is_ok();
    let captured: Arc<std::sync::Mutex<Option<Vec<sea_orm::Statement>>>> = Arc::default();
    let capture = captured.clone();
    conn.set_metric_callback(move |info| {
        if let Some(kept) = capture.lock().expect("capture lock").as_mut() {
            kept.push(info.statement.clone());
        }
        if print {
            eprintln!(
                "SQL: {}",
                info.statement.sql.chars().take(150).collect::<String>()
            );
        }
        // Every statement counts, `webhook_deliveries` ones included (on
        // PostgreSQL a settle's whole chained commit names it). Tests that
        // count statements run without the webhook worker, whose claim beat
        // would make their figures depend on timing.
        counter.fetch_add(1, Ordering::Relaxed);
    });
    ikawaari::db::migrate(&conn).await.expect("migrate");
    let state = AppState::new(conn, config, Clock::default());
    let app = ikawaari::build_app(state.clone());
    ikawaari::workers::timers::spawn(state.clone());
    if webhook_worker {
        ikawaari::workers::webhooks::spawn(state.clone());
    }
    let server_config = state.config.clone();
    let server = tokio::spawn(async move {
        let _ = ikawaari::run(listener, app, &server_config, std::future::pending()).await;
    });
    let m = credentials::create_merchant(&state, "Boutique Test")
        .await
        .expect("merchant");
    let all = [Scope::Read, Scope::Write];
    let key = credentials::issue(&state, &m.id, false, TokenKind::SecretKey, &all)
        .await
        .expect("key")
        .secret;
    let live_key = credentials::issue(&state, &m.id, true, TokenKind::SecretKey, &all)
        .await
        .expect("live key")
        .secret;
    TestApp {
        base: format!("http://{addr}"),
        client: Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client"),
        state,
        merchant_id: m.id.to_string(),
        key,
        live_key,
        db,
        statements,
        captured,
        server,
    }
}

pub fn seed_body() -> Value {
    json!({"line_items":[{"name":"Premium Plan","amount":50000,"currency":"XOF","quantity":1}],
           "mode":"payment",
           "success_url":"https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
           "cancel_url":"https://yoursite.com/cancel"})
}

pub fn card(number: &str) -> Value {
    json!({"payment_method": {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}})
}

pub fn momo(phone: &str) -> Value {
    json!({"payment_method": {"type": "mobile_money", "mobile_money": {"provider": "orange_money", "phone": phone}}})
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.key, path, body).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.key, path).await
    }

    /// Creates a session from `body`, asserting 200, and returns it.
    pub async fn create_session(&self, body: &Value) -> Value {
        let res = self.post("/api/v1/checkout/sessions", body).await;
        let status = res.status();
        let v: Value = res.json().await.expect("json");
        assert_eq!(status, 200, "create failed: {v}");
        v
    }

    pub async fn seed_session(&self) -> String {
        self.create_session(&seed_body()).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub async fn pay(&self, session_id: &str, body: &Value) -> Response {
        self.client
            .post(self.url(&format!("/api/checkout/{session_id}/pay")))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn public(&self, session_id: &str) -> Value {
        self.client
            .get(self.url(&format!("/api/checkout/{session_id}")))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    pub async fn issue(&self, livemode: bool, kind: TokenKind, scopes: &[Scope]) -> String {
        credentials::issue(&self.state, &self.merchant_id, livemode, kind, scopes)
            .await
            .expect("issue")
            .secret
    }

    /// Polls the public view until `status` is reached (or panics after ~10 s).
    pub async fn wait_for_status(&self, session_id: &str, status: &str) -> Value {
        for _ in 0..100 {
            let v = self.public(session_id).await;
            if v["status"] == status {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("session {session_id} never reached {status}");
    }
}

/// `GET path` with the test key, as JSON (any status).
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    app.get(path).await.json().await.expect("json")
}

/// Asserts an error body: status, type, code and (optionally) param.
pub async fn assert_error(res: Response, status: u16, code: &str, param: Option<&str>) -> Value {
    let got = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert!(
        ctype.starts_with("application/json"),
        "error content-type {ctype}: {text}"
    );
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text}"));
    assert_eq!(v["error"]["code"], code, "body: {v}");
    assert!(
        v["error"]["type"].is_string() && v["error"]["message"].is_string(),
        "body: {v}"
    );
    if let Some(p) = param {
        assert_eq!(v["error"]["param"], p, "body: {v}");
    }
    v
}

/// A `serve` process of the real binary (for multi-process and restart tests).
/// The secrets key every test server process shares (so processes on one
/// database open each other's webhook secrets).
pub const TEST_SECRETS_KEY: &str =
    "6b1f0c3e2d4a59788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub stdout_lines: Vec<String>,
}

impl ServerProcess {
    pub fn start(db_url: &str, envs: &[(&str, &str)]) -> ServerProcess {
        Self::spawn(db_url, envs, Stdio::null())
    }

    /// Like `start`, with the server's log (stderr) written to `log`.
    pub fn start_logging(db_url: &str, envs: &[(&str, &str)], log: std::fs::File) -> ServerProcess {
        Self::spawn(db_url, envs, Stdio::from(log))
    }

    fn spawn(db_url: &str, envs: &[(&str, &str)], stderr: Stdio) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ikawaari"));
        cmd.arg("serve")
            .env("DATABASE_URL", db_url)
            .env("IKAWAARI_BIND", "127.0.0.1:0")
            .env("IKAWAARI_PAY_RATE_LIMIT", "0")
            .env("RUST_LOG", "warn")
            .env("IKAWAARI_SECRETS_KEY", TEST_SECRETS_KEY)
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ikawaari serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                panic!("server exited early: {lines:?}");
            }
            let line = line.trim_end().to_string();
            let done = line.starts_with("listening on ");
            lines.push(line);
            if done {
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let addr = lines
            .last()
            .and_then(|l| l.strip_prefix("listening on "))
            .expect("address")
            .to_string();
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            stdout_lines: lines,
        }
    }

    pub fn test_key(&self) -> Option<String> {
        self.stdout_lines
            .iter()
            .find_map(|l| l.strip_prefix("test key: "))
            .filter(|k| k.starts_with("ik_test_"))
            .map(str::to_string)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TestApp {
    /// Runs a GraphQL operation with `token`; returns the whole response body.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let res = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(&self.key, query, variables).await
    }

    /// The statements `f` ran (all of them: with the webhook worker running,
    /// its beat's too, so count on `spawn_app_without_webhook_worker`).
    pub async fn statements_of<F: std::future::Future>(
        &self,
        f: F,
    ) -> (F::Output, Vec<sea_orm::Statement>) {
        *self.captured.lock().expect("capture lock") = Some(Vec::new());
        let out = f.await;
        let kept = self
            .captured
            .lock()
            .expect("capture lock")
            .take()
            .expect("captured since the start of `statements_of`");
        (out, kept)
    }

    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// Runs `program args…` with `envs`; a missing program fails the test. The
/// tests that need one are `#[ignore = "needs python3 and node: …"]`, so a
/// plain `cargo test` lists them as ignored; CI runs them with
/// `--include-ignored` once `.ci/run` has installed the tools.
pub fn run_tool(program: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output();
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{program}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
        Err(e) => panic!("{program} is required by this test (.ci/run installs it): {e}"),
    }
}
