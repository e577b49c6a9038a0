//! A fake of the Wave Checkout API (`/v1/checkout/sessions…`), the
//! customer's side of a checkout (`/c/{id}`: a page with Pay and Cancel
//! buttons), and Wave's signed webhooks, with fault knobs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ring::hmac;
use serde_json::{Value, json};

use super::{
    ServerGuard, bind, detached, header_str, http_client, lock, random_alnum, random_lower_alnum,
    random_upper_alnum, rfc3339, spawn_server, unix_now,
};

pub const COMPLETED: &str = "checkout.session.completed";
pub const PAYMENT_FAILED: &str = "checkout.session.payment_failed";

#[derive(Clone, Debug)]
pub struct WaveConfig {
    /// The `Authorization: Bearer` key every `/v1/*` call needs.
    pub api_key: String,
    /// The HMAC-SHA256 key of `Wave-Signature`.
    pub webhook_secret: String,
    /// Where webhooks go (none sent while `None`; see `set_webhook_url`).
    pub webhook_url: Option<String>,
}

impl Default for WaveConfig {
    fn default() -> Self {
        WaveConfig {
            api_key: "wave_ci_prod_fakekey0001".into(),
            webhook_secret: "wave_ci_WHS_fakesecret0001".into(),
            webhook_url: None,
        }
    }
}

/// A webhook event the fake made (what `resend` sends again).
#[derive(Clone, Debug)]
pub struct WaveEvent {
    pub id: String,
    pub event_type: String,
    /// The raw JSON body, as signed.
    pub body: String,
}

#[derive(Clone, Debug)]
struct Session {
    id: String,
    amount: String,
    currency: String,
    client_reference: Option<String>,
    success_url: String,
    error_url: String,
    restrict_payer_mobile: Option<String>,
    checkout_status: String,
    payment_status: String,
    last_payment_error: Option<Value>,
    transaction_id: Option<String>,
    when_completed: Option<String>,
    when_created: String,
    when_expires: String,
    refunded: bool,
}

impl Session {
    fn to_json(&self, base: &str, amount: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "amount": amount.unwrap_or(&self.amount),
            "checkout_status": self.checkout_status,
            "client_reference": self.client_reference,
            "currency": self.currency,
            "error_url": self.error_url,
            "success_url": self.success_url,
            "business_name": "Fake Shop",
            "payment_status": self.payment_status,
            "last_payment_error": self.last_payment_error,
            "transaction_id": self.transaction_id,
            "wave_launch_url": format!("{base}/c/{}", self.id),
            "when_completed": self.when_completed,
            "when_created": self.when_created,
            "when_expires": self.when_expires,
            "restrict_payer_mobile": self.restrict_payer_mobile,
        })
    }
}

struct WaveState {
    webhook_url: Option<String>,
    sessions: Vec<Session>,
    create_calls: HashMap<String, usize>,
    lookups: usize,
    refunds: usize,
    events: Vec<WaveEvent>,
    webhooks_sent: Vec<(String, String, u16)>,
    // Persistent knobs.
    drop_webhooks: bool,
    forge_signatures: bool,
    stale_timestamps: bool,
    duplicate_webhooks: bool,
    extra_signature: Option<String>,
    report_amount: Option<String>,
    // One-shot knobs.
    fail_next_create: usize,
    receive_then_fail_create: bool,
    delay_next_create: Option<Duration>,
    fail_next_lookups: usize,
}

impl WaveState {
    fn find(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn find_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }
}

struct Inner {
    cfg: WaveConfig,
    base: String,
    state: Mutex<WaveState>,
    client: reqwest::Client,
}

type Shared = Arc<Inner>;

type Reject = (StatusCode, Value);

fn reply((status, body): Reject) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Reject {
    (status, json!({"code": code, "message": message}))
}

fn not_found() -> Reject {
    error(
        StatusCode::NOT_FOUND,
        "not-found",
        "The checkout session was not found.",
    )
}

fn internal_error() -> Reject {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal-server-error",
        "An internal error occurred.",
    )
}

fn validation_error(details: Vec<(Vec<&str>, String)>) -> Reject {
    (
        StatusCode::BAD_REQUEST,
        json!({
            "code": "request-validation-error",
            "message": "Request invalid",
            "details": details
                .into_iter()
                .map(|(loc, msg)| json!({"loc": loc, "msg": msg}))
                .collect::<Vec<_>>(),
        }),
    )
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, t + body)>`.
pub fn signature_header(secret: &str, body: &str, t: i64) -> String {
    format!("t={t},v1={}", sign(secret, body, t))
}

fn sign(secret: &str, body: &str, t: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(hmac::sign(&key, format!("{t}{body}").as_bytes()).as_ref())
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// A create body's checks, all at once (as a validation error lists them).
fn validate(raw: &[u8]) -> Result<Session, Reject> {
    let body: Value = match serde_json::from_slice(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(validation_error(vec![(
                vec!["body"],
                "a JSON object is required".into(),
            )]));
        }
    };
    let mut details: Vec<(Vec<&str>, String)> = Vec::new();
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let amount = text("amount").unwrap_or_default();
    if body.get("amount").is_none() {
        details.push((vec!["body", "amount"], "field required".into()));
    } else if amount.is_empty()
        || !amount.bytes().all(|c| c.is_ascii_digit())
        || amount.bytes().all(|c| c == b'0')
    {
        details.push((
            vec!["body", "amount"],
            "must be a string of a positive whole number of XOF".into(),
        ));
    }
    let currency = text("currency").unwrap_or_default();
    if currency != "XOF" {
        details.push((vec!["body", "currency"], "unsupported currency".into()));
    }
    for key in ["success_url", "error_url"] {
        if !text(key).is_some_and(is_url) {
            details.push((vec!["body", key], "a valid URL is required".into()));
        }
    }
    let client_reference = match body.get("client_reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
        Some(_) => {
            details.push((
                vec!["body", "client_reference"],
                "a string of at most 255 characters".into(),
            ));
            None
        }
    };
    let restrict_payer_mobile = match body.get("restrict_payer_mobile") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_e164(s) => Some(s.clone()),
        Some(_) => {
            details.push((
                vec!["body", "restrict_payer_mobile"],
                "a mobile number in E.164 format is required".into(),
            ));
            None
        }
    };
    if !details.is_empty() {
        return Err(validation_error(details));
    }
    let now = unix_now();
    Ok(Session {
        id: format!("cos-{}", random_lower_alnum(20)),
        amount: amount.to_string(),
        currency: currency.to_string(),
        client_reference,
        success_url: text("success_url").unwrap_or_default().to_string(),
        error_url: text("error_url").unwrap_or_default().to_string(),
        restrict_payer_mobile,
        checkout_status: "open".into(),
        payment_status: "processing".into(),
        last_payment_error: None,
        transaction_id: None,
        when_completed: None,
        when_created: rfc3339(now),
        when_expires: rfc3339(now + 30 * 60),
        refunded: false,
    })
}

impl Inner {
    fn check_auth(&self, headers: &HeaderMap) -> Result<(), Reject> {
        match header_str(headers, "authorization") {
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                "missing-auth-header",
                "Your request should include an HTTP auth header.",
            )),
            Some(v)
                if v.strip_prefix("Bearer ").map(str::trim) == Some(self.cfg.api_key.as_str()) =>
            {
                Ok(())
            }
            Some(_) => Err(error(
                StatusCode::UNAUTHORIZED,
                "invalid-auth",
                "Your HTTP auth header can't be processed.",
            )),
        }
    }

    /// A new event for a session (as it is now), remembered for `resend`.
    fn new_event(&self, st: &mut WaveState, event_type: &str, id: &str) -> Option<WaveEvent> {
        let report = st.report_amount.clone();
        let data = st.find(id)?.to_json(&self.base, report.as_deref());
        let event_id = format!("EV_{}", random_alnum(16));
        let body = json!({"id": event_id, "type": event_type, "data": data}).to_string();
        let event = WaveEvent {
            id: event_id,
            event_type: event_type.to_string(),
            body,
        };
        st.events.push(event.clone());
        Some(event)
    }
}

/// Posts an event to the webhook URL, signed per the knobs. `automatic`
/// (a state change): `drop_webhooks` and `duplicate_webhooks` apply.
/// Returns the last delivery's status (0: no HTTP answer), `None` when
/// nothing was sent.
async fn deliver(inner: &Shared, event: &WaveEvent, automatic: bool) -> Option<u16> {
    let (url, signature, times) = {
        let st = lock(&inner.state);
        let url = st.webhook_url.clone()?;
        if automatic && st.drop_webhooks {
            return None;
        }
        let t = if st.stale_timestamps {
            unix_now() - 600
        } else {
            unix_now()
        };
        let secret = if st.forge_signatures {
            format!("forged-{}", inner.cfg.webhook_secret)
        } else {
            inner.cfg.webhook_secret.clone()
        };
        let mut signature = format!("t={t}");
        if let Some(other) = &st.extra_signature {
            signature.push_str(&format!(",v1={}", sign(other, &event.body, t)));
        }
        signature.push_str(&format!(",v1={}", sign(&secret, &event.body, t)));
        let times = if automatic && st.duplicate_webhooks {
            2
        } else {
            1
        };
        (url, signature, times)
    };
    let mut last = None;
    for _ in 0..times {
        let code = match inner
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Wave-Signature", &signature)
            .body(event.body.clone())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        lock(&inner.state)
            .webhooks_sent
            .push((event.id.clone(), event.event_type.clone(), code));
        last = Some(code);
    }
    last
}

/// The customer pays (`pay: true`) or cancels: the session's new state, its
/// webhook delivered (awaited) before returning.
async fn settle(inner: &Shared, id: &str, pay: bool) -> Result<Value, String> {
    let (session, event) = {
        let mut st = lock(&inner.state);
        let Some(s) = st.find_mut(id) else {
            return Err(format!("no checkout session {id}"));
        };
        if s.checkout_status != "open" {
            return Err(format!("checkout session {id} is {}", s.checkout_status));
        }
        let event_type = if pay {
            s.checkout_status = "complete".into();
            s.payment_status = "succeeded".into();
            s.transaction_id = Some(format!("T_{}", random_upper_alnum(12)));
            s.when_completed = Some(rfc3339(unix_now()));
            COMPLETED
        } else {
            s.payment_status = "cancelled".into();
            s.last_payment_error = Some(json!({
                "code": "payment-failure",
                "message": "The customer cancelled the payment.",
            }));
            PAYMENT_FAILED
        };
        let session = s.to_json(&inner.base, None);
        let event = inner.new_event(&mut st, event_type, id);
        (session, event)
    };
    if let Some(event) = event {
        deliver(inner, &event, true).await;
    }
    Ok(session)
}

fn expire_session(inner: &Shared, id: &str) -> Result<(), Reject> {
    let mut st = lock(&inner.state);
    let s = st.find_mut(id).ok_or_else(not_found)?;
    match s.checkout_status.as_str() {
        "open" => {
            s.checkout_status = "expired".into();
            s.when_completed = Some(rfc3339(unix_now()));
            Ok(())
        }
        "expired" => Ok(()),
        _ => Err(error(
            StatusCode::CONFLICT,
            "checkout-session-not-open",
            "Only an open checkout session can be expired.",
        )),
    }
}

async fn create(State(inner): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    let client_reference = serde_json::from_slice::<Value>(&raw).ok().and_then(|v| {
        v.get("client_reference")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let delay = {
        let mut st = lock(&inner.state);
        if let Some(c) = &client_reference {
            *st.create_calls.entry(c.clone()).or_default() += 1;
        }
        st.delay_next_create.take()
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if let Err(e) = inner.check_auth(&headers) {
        return reply(e);
    }
    let session = match validate(&raw) {
        Ok(s) => s,
        Err(e) => return reply(e),
    };
    let mut st = lock(&inner.state);
    if st.fail_next_create > 0 {
        st.fail_next_create -= 1;
        return reply(internal_error());
    }
    let answer = session.to_json(&inner.base, None);
    st.sessions.push(session);
    if std::mem::take(&mut st.receive_then_fail_create) {
        return reply(internal_error());
    }
    Json(answer).into_response()
}

/// `Ok`: counted, authorized, not failed by `fail_next_lookups`.
fn lookup_gate(inner: &Inner, headers: &HeaderMap) -> Result<(), Reject> {
    lock(&inner.state).lookups += 1;
    inner.check_auth(headers)?;
    let mut st = lock(&inner.state);
    if st.fail_next_lookups > 0 {
        st.fail_next_lookups -= 1;
        return Err(internal_error());
    }
    Ok(())
}

async fn get_session(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = lookup_gate(&inner, &headers) {
        return reply(e);
    }
    let st = lock(&inner.state);
    match st.find(&id) {
        Some(s) => Json(s.to_json(&inner.base, st.report_amount.as_deref())).into_response(),
        None => reply(not_found()),
    }
}

async fn search(
    State(inner): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = lookup_gate(&inner, &headers) {
        return reply(e);
    }
    let Some(reference) = q.get("client_reference") else {
        return reply(validation_error(vec![(
            vec!["query", "client_reference"],
            "field required".into(),
        )]));
    };
    let st = lock(&inner.state);
    let result: Vec<Value> = st
        .sessions
        .iter()
        .filter(|s| s.client_reference.as_deref() == Some(reference.as_str()))
        .map(|s| s.to_json(&inner.base, st.report_amount.as_deref()))
        .collect();
    Json(json!({"result": result})).into_response()
}

async fn expire_api(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = inner.check_auth(&headers) {
        return reply(e);
    }
    match expire_session(&inner, &id) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => reply(e),
    }
}

async fn refund_api(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = inner.check_auth(&headers) {
        return reply(e);
    }
    let mut st = lock(&inner.state);
    let Some(s) = st.find_mut(&id) else {
        return reply(not_found());
    };
    if s.payment_status != "succeeded" || s.refunded {
        return reply(error(
            StatusCode::CONFLICT,
            "checkout-refund-failed",
            "The checkout session's payment cannot be refunded.",
        ));
    }
    s.refunded = true;
    st.refunds += 1;
    Json(json!({})).into_response()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    )
}

async fn customer_page(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let st = lock(&inner.state);
    let Some(s) = st.find(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page("Wave", "<p>Unknown checkout.</p>")),
        )
            .into_response();
    };
    let mut body = format!(
        "<p id=\"merchant\">Fake Shop</p><p id=\"amount\">{} {}</p>\
         <p id=\"status\">{} / {}</p>",
        s.amount, s.currency, s.checkout_status, s.payment_status
    );
    if s.checkout_status == "open" {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/c/{id}/pay\">\
             <button id=\"pay\" type=\"submit\">Pay</button></form>\
             <form method=\"post\" action=\"/c/{id}/cancel\">\
             <button id=\"cancel\" type=\"submit\">Cancel</button></form>"
        ));
    }
    Html(page("Wave", &body)).into_response()
}

async fn customer_settle(inner: Shared, id: String, pay: bool) -> Response {
    match settle(&inner, &id, pay).await {
        Ok(session) => {
            let key = if pay { "success_url" } else { "error_url" };
            Redirect::to(session[key].as_str().unwrap_or("/")).into_response()
        }
        Err(e) => (
            StatusCode::CONFLICT,
            Html(page("Wave", &format!("<p>{e}</p>"))),
        )
            .into_response(),
    }
}

async fn fallback() -> Response {
    reply(error(StatusCode::NOT_FOUND, "not-found", "Not found."))
}

/// The fake Wave server. Clones share the server and its state.
#[derive(Clone)]
pub struct WaveFake {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    pub cfg: WaveConfig,
    inner: Shared,
    _server: Arc<ServerGuard>,
}

impl WaveFake {
    /// Starts the server on the current tokio runtime.
    pub fn start(cfg: WaveConfig) -> WaveFake {
        let (listener, base) = bind();
        let inner = Arc::new(Inner {
            cfg: cfg.clone(),
            base: base.clone(),
            state: Mutex::new(WaveState {
                webhook_url: cfg.webhook_url.clone(),
                sessions: Vec::new(),
                create_calls: HashMap::new(),
                lookups: 0,
                refunds: 0,
                events: Vec::new(),
                webhooks_sent: Vec::new(),
                drop_webhooks: false,
                forge_signatures: false,
                stale_timestamps: false,
                duplicate_webhooks: false,
                extra_signature: None,
                report_amount: None,
                fail_next_create: 0,
                receive_then_fail_create: false,
                delay_next_create: None,
                fail_next_lookups: 0,
            }),
            client: http_client(),
        });
        let router = Router::new()
            .route(
                "/v1/checkout/sessions",
                post(|st: State<Shared>, h: HeaderMap, b: Bytes| detached(create(st, h, b))),
            )
            .route("/v1/checkout/sessions/search", get(search))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_api))
            .route("/v1/checkout/sessions/{id}/refund", post(refund_api))
            .route("/c/{id}", get(customer_page))
            .route(
                "/c/{id}/pay",
                post(|State(s): State<Shared>, Path(id): Path<String>| {
                    customer_settle(s, id, true)
                }),
            )
            .route(
                "/c/{id}/cancel",
                post(|State(s): State<Shared>, Path(id): Path<String>| {
                    customer_settle(s, id, false)
                }),
            )
            .fallback(fallback)
            .with_state(Arc::clone(&inner));
        let server = spawn_server(listener, router);
        WaveFake {
            base,
            cfg,
            inner,
            _server: server,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, WaveState> {
        lock(&self.inner.state)
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.st().webhook_url = Some(url.into());
    }

    pub fn clear_webhook_url(&self) {
        self.st().webhook_url = None;
    }

    // ---- persistent knobs ----

    /// No webhook is sent on a state change.
    pub fn drop_webhooks(&self, on: bool) {
        self.st().drop_webhooks = on;
    }

    /// Webhooks are signed with a wrong secret.
    pub fn forge_signatures(&self, on: bool) {
        self.st().forge_signatures = on;
    }

    /// Webhooks are signed with `t` = now − 600 s.
    pub fn stale_timestamps(&self, on: bool) {
        self.st().stale_timestamps = on;
    }

    /// Each state-change webhook is sent twice (same event, same id).
    pub fn duplicate_webhooks(&self, on: bool) {
        self.st().duplicate_webhooks = on;
    }

    /// A first `v1=` signed with this other secret (secret rotation), then
    /// the real one.
    pub fn extra_signature(&self, secret: Option<String>) {
        self.st().extra_signature = secret;
    }

    /// GET, search and webhook bodies show this amount instead.
    pub fn report_amount(&self, amount: Option<String>) {
        self.st().report_amount = amount;
    }

    // ---- one-shot knobs ----

    /// The next `n` valid creates answer 500, nothing stored.
    pub fn fail_next_create(&self, n: usize) {
        self.st().fail_next_create = n;
    }

    /// The next valid create is stored, but answered 500.
    pub fn receive_then_fail_next_create(&self) {
        self.st().receive_then_fail_create = true;
    }

    /// The next create sleeps this long first, then is handled normally.
    pub fn delay_next_create(&self, d: Duration) {
        self.st().delay_next_create = Some(d);
    }

    /// The next `n` authorized GETs (by id or search) answer 500.
    pub fn fail_next_lookups(&self, n: usize) {
        self.st().fail_next_lookups = n;
    }

    // ---- observations ----

    /// Every stored session as the API shows it (real amounts).
    pub fn sessions(&self) -> Vec<Value> {
        let st = self.st();
        st.sessions
            .iter()
            .map(|s| s.to_json(&self.base, None))
            .collect()
    }

    pub fn session(&self, id: &str) -> Option<Value> {
        self.st().find(id).map(|s| s.to_json(&self.base, None))
    }

    /// The latest session with this `client_reference`.
    pub fn session_by_reference(&self, client_reference: &str) -> Option<Value> {
        let st = self.st();
        st.sessions
            .iter()
            .rev()
            .find(|s| s.client_reference.as_deref() == Some(client_reference))
            .map(|s| s.to_json(&self.base, None))
    }

    /// Create POSTs whose body carried this `client_reference` (all,
    /// including refused and failed ones).
    pub fn create_calls(&self, client_reference: &str) -> usize {
        self.st()
            .create_calls
            .get(client_reference)
            .copied()
            .unwrap_or(0)
    }

    /// GETs of a session or of a search (all).
    pub fn lookups(&self) -> usize {
        self.st().lookups
    }

    /// Accepted refunds.
    pub fn refunds(&self) -> usize {
        self.st().refunds
    }

    pub fn is_refunded(&self, id: &str) -> bool {
        self.st().find(id).is_some_and(|s| s.refunded)
    }

    /// Webhook deliveries: (event id, type, HTTP status; 0: no answer).
    pub fn webhooks_sent(&self) -> Vec<(String, String, u16)> {
        self.st().webhooks_sent.clone()
    }

    /// Waits (up to `timeout`) until at least `n` webhooks were delivered.
    pub async fn wait_webhooks(&self, n: usize, timeout: Duration) -> Vec<(String, String, u16)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sent = self.webhooks_sent();
            if sent.len() >= n || tokio::time::Instant::now() >= deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every event made so far (sent or not), oldest first.
    pub fn events(&self) -> Vec<WaveEvent> {
        self.st().events.clone()
    }

    /// The `Wave-Signature` value of `body` at time `t`, with the real secret.
    pub fn signed(&self, body: &str, t: i64) -> String {
        signature_header(&self.cfg.webhook_secret, body, t)
    }

    // ---- actions ----

    /// The customer pays: complete/succeeded, then `checkout.session.completed`.
    pub async fn pay(&self, cos_id: &str) -> Result<Value, String> {
        settle(&self.inner, cos_id, true).await
    }

    /// The customer cancels: payment_status cancelled (checkout stays open),
    /// then `checkout.session.payment_failed`.
    pub async fn cancel(&self, cos_id: &str) -> Result<Value, String> {
        settle(&self.inner, cos_id, false).await
    }

    /// Expires an open session (no webhook). Err on an unknown or complete one.
    pub async fn expire(&self, cos_id: &str) -> Result<Value, String> {
        expire_session(&self.inner, cos_id).map_err(|(_, v)| v.to_string())?;
        Ok(self.session(cos_id).unwrap_or_default())
    }

    /// A new event of this type for the session as it is now, sent now
    /// (whatever `drop_webhooks`/`duplicate_webhooks`; signature knobs apply).
    /// Returns (event id, status; 0: not delivered).
    pub async fn send_event(&self, event_type: &str, cos_id: &str) -> (String, u16) {
        let event = {
            let mut st = self.st();
            self.inner
                .new_event(&mut st, event_type, cos_id)
                .unwrap_or_else(|| panic!("no checkout session {cos_id}"))
        };
        let status = deliver(&self.inner, &event, false).await.unwrap_or(0);
        (event.id, status)
    }

    /// Sends a past event again (same id, same body, signed now). Returns
    /// the status (0: not delivered).
    pub async fn resend(&self, event_id: &str) -> u16 {
        let event = self
            .st()
            .events
            .iter()
            .find(|e| e.id == event_id)
            .cloned()
            .unwrap_or_else(|| panic!("no Wave event {event_id}"));
        deliver(&self.inner, &event, false).await.unwrap_or(0)
    }
}

// ---------------------------------------------------------------- self-tests

#[cfg(test)]
mod tests {
    use super::super::Recorder;
    use super::*;

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn body(reference: &str) -> Value {
        json!({
            "amount": "1000",
            "currency": "XOF",
            "success_url": "https://shop.example/ok",
            "error_url": "https://shop.example/ko",
            "client_reference": reference,
        })
    }

    async fn create_session(fake: &WaveFake, body: &Value) -> (u16, Value) {
        let r = client()
            .post(fake.url("/v1/checkout/sessions"))
            .bearer_auth(&fake.cfg.api_key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(fake: &WaveFake, path: &str) -> (u16, Value) {
        let r = client()
            .get(fake.url(path))
            .bearer_auth(&fake.cfg.api_key)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Checks a `Wave-Signature` as a receiver would: any `v1` matching.
    fn verify(secret: &str, header: &str, body: &str) -> bool {
        let mut t = None;
        let mut sigs = Vec::new();
        for part in header.split(',') {
            match part.split_once('=') {
                Some(("t", v)) => t = Some(v.to_string()),
                Some(("v1", v)) => sigs.push(v.to_string()),
                _ => {}
            }
        }
        let Some(t) = t else { return false };
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        sigs.iter().any(|s| {
            hex::decode(s)
                .is_ok_and(|sig| hmac::verify(&key, format!("{t}{body}").as_bytes(), &sig).is_ok())
        })
    }

    fn timestamp(header: &str) -> i64 {
        header
            .split(',')
            .find_map(|p| p.strip_prefix("t="))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn fake_wave_auth_errors() {
        let fake = WaveFake::start(WaveConfig::default());
        let r = client()
            .post(fake.url("/v1/checkout/sessions"))
            .json(&body("o-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "missing-auth-header"
        );
        let r = client()
            .get(fake.url("/v1/checkout/sessions/cos-x"))
            .bearer_auth("wave_ci_prod_other")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid-auth");
        assert!(v["message"].is_string());
        assert!(fake.sessions().is_empty());
        assert_eq!(fake.create_calls("o-1"), 1);
    }

    #[tokio::test]
    async fn fake_wave_create_validate_get_search() {
        let fake = WaveFake::start(WaveConfig::default());
        let (status, s) = create_session(&fake, &body("order-42")).await;
        assert_eq!(status, 200);
        let id = s["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("cos-") && id.len() == 24, "{id}");
        assert!(
            id[4..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_eq!(s["amount"], "1000");
        assert_eq!(s["currency"], "XOF");
        assert_eq!(s["checkout_status"], "open");
        assert_eq!(s["payment_status"], "processing");
        assert_eq!(s["client_reference"], "order-42");
        assert_eq!(s["business_name"], "Fake Shop");
        assert_eq!(s["wave_launch_url"], fake.url(&format!("/c/{id}")));
        assert!(s["transaction_id"].is_null() && s["when_completed"].is_null());
        assert!(s["last_payment_error"].is_null());
        let created = s["when_created"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 20, "{created}");
        assert!(s["when_expires"].as_str().unwrap() > created);

        let (status, got) = get(&fake, &format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(got, s);
        let (status, v) = get(&fake, "/v1/checkout/sessions/cos-nope").await;
        assert_eq!((status, v["code"].as_str()), (404, Some("not-found")));
        let (status, v) = get(
            &fake,
            "/v1/checkout/sessions/search?client_reference=order-42",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(v["result"], json!([s]));
        let (_, v) = get(&fake, "/v1/checkout/sessions/search?client_reference=other").await;
        assert_eq!(v["result"], json!([]));
        assert_eq!(fake.lookups(), 4);
        assert_eq!(fake.session_by_reference("order-42").unwrap()["id"], id);

        let mut with_mobile = body("order-43");
        with_mobile["restrict_payer_mobile"] = json!("+2250700000001");
        let (status, v) = create_session(&fake, &with_mobile).await;
        assert_eq!(status, 200);
        assert_eq!(v["restrict_payer_mobile"], "+2250700000001");

        for (key, value) in [
            ("amount", json!("10.5")),
            ("amount", json!(1000)),
            ("amount", json!("0")),
            ("currency", json!("EUR")),
            ("success_url", json!("not a url")),
            ("client_reference", json!("x".repeat(256))),
            ("restrict_payer_mobile", json!("0700000001")),
        ] {
            let mut b = body("order-bad");
            b[key] = value.clone();
            let (status, v) = create_session(&fake, &b).await;
            assert_eq!(status, 400, "{key} = {value}");
            assert_eq!(v["code"], "request-validation-error");
            assert_eq!(v["details"][0]["loc"], json!(["body", key]), "{v}");
            assert!(v["details"][0]["msg"].is_string());
        }
        let mut missing = body("order-bad");
        missing.as_object_mut().unwrap().remove("error_url");
        assert_eq!(create_session(&fake, &missing).await.0, 400);
        assert_eq!(fake.sessions().len(), 2);
    }

    #[tokio::test]
    async fn fake_wave_pay_sends_a_verifiable_webhook() {
        let receiver = Recorder::start();
        let fake = WaveFake::start(WaveConfig {
            webhook_url: Some(receiver.url("/wave/webhook")),
            ..WaveConfig::default()
        });
        let (_, s) = create_session(&fake, &body("order-1")).await;
        let id = s["id"].as_str().unwrap().to_string();

        // The customer's page, then the Pay button (a form POST): 303.
        let page = client()
            .get(fake.url(&format!("/c/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("action=\"/c/{id}/pay\"")));
        assert!(html.contains(&format!("action=\"/c/{id}/cancel\"")));
        let r = client()
            .post(fake.url(&format!("/c/{id}/pay")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "https://shop.example/ok");

        let got = receiver.wait_for(1, Duration::from_secs(2)).await;
        assert_eq!(got.len(), 1);
        let hook = &got[0];
        assert_eq!(hook.method, "POST");
        assert_eq!(hook.path, "/wave/webhook");
        assert_eq!(hook.header("content-type"), Some("application/json"));
        let sig = hook.header("wave-signature").unwrap();
        assert!(
            verify("wave_ci_WHS_fakesecret0001", sig, &hook.body),
            "{sig}"
        );
        assert!((timestamp(sig) - unix_now()).abs() <= 5);
        assert_eq!(fake.signed(&hook.body, timestamp(sig)), sig);
        let event = hook.json();
        assert!(event["id"].as_str().unwrap().starts_with("EV_"));
        assert_eq!(event["type"], COMPLETED);
        assert_eq!(event["data"]["id"], id.as_str());
        assert_eq!(event["data"]["checkout_status"], "complete");
        assert_eq!(event["data"]["payment_status"], "succeeded");
        assert!(
            event["data"]["transaction_id"]
                .as_str()
                .unwrap()
                .starts_with("T_")
        );
        assert!(event["data"]["when_completed"].is_string());
        assert_eq!(
            fake.webhooks_sent(),
            vec![(
                event["id"].as_str().unwrap().to_string(),
                COMPLETED.to_string(),
                200
            )]
        );
        // Paying twice is refused.
        assert!(fake.pay(&id).await.is_err());
        let r = client()
            .post(fake.url(&format!("/c/{id}/pay")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);

        // Cancel: payment_failed, checkout still open, 303 to error_url.
        let (_, s2) = create_session(&fake, &body("order-2")).await;
        let id2 = s2["id"].as_str().unwrap().to_string();
        let r = client()
            .post(fake.url(&format!("/c/{id2}/cancel")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "https://shop.example/ko");
        let got = receiver.wait_for(2, Duration::from_secs(2)).await;
        let event = got[1].json();
        assert_eq!(event["type"], PAYMENT_FAILED);
        assert_eq!(event["data"]["payment_status"], "cancelled");
        assert_eq!(event["data"]["checkout_status"], "open");
        assert_eq!(
            event["data"]["last_payment_error"]["code"],
            "payment-failure"
        );
        assert!(verify(
            &fake.cfg.webhook_secret,
            got[1].header("wave-signature").unwrap(),
            &got[1].body
        ));

        // Programmatic pay: the webhook is delivered before it returns.
        let (_, s3) = create_session(&fake, &body("order-3")).await;
        let paid = fake.pay(s3["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(paid["payment_status"], "succeeded");
        assert_eq!(receiver.received().len(), 3);

        // Resend and send_event.
        let first = fake.webhooks_sent()[0].0.clone();
        assert_eq!(fake.resend(&first).await, 200);
        let again = receiver.received();
        assert_eq!(again[3].body, again[0].body);
        let (event_id, status) = fake.send_event(COMPLETED, &id).await;
        assert_eq!(status, 200);
        assert_ne!(event_id, first);
        assert_eq!(fake.events().len(), 4);
    }

    async fn new_paid(fake: &WaveFake, i: usize) {
        let (_, s) = create_session(fake, &body(&format!("k-{i}"))).await;
        fake.pay(s["id"].as_str().unwrap()).await.unwrap();
    }

    #[tokio::test]
    async fn fake_wave_webhook_knobs() {
        let receiver = Recorder::start();
        let fake = WaveFake::start(WaveConfig::default());
        fake.set_webhook_url(receiver.url("/hook"));
        let secret = fake.cfg.webhook_secret.clone();

        fake.forge_signatures(true);
        new_paid(&fake, 1).await;
        let got = receiver.received();
        let sig = got[0].header("wave-signature").unwrap();
        assert!(!verify(&secret, sig, &got[0].body), "forged");
        fake.forge_signatures(false);

        fake.stale_timestamps(true);
        new_paid(&fake, 2).await;
        let got = receiver.received();
        let sig = got[1].header("wave-signature").unwrap();
        assert!(verify(&secret, sig, &got[1].body), "stale but well signed");
        assert!(unix_now() - timestamp(sig) >= 599);
        fake.stale_timestamps(false);

        fake.extra_signature(Some("old-secret".into()));
        new_paid(&fake, 3).await;
        let got = receiver.received();
        let sig = got[2].header("wave-signature").unwrap();
        assert_eq!(sig.matches("v1=").count(), 2, "{sig}");
        assert!(verify(&secret, sig, &got[2].body));
        assert!(verify("old-secret", sig, &got[2].body));
        let first_v1 = sig.split(',').nth(1).unwrap().trim_start_matches("v1=");
        let t = timestamp(sig);
        assert_eq!(first_v1, sign("old-secret", &got[2].body, t));
        fake.extra_signature(None);

        fake.duplicate_webhooks(true);
        new_paid(&fake, 4).await;
        let got = receiver.received();
        assert_eq!(got.len(), 5);
        assert_eq!(got[3].body, got[4].body);
        let sent = fake.webhooks_sent();
        assert_eq!(sent[3].0, sent[4].0, "same event id");
        fake.duplicate_webhooks(false);

        fake.report_amount(Some("1".into()));
        new_paid(&fake, 5).await;
        let got = receiver.received();
        assert_eq!(got[5].json()["data"]["amount"], "1");
        let id = got[5].json()["data"]["id"].as_str().unwrap().to_string();
        let (_, v) = get(&fake, &format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(v["amount"], "1");
        assert_eq!(fake.session(&id).unwrap()["amount"], "1000");
        fake.report_amount(None);

        fake.drop_webhooks(true);
        receiver.set_status(500);
        new_paid(&fake, 6).await;
        assert_eq!(receiver.received().len(), 6, "dropped");
        let last_event = fake.events().last().unwrap().id.clone();
        assert_eq!(fake.resend(&last_event).await, 500, "resend ignores drop");
        assert_eq!(fake.webhooks_sent().last().unwrap().2, 500);
    }

    #[tokio::test]
    async fn fake_wave_faults_refund_expire() {
        let fake = WaveFake::start(WaveConfig::default());

        fake.fail_next_create(1);
        let (status, v) = create_session(&fake, &body("f-1")).await;
        assert_eq!(status, 500);
        assert!(v["code"].is_string());
        assert!(fake.session_by_reference("f-1").is_none());
        assert_eq!(create_session(&fake, &body("f-1")).await.0, 200);
        assert_eq!(fake.create_calls("f-1"), 2);

        fake.receive_then_fail_next_create();
        assert_eq!(create_session(&fake, &body("f-2")).await.0, 500);
        let stored = fake.session_by_reference("f-2").expect("stored anyway");
        let (_, found) = get(&fake, "/v1/checkout/sessions/search?client_reference=f-2").await;
        assert_eq!(found["result"][0]["id"], stored["id"]);

        fake.delay_next_create(Duration::from_millis(300));
        let started = std::time::Instant::now();
        assert_eq!(create_session(&fake, &body("f-3")).await.0, 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
        // A client that gives up first: the session is created all the same.
        fake.delay_next_create(Duration::from_millis(400));
        let impatient = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let err = impatient
            .post(fake.url("/v1/checkout/sessions"))
            .bearer_auth(&fake.cfg.api_key)
            .json(&body("f-4"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout());
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(fake.session_by_reference("f-4").is_some());
        assert_eq!(fake.create_calls("f-4"), 1);

        fake.fail_next_lookups(1);
        let path = format!("/v1/checkout/sessions/{}", stored["id"].as_str().unwrap());
        assert_eq!(get(&fake, &path).await.0, 500);
        assert_eq!(get(&fake, &path).await.0, 200);

        // Refund: only a succeeded payment, once.
        let id = stored["id"].as_str().unwrap().to_string();
        let refund = |id: String| {
            let fake = fake.clone();
            async move {
                let r = client()
                    .post(fake.url(&format!("/v1/checkout/sessions/{id}/refund")))
                    .bearer_auth(&fake.cfg.api_key)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (status, v) = refund(id.clone()).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("checkout-refund-failed"))
        );
        fake.pay(&id).await.unwrap();
        assert_eq!(refund(id.clone()).await, (200, json!({})));
        assert!(fake.is_refunded(&id));
        assert_eq!(fake.refunds(), 1);
        assert_eq!(refund(id.clone()).await.1["code"], "checkout-refund-failed");
        assert_eq!(refund("cos-unknown".into()).await.0, 404);
        assert_eq!(get(&fake, &path).await.1["payment_status"], "succeeded");

        // Expire: open → expired (then unpayable); complete → 409.
        let expire = |id: String| {
            let fake = fake.clone();
            async move {
                client()
                    .post(fake.url(&format!("/v1/checkout/sessions/{id}/expire")))
                    .bearer_auth(&fake.cfg.api_key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let open = fake.session_by_reference("f-3").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(expire(open.clone()).await, 200);
        let s = fake.session(&open).unwrap();
        assert_eq!(s["checkout_status"], "expired");
        assert!(s["when_completed"].is_string());
        assert!(fake.pay(&open).await.is_err());
        assert_eq!(expire(id.clone()).await, 409);
        assert!(fake.expire(&id).await.is_err());
        let f1 = fake.session_by_reference("f-1").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            fake.expire(&f1).await.unwrap()["checkout_status"],
            "expired"
        );
    }
}
