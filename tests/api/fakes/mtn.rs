//! A fake of the MTN MoMo Open API: Collection (token, request-to-pay and
//! its status) and Disbursement (token, refund and its status), with the
//! sandbox's payer-number outcome table, callbacks, and fault knobs.
//!
//! Check order of every product call (as the API gateway, then the wallet
//! platform): product configured, `Ocp-Apim-Subscription-Key` (401
//! `statusCode` body), `Authorization: Bearer` (401 `code` body),
//! `X-Target-Environment` (400), then the call's own checks.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{
    ServerGuard, bind, detached, header_pairs, header_str, http_client, lock, random_alnum,
    random_digits, spawn_server,
};

/// Product names, as in the URL paths and [`MtnFake::token_requests`].
pub const COLLECTION: &str = "collection";
pub const DISBURSEMENT: &str = "disbursement";

/// The sandbox's payer numbers (outcome by the last three digits).
pub const PAYER_SUCCESS: &str = "46733123460";
pub const PAYER_INTERNAL_ERROR: &str = "46733123450";
pub const PAYER_REJECTED: &str = "46733123451";
pub const PAYER_EXPIRED: &str = "46733123452";
pub const PAYER_ONGOING: &str = "46733123453";
pub const PAYER_DELAYED: &str = "46733123454";
pub const PAYER_NOT_FOUND: &str = "46733123455";
pub const PAYER_NOT_ALLOWED: &str = "46733123456";
pub const PAYER_NOT_ENOUGH_FUNDS: &str = "46733123457";
pub const PAYER_COULD_NOT_PERFORM: &str = "46733123463";

const SUB_KEY_DENIED: &str = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";

#[derive(Clone, Debug)]
pub struct MtnConfig {
    /// Collection's `Ocp-Apim-Subscription-Key`.
    pub subscription_key: String,
    /// Collection's API user (a UUID) and API key: `Authorization: Basic`.
    pub api_user: String,
    pub api_key: String,
    /// `X-Target-Environment`: `sandbox` (EUR) or a country's (XOF).
    pub target_environment: String,
    /// Disbursement's (subscription key, API user, API key); `None`: every
    /// `/disbursement/*` call answers 401.
    pub disbursement: Option<(String, String, String)>,
    pub token_ttl_secs: u64,
    /// How long a request-to-pay (other than the ongoing/delayed numbers)
    /// stays PENDING before its final outcome (and its callback).
    pub approve_after: Duration,
}

impl Default for MtnConfig {
    fn default() -> Self {
        MtnConfig {
            subscription_key: "mtn-sub-key-0001".into(),
            api_user: "5f8a6a4e-3b1c-4d2e-9f70-1a2b3c4d5e6f".into(),
            api_key: "mtn-api-key-secret-0001".into(),
            target_environment: "mtnivorycoast".into(),
            disbursement: Some((
                "mtn-disb-sub-0001".into(),
                "0c9d8e7f-6a5b-4c3d-8e1f-2a3b4c5d6e7f".into(),
                "mtn-disb-key-0001".into(),
            )),
            token_ttl_secs: 3600,
            approve_after: Duration::ZERO,
        }
    }
}

impl MtnConfig {
    /// The target environment's currency: `sandbox` → EUR, others → XOF.
    pub fn currency(&self) -> &'static str {
        if self.target_environment == "sandbox" {
            "EUR"
        } else {
            "XOF"
        }
    }

    /// (subscription key, API user, API key) of `product`.
    pub fn credentials(&self, product: &str) -> Option<(String, String, String)> {
        match product {
            COLLECTION => Some((
                self.subscription_key.clone(),
                self.api_user.clone(),
                self.api_key.clone(),
            )),
            DISBURSEMENT => self.disbursement.clone(),
            other => panic!("unknown MTN product {other:?}"),
        }
    }

    /// The `Authorization` value the token endpoint of `product` accepts.
    pub fn basic_auth(&self, product: &str) -> String {
        let (_, user, key) = self
            .credentials(product)
            .unwrap_or_else(|| panic!("{product} not configured"));
        format!("Basic {}", STANDARD.encode(format!("{user}:{key}")))
    }
}

/// A request-to-pay or a refund as the fake stored it.
#[derive(Clone, Debug)]
pub struct StoredTxn {
    /// Its `X-Reference-Id`.
    pub reference: String,
    /// The JSON body as sent.
    pub body: Value,
    /// Its `X-Callback-Url`, if any.
    pub callback_url: Option<String>,
    /// Every request header, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Its status now: PENDING, SUCCESSFUL or FAILED.
    pub status: String,
    pub reason: Option<String>,
    /// Refunds only: `referenceIdToRefund`.
    pub refund_of: Option<String>,
}

impl StoredTxn {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub type StoredRtp = StoredTxn;
pub type StoredRefund = StoredTxn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rtp,
    Refund,
}

#[derive(Clone, Debug)]
struct Txn {
    reference: String,
    body: Value,
    amount: String,
    currency: String,
    external_id: String,
    /// The payer (request-to-pay) or payee (refund) MSISDN.
    party: Option<String>,
    payer_message: Option<String>,
    payee_note: Option<String>,
    refund_of: Option<String>,
    callback_url: Option<String>,
    headers: Vec<(String, String)>,
    /// What it becomes at `final_at`.
    final_status: String,
    reason: Option<String>,
    /// `None`: PENDING forever.
    final_at: Option<Instant>,
    financial_id: String,
    called_back: bool,
}

impl Txn {
    fn is_final(&self, now: Instant) -> bool {
        self.final_at.is_some_and(|t| now >= t)
    }

    fn status(&self, now: Instant) -> (String, Option<String>) {
        if self.is_final(now) {
            let reason = if self.final_status == "SUCCESSFUL" {
                None
            } else {
                self.reason.clone()
            };
            (self.final_status.clone(), reason)
        } else {
            ("PENDING".into(), None)
        }
    }

    fn stored(&self, now: Instant) -> StoredTxn {
        let (status, reason) = self.status(now);
        StoredTxn {
            reference: self.reference.clone(),
            body: self.body.clone(),
            callback_url: self.callback_url.clone(),
            headers: self.headers.clone(),
            status,
            reason,
            refund_of: self.refund_of.clone(),
        }
    }

    /// The status object of a GET (and of a callback).
    fn status_json(&self, kind: Kind, now: Instant, report_amount: Option<&str>) -> Value {
        let (status, reason) = self.status(now);
        let amount = match (kind, report_amount) {
            (Kind::Rtp, Some(a)) => a.to_string(),
            _ => self.amount.clone(),
        };
        let mut o = Map::new();
        o.insert("amount".into(), json!(amount));
        o.insert("currency".into(), json!(self.currency));
        if status == "SUCCESSFUL" {
            o.insert("financialTransactionId".into(), json!(self.financial_id));
        }
        o.insert("externalId".into(), json!(self.external_id));
        if let Some(p) = &self.party {
            let key = if kind == Kind::Rtp { "payer" } else { "payee" };
            o.insert(key.into(), json!({"partyIdType": "MSISDN", "partyId": p}));
        }
        if let Some(m) = &self.payer_message {
            o.insert("payerMessage".into(), json!(m));
        }
        if let Some(n) = &self.payee_note {
            o.insert("payeeNote".into(), json!(n));
        }
        o.insert("status".into(), json!(status));
        if let Some(r) = reason {
            o.insert("reason".into(), json!(r));
        }
        Value::Object(o)
    }
}

struct MtnState {
    /// token → (product, expiry).
    tokens: HashMap<String, (&'static str, Instant)>,
    token_requests: HashMap<&'static str, usize>,
    rtps: Vec<Txn>,
    refunds: Vec<Txn>,
    rtp_calls: HashMap<String, usize>,
    refund_calls: HashMap<String, usize>,
    lookups: HashMap<String, usize>,
    callbacks_sent: Vec<(String, u16)>,
    // One-shot knobs.
    delay_next_rtp: Option<Duration>,
    fail_next_rtp: usize,
    receive_then_fail_rtp: bool,
    fail_next_refunds: usize,
    receive_then_fail_refund: bool,
    fail_next_lookups: usize,
    // Persistent knobs.
    drop_callbacks: bool,
    duplicate_callbacks: bool,
    report_amount: Option<String>,
    fail_tokens: bool,
    ongoing_for: Duration,
    refund_after: Duration,
    callback_method: reqwest::Method,
    callback_delay: Duration,
}

impl MtnState {
    fn txns(&self, kind: Kind) -> &Vec<Txn> {
        match kind {
            Kind::Rtp => &self.rtps,
            Kind::Refund => &self.refunds,
        }
    }

    fn txns_mut(&mut self, kind: Kind) -> &mut Vec<Txn> {
        match kind {
            Kind::Rtp => &mut self.rtps,
            Kind::Refund => &mut self.refunds,
        }
    }

    fn find(&self, kind: Kind, reference: &str) -> Option<&Txn> {
        self.txns(kind).iter().find(|t| t.reference == reference)
    }

    fn find_mut(&mut self, kind: Kind, reference: &str) -> Option<&mut Txn> {
        self.txns_mut(kind)
            .iter_mut()
            .find(|t| t.reference == reference)
    }

    /// The kind of a stored reference (request-to-pay first).
    fn kind_of(&self, reference: &str) -> Option<Kind> {
        if self.find(Kind::Rtp, reference).is_some() {
            Some(Kind::Rtp)
        } else if self.find(Kind::Refund, reference).is_some() {
            Some(Kind::Refund)
        } else {
            None
        }
    }
}

struct Inner {
    cfg: MtnConfig,
    state: Mutex<MtnState>,
    client: reqwest::Client,
    rt: tokio::runtime::Handle,
}

type Shared = Arc<Inner>;

/// An error answer: status and JSON body.
type Reject = (StatusCode, Value);

fn reply((status, body): Reject) -> Response {
    (status, Json(body)).into_response()
}

fn sub_key_denied() -> Reject {
    (
        StatusCode::UNAUTHORIZED,
        json!({"statusCode": 401, "message": SUB_KEY_DENIED}),
    )
}

fn bad_request(code: &str, message: &str) -> Reject {
    (
        StatusCode::BAD_REQUEST,
        json!({"code": code, "message": message}),
    )
}

fn internal_error() -> Reject {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"code": "INTERNAL_PROCESSING_ERROR", "message": "An internal error occurred while processing."}),
    )
}

fn not_found() -> Reject {
    (
        StatusCode::NOT_FOUND,
        json!({"code": "RESOURCE_NOT_FOUND", "message": "Requested resource was not found."}),
    )
}

/// 8-4-4-4-12 hex digits (either case), version nibble 4, variant 8–b.
pub fn is_uuid_v4(s: &str) -> bool {
    is_uuid(s)
        && s.as_bytes()[14] == b'4'
        && matches!(s.as_bytes()[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

/// 8-4-4-4-12 hex digits, any version.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Digits, with up to two decimals when the currency has them (EUR); > 0.
fn valid_amount(amount: &str, currency: &str) -> bool {
    let (int, frac) = match amount.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (amount, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let frac_ok = match frac {
        None => true,
        Some(f) => currency == "EUR" && digits(f) && f.len() <= 2,
    };
    digits(int) && frac_ok && amount_cents(amount) > 0
}

/// An amount in hundredths (for comparisons).
fn amount_cents(amount: &str) -> i128 {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let int: i128 = int.parse().unwrap_or(0);
    let frac: i128 = format!("{frac:0<2}")[..2].parse().unwrap_or(0);
    int * 100 + frac
}

/// `payerMessage` / `payeeNote`: optional, a string of at most 160
/// characters without an apostrophe.
fn note(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Reject> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 160 && !s.contains('\'') => {
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) => Err(bad_request(
            "INVALID_PARAMETER",
            &format!("{key}: at most 160 characters, no apostrophe."),
        )),
        Some(_) => Err(bad_request(
            "INVALID_PARAMETER",
            &format!("{key} must be a string."),
        )),
    }
}

fn string_field(body: &Map<String, Value>, key: &str) -> Result<String, Reject> {
    match body.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(bad_request(
            "INVALID_PARAMETER",
            &format!("{key} is required and must be a string."),
        )),
    }
}

struct Parsed {
    body: Value,
    amount: String,
    currency: String,
    external_id: String,
    party: Option<String>,
    payer_message: Option<String>,
    payee_note: Option<String>,
    refund_of: Option<String>,
}

fn parse_body(kind: Kind, raw: &[u8], env_currency: &str) -> Result<Parsed, Reject> {
    let body: Value = serde_json::from_slice(raw)
        .map_err(|_| bad_request("INVALID_PARAMETER", "The body is not valid JSON."))?;
    let Some(o) = body.as_object() else {
        return Err(bad_request(
            "INVALID_PARAMETER",
            "The body must be an object.",
        ));
    };
    let currency = string_field(o, "currency")?;
    if kind == Kind::Rtp && currency != env_currency {
        return Err(bad_request(
            "INVALID_CURRENCY",
            "Currency not supported in the target environment.",
        ));
    }
    let amount = string_field(o, "amount")?;
    if !valid_amount(&amount, env_currency) {
        return Err(bad_request("INVALID_PARAMETER", "Invalid amount."));
    }
    let external_id = string_field(o, "externalId")?;
    let payer_message = note(o, "payerMessage")?;
    let payee_note = note(o, "payeeNote")?;
    let (party, refund_of) = match kind {
        Kind::Rtp => {
            let payer = o.get("payer").and_then(Value::as_object);
            let id_type = payer
                .and_then(|p| p.get("partyIdType"))
                .and_then(Value::as_str);
            let id = payer.and_then(|p| p.get("partyId")).and_then(Value::as_str);
            match (id_type, id) {
                (Some("MSISDN"), Some(id))
                    if !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit()) =>
                {
                    (Some(id.to_string()), None)
                }
                _ => {
                    return Err(bad_request(
                        "INVALID_PARAMETER",
                        "payer must be {partyIdType: MSISDN, partyId: digits}.",
                    ));
                }
            }
        }
        Kind::Refund => {
            let r = string_field(o, "referenceIdToRefund")?;
            if !is_uuid(&r) {
                return Err(bad_request(
                    "INVALID_PARAMETER",
                    "referenceIdToRefund must be a UUID.",
                ));
            }
            (None, Some(r))
        }
    };
    Ok(Parsed {
        body: body.clone(),
        amount,
        currency,
        external_id,
        party,
        payer_message,
        payee_note,
        refund_of,
    })
}

enum Plan {
    /// Final status and reason, after the configured delay.
    Final(&'static str, Option<&'static str>),
    /// PENDING for `ongoing_for`, then SUCCESSFUL.
    Ongoing,
    /// PENDING forever.
    Delayed,
}

/// The sandbox table, by the payer number's last three digits.
fn plan_for(party: &str) -> Plan {
    let failed = |r| Plan::Final("FAILED", Some(r));
    match party.get(party.len().saturating_sub(3)..).unwrap_or("") {
        "450" => failed("INTERNAL_PROCESSING_ERROR"),
        "451" => failed("APPROVAL_REJECTED"),
        "452" => failed("EXPIRED"),
        "453" => Plan::Ongoing,
        "454" => Plan::Delayed,
        "455" => failed("PAYER_NOT_FOUND"),
        "456" => failed("NOT_ALLOWED"),
        "457" => failed("NOT_ENOUGH_FUNDS"),
        "463" => failed("COULD_NOT_PERFORM_TRANSACTION"),
        _ => Plan::Final("SUCCESSFUL", None),
    }
}

impl Inner {
    /// Product configured, subscription key, bearer token, target environment.
    fn check_access(&self, product: &'static str, headers: &HeaderMap) -> Result<(), Reject> {
        let Some((sub, _, _)) = self.cfg.credentials(product) else {
            return Err(sub_key_denied());
        };
        if header_str(headers, "ocp-apim-subscription-key") != Some(sub.as_str()) {
            return Err(sub_key_denied());
        }
        let token = header_str(headers, "authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let valid = token.is_some_and(|t| {
            let st = lock(&self.state);
            st.tokens
                .get(t)
                .is_some_and(|(p, exp)| *p == product && Instant::now() < *exp)
        });
        if !valid {
            return Err((
                StatusCode::UNAUTHORIZED,
                json!({"code": "INVALID_CREDENTIALS", "message": "Access denied due to invalid or expired access token."}),
            ));
        }
        if header_str(headers, "x-target-environment") != Some(self.cfg.target_environment.as_str())
        {
            return Err(bad_request(
                "NOT_ALLOWED_TARGET_ENVIRONMENT",
                "Access to target environment is forbidden.",
            ));
        }
        Ok(())
    }

    fn issue_token(&self, product: &'static str) -> String {
        let token = format!("eyJ0eXAiOiJKV1Qi.{}", random_alnum(48));
        let exp = Instant::now() + Duration::from_secs(self.cfg.token_ttl_secs);
        lock(&self.state)
            .tokens
            .insert(token.clone(), (product, exp));
        token
    }
}

fn product_name(product: &str) -> &'static str {
    match product {
        COLLECTION => COLLECTION,
        DISBURSEMENT => DISBURSEMENT,
        other => panic!("unknown MTN product {other:?}"),
    }
}

async fn token(inner: Shared, product: &'static str, headers: HeaderMap) -> Response {
    let fail = {
        let mut st = lock(&inner.state);
        *st.token_requests.entry(product).or_default() += 1;
        st.fail_tokens
    };
    let Some((sub, user, key)) = inner.cfg.credentials(product) else {
        return reply(sub_key_denied());
    };
    if header_str(&headers, "ocp-apim-subscription-key") != Some(sub.as_str()) {
        return reply(sub_key_denied());
    }
    if fail {
        return reply(internal_error());
    }
    let given = header_str(&headers, "authorization")
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| STANDARD.decode(b.trim()).ok());
    if given.as_deref() != Some(format!("{user}:{key}").as_bytes()) {
        return reply((StatusCode::UNAUTHORIZED, json!({"error": "login_failed"})));
    }
    let token = inner.issue_token(product);
    Json(json!({
        "access_token": token,
        "token_type": "access_token",
        "expires_in": inner.cfg.token_ttl_secs,
    }))
    .into_response()
}

async fn create(inner: Shared, kind: Kind, headers: HeaderMap, raw: Bytes) -> Response {
    let product = if kind == Kind::Rtp {
        COLLECTION
    } else {
        DISBURSEMENT
    };
    let reference = header_str(&headers, "x-reference-id").map(str::to_string);
    let delay = {
        let mut st = lock(&inner.state);
        if let Some(r) = &reference {
            let calls = if kind == Kind::Rtp {
                &mut st.rtp_calls
            } else {
                &mut st.refund_calls
            };
            *calls.entry(r.clone()).or_default() += 1;
        }
        if kind == Kind::Rtp {
            st.delay_next_rtp.take()
        } else {
            None
        }
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if let Err(e) = inner.check_access(product, &headers) {
        return reply(e);
    }
    let Some(reference) = reference.filter(|r| is_uuid_v4(r)) else {
        return reply(bad_request(
            "INVALID_REFERENCE_ID",
            "X-Reference-Id must be a UUID version 4.",
        ));
    };
    let env_currency = inner.cfg.currency();
    let parsed = match parse_body(kind, &raw, env_currency) {
        Ok(p) => p,
        Err(e) => return reply(e),
    };
    let callback_url = header_str(&headers, "x-callback-url").map(str::to_string);
    let now = Instant::now();
    let (final_at, answer_500) = {
        let mut st = lock(&inner.state);
        let fail_now = match kind {
            Kind::Rtp if st.fail_next_rtp > 0 => {
                st.fail_next_rtp -= 1;
                true
            }
            Kind::Refund if st.fail_next_refunds > 0 => {
                st.fail_next_refunds -= 1;
                true
            }
            _ => false,
        };
        if fail_now {
            return reply(internal_error());
        }
        if st.find(kind, &reference).is_some() {
            return reply((
                StatusCode::CONFLICT,
                json!({"code": "RESOURCE_ALREADY_EXIST", "message": "Duplicated reference id. Creation of resource failed."}),
            ));
        }
        let answer_500 = match kind {
            Kind::Rtp => std::mem::take(&mut st.receive_then_fail_rtp),
            Kind::Refund => std::mem::take(&mut st.receive_then_fail_refund),
        };
        let (status, reason, final_at, party) = match kind {
            Kind::Rtp => {
                let party = parsed.party.clone().unwrap_or_default();
                match plan_for(&party) {
                    Plan::Final(s, r) => (
                        s.to_string(),
                        r.map(str::to_string),
                        Some(now + inner.cfg.approve_after),
                        Some(party),
                    ),
                    Plan::Ongoing => (
                        "SUCCESSFUL".to_string(),
                        None,
                        Some(now + st.ongoing_for),
                        Some(party),
                    ),
                    Plan::Delayed => ("PENDING".to_string(), None, None, Some(party)),
                }
            }
            Kind::Refund => {
                let of = parsed.refund_of.clone().unwrap_or_default();
                let (status, reason, payee) = refund_outcome(&st, &of, &parsed, now);
                (
                    status.to_string(),
                    reason.map(str::to_string),
                    Some(now + st.refund_after),
                    payee,
                )
            }
        };
        let txn = Txn {
            reference: reference.clone(),
            body: parsed.body,
            amount: parsed.amount,
            currency: parsed.currency,
            external_id: parsed.external_id,
            party,
            payer_message: parsed.payer_message,
            payee_note: parsed.payee_note,
            refund_of: parsed.refund_of,
            callback_url,
            headers: header_pairs(&headers),
            final_status: status,
            reason,
            final_at,
            financial_id: random_digits(10),
            called_back: false,
        };
        st.txns_mut(kind).push(txn);
        (final_at, answer_500)
    };
    if let Some(at) = final_at {
        schedule_callback(&inner, kind, reference, at);
    }
    if answer_500 {
        reply(internal_error())
    } else {
        StatusCode::ACCEPTED.into_response()
    }
}

/// A refund's outcome, decided when it is received: (status, reason, payee).
fn refund_outcome(
    st: &MtnState,
    of: &str,
    parsed: &Parsed,
    now: Instant,
) -> (&'static str, Option<&'static str>, Option<String>) {
    let Some(original) = st.find(Kind::Rtp, of) else {
        return ("FAILED", Some("PAYEE_NOT_FOUND"), None);
    };
    let payee = original.party.clone();
    if original.status(now).0 != "SUCCESSFUL" {
        return ("FAILED", Some("NOT_ALLOWED"), payee);
    }
    if parsed.currency != original.currency {
        return ("FAILED", Some("INVALID_CURRENCY"), payee);
    }
    let refunded: i128 = st
        .refunds
        .iter()
        .filter(|r| r.refund_of.as_deref() == Some(of) && r.final_status == "SUCCESSFUL")
        .map(|r| amount_cents(&r.amount))
        .sum();
    if refunded + amount_cents(&parsed.amount) > amount_cents(&original.amount) {
        return ("FAILED", Some("NOT_ENOUGH_FUNDS"), payee);
    }
    ("SUCCESSFUL", None, payee)
}

async fn lookup(inner: Shared, kind: Kind, reference: String, headers: HeaderMap) -> Response {
    let product = if kind == Kind::Rtp {
        COLLECTION
    } else {
        DISBURSEMENT
    };
    *lock(&inner.state)
        .lookups
        .entry(reference.clone())
        .or_default() += 1;
    if let Err(e) = inner.check_access(product, &headers) {
        return reply(e);
    }
    let mut st = lock(&inner.state);
    if st.fail_next_lookups > 0 {
        st.fail_next_lookups -= 1;
        return reply(internal_error());
    }
    let report = st.report_amount.clone();
    match st.find(kind, &reference) {
        Some(t) => Json(t.status_json(kind, Instant::now(), report.as_deref())).into_response(),
        None => reply(not_found()),
    }
}

async fn fallback(uri: Uri, State(inner): State<Shared>) -> Response {
    if uri.path().starts_with("/disbursement/") && inner.cfg.disbursement.is_none() {
        return reply(sub_key_denied());
    }
    reply((
        StatusCode::NOT_FOUND,
        json!({"statusCode": 404, "message": "Resource not found"}),
    ))
}

fn schedule_callback(inner: &Shared, kind: Kind, reference: String, at: Instant) {
    let task_inner = Arc::clone(inner);
    inner.rt.spawn(async move {
        let delay = lock(&task_inner.state).callback_delay;
        tokio::time::sleep_until(at + delay).await;
        fire_callback(&task_inner, kind, &reference, false).await;
    });
}

/// Sends the callback of a final transaction once (twice with
/// `duplicate_callbacks`); `forced`: again, whatever was sent before and
/// whatever the knobs. Returns the status codes (0: no HTTP answer).
async fn fire_callback(inner: &Shared, kind: Kind, reference: &str, forced: bool) -> Vec<u16> {
    let (url, body, method, times) = {
        let mut st = lock(&inner.state);
        let now = Instant::now();
        let report = st.report_amount.clone();
        let drop = st.drop_callbacks;
        let times = if st.duplicate_callbacks && !forced {
            2
        } else {
            1
        };
        let method = st.callback_method.clone();
        let Some(t) = st.find_mut(kind, reference) else {
            return Vec::new();
        };
        if !forced {
            if t.called_back || !t.is_final(now) {
                return Vec::new();
            }
            t.called_back = true;
            if drop {
                return Vec::new();
            }
        }
        let Some(url) = t.callback_url.clone() else {
            return Vec::new();
        };
        (
            url,
            t.status_json(kind, now, report.as_deref()),
            method,
            times,
        )
    };
    let mut codes = Vec::new();
    for _ in 0..times {
        let code = match inner
            .client
            .request(method.clone(), &url)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        lock(&inner.state)
            .callbacks_sent
            .push((reference.to_string(), code));
        codes.push(code);
    }
    codes
}

/// The fake MTN MoMo server. Clones share the server and its state.
#[derive(Clone)]
pub struct MtnFake {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    pub cfg: MtnConfig,
    inner: Shared,
    _server: Arc<ServerGuard>,
}

impl MtnFake {
    /// Starts the server on the current tokio runtime.
    pub fn start(cfg: MtnConfig) -> MtnFake {
        let inner = Arc::new(Inner {
            cfg: cfg.clone(),
            state: Mutex::new(MtnState {
                tokens: HashMap::new(),
                token_requests: HashMap::new(),
                rtps: Vec::new(),
                refunds: Vec::new(),
                rtp_calls: HashMap::new(),
                refund_calls: HashMap::new(),
                lookups: HashMap::new(),
                callbacks_sent: Vec::new(),
                delay_next_rtp: None,
                fail_next_rtp: 0,
                receive_then_fail_rtp: false,
                fail_next_refunds: 0,
                receive_then_fail_refund: false,
                fail_next_lookups: 0,
                drop_callbacks: false,
                duplicate_callbacks: false,
                report_amount: None,
                fail_tokens: false,
                ongoing_for: Duration::from_secs(2),
                refund_after: Duration::ZERO,
                callback_method: reqwest::Method::PUT,
                callback_delay: Duration::ZERO,
            }),
            client: http_client(),
            rt: tokio::runtime::Handle::current(),
        });
        let router = Router::new()
            .route(
                "/collection/token/",
                post(|State(s): State<Shared>, h: HeaderMap| token(s, COLLECTION, h)),
            )
            .route(
                "/collection/token",
                post(|State(s): State<Shared>, h: HeaderMap| token(s, COLLECTION, h)),
            )
            .route(
                "/disbursement/token/",
                post(|State(s): State<Shared>, h: HeaderMap| token(s, DISBURSEMENT, h)),
            )
            .route(
                "/disbursement/token",
                post(|State(s): State<Shared>, h: HeaderMap| token(s, DISBURSEMENT, h)),
            )
            .route(
                "/collection/v1_0/requesttopay",
                post(|State(s): State<Shared>, h: HeaderMap, b: Bytes| {
                    detached(create(s, Kind::Rtp, h, b))
                }),
            )
            .route(
                "/collection/v1_0/requesttopay/{reference}",
                get(
                    |State(s): State<Shared>, Path(r): Path<String>, h: HeaderMap| {
                        lookup(s, Kind::Rtp, r, h)
                    },
                ),
            )
            .route(
                "/disbursement/v1_0/refund",
                post(|State(s): State<Shared>, h: HeaderMap, b: Bytes| {
                    detached(create(s, Kind::Refund, h, b))
                }),
            )
            .route(
                "/disbursement/v1_0/refund/{reference}",
                get(
                    |State(s): State<Shared>, Path(r): Path<String>, h: HeaderMap| {
                        lookup(s, Kind::Refund, r, h)
                    },
                ),
            )
            .fallback(fallback)
            .with_state(Arc::clone(&inner));
        let (listener, base) = bind();
        let server = spawn_server(listener, router);
        MtnFake {
            base,
            cfg,
            inner,
            _server: server,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, MtnState> {
        lock(&self.inner.state)
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The target environment's currency (EUR for `sandbox`, else XOF).
    pub fn currency(&self) -> &'static str {
        self.cfg.currency()
    }

    /// The `Authorization: Basic` value of `product`'s token endpoint.
    pub fn basic_auth(&self, product: &str) -> String {
        self.cfg.basic_auth(product)
    }

    /// A valid token for `product`, issued without an HTTP call (not counted
    /// in `token_requests`).
    pub fn mint_token(&self, product: &str) -> String {
        self.inner.issue_token(product_name(product))
    }

    // ---- one-shot knobs ----

    /// The next request-to-pay POST sleeps this long first, then is handled
    /// normally.
    pub fn delay_next_request_to_pay(&self, d: Duration) {
        self.st().delay_next_rtp = Some(d);
    }

    /// The next `n` request-to-pay POSTs that pass the checks answer 500 and
    /// are not stored.
    pub fn fail_next_request_to_pay(&self, n: usize) {
        self.st().fail_next_rtp = n;
    }

    /// The next request-to-pay is stored (and proceeds to its outcome and
    /// callback) but answered 500.
    pub fn receive_then_fail_next_request_to_pay(&self) {
        self.st().receive_then_fail_rtp = true;
    }

    /// The next `n` refund POSTs that pass the checks answer 500, not stored.
    pub fn fail_next_refunds(&self, n: usize) {
        self.st().fail_next_refunds = n;
    }

    /// The next refund is stored but answered 500.
    pub fn receive_then_fail_next_refund(&self) {
        self.st().receive_then_fail_refund = true;
    }

    /// The next `n` status GETs (request-to-pay or refund) that pass the
    /// checks answer 500.
    pub fn fail_next_lookups(&self, n: usize) {
        self.st().fail_next_lookups = n;
    }

    /// Every token issued so far becomes invalid (401 on use).
    pub fn expire_tokens(&self) {
        self.st().tokens.clear();
    }

    // ---- persistent knobs ----

    /// No callback is sent (a transaction that becomes final meanwhile
    /// never gets one, even after turning this off).
    pub fn drop_callbacks(&self, on: bool) {
        self.st().drop_callbacks = on;
    }

    /// Each callback is sent twice.
    pub fn duplicate_callbacks(&self, on: bool) {
        self.st().duplicate_callbacks = on;
    }

    /// Request-to-pay GETs and callbacks show this amount instead.
    pub fn report_amount(&self, amount: Option<String>) {
        self.st().report_amount = amount;
    }

    /// The token endpoints answer 500 (after the subscription key check).
    pub fn fail_tokens(&self, on: bool) {
        self.st().fail_tokens = on;
    }

    /// How long a `…453` payer stays PENDING before SUCCESSFUL (default 2 s),
    /// for requests received from now on.
    pub fn set_ongoing_for(&self, d: Duration) {
        self.st().ongoing_for = d;
    }

    /// How long a refund stays PENDING (default 0), from now on.
    pub fn set_refund_after(&self, d: Duration) {
        self.st().refund_after = d;
    }

    /// The callbacks' HTTP method (PUT by default, as MTN; POST possible).
    pub fn set_callback_method(&self, method: reqwest::Method) {
        self.st().callback_method = method;
    }

    /// Extra wait between a transaction becoming final and its callback.
    pub fn set_callback_delay(&self, d: Duration) {
        self.st().callback_delay = d;
    }

    // ---- observations ----

    /// POSTs to `product`'s token endpoint (all, including refused ones).
    pub fn token_requests(&self, product: &str) -> usize {
        self.st()
            .token_requests
            .get(product_name(product))
            .copied()
            .unwrap_or(0)
    }

    /// Request-to-pay POSTs that carried this `X-Reference-Id` (all,
    /// including 4xx and 500 ones).
    pub fn request_to_pay_calls(&self, reference: &str) -> usize {
        self.st().rtp_calls.get(reference).copied().unwrap_or(0)
    }

    /// Refund POSTs that carried this `X-Reference-Id` (all).
    pub fn refund_calls(&self, reference: &str) -> usize {
        self.st().refund_calls.get(reference).copied().unwrap_or(0)
    }

    /// Status GETs of this reference (request-to-pay or refund, all).
    pub fn lookups(&self, reference: &str) -> usize {
        self.st().lookups.get(reference).copied().unwrap_or(0)
    }

    /// Stored requests-to-pay, in arrival order, with their status now.
    pub fn requests(&self) -> Vec<StoredRtp> {
        let now = Instant::now();
        self.st().rtps.iter().map(|t| t.stored(now)).collect()
    }

    pub fn request(&self, reference: &str) -> Option<StoredRtp> {
        self.st()
            .find(Kind::Rtp, reference)
            .map(|t| t.stored(Instant::now()))
    }

    /// Stored refunds, in arrival order, with their status now.
    pub fn refunds(&self) -> Vec<StoredRefund> {
        let now = Instant::now();
        self.st().refunds.iter().map(|t| t.stored(now)).collect()
    }

    /// Callback deliveries: (reference, HTTP status; 0 when none came back).
    pub fn callbacks_sent(&self) -> Vec<(String, u16)> {
        self.st().callbacks_sent.clone()
    }

    /// Waits (up to `timeout`) until at least `n` callbacks were delivered.
    pub async fn wait_callbacks(&self, n: usize, timeout: Duration) -> Vec<(String, u16)> {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.callbacks_sent();
            if sent.len() >= n || Instant::now() >= deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The status object of a stored request-to-pay or refund, as a GET or
    /// a callback shows it now. Panics on an unknown reference.
    pub fn callback_body(&self, reference: &str) -> Value {
        let st = self.st();
        let kind = st
            .kind_of(reference)
            .unwrap_or_else(|| panic!("no MTN transaction {reference}"));
        let report = st.report_amount.clone();
        st.find(kind, reference)
            .map(|t| t.status_json(kind, Instant::now(), report.as_deref()))
            .unwrap_or_default()
    }

    /// Makes a stored request-to-pay or refund final now with this status
    /// (`SUCCESSFUL`, `FAILED`, …; `PENDING`: pending forever) and reason.
    /// One that was not called back yet then gets its callback.
    pub fn set_final(&self, reference: &str, status: &str, reason: Option<&str>) {
        let now = Instant::now();
        let (kind, callback) = {
            let mut st = self.st();
            let kind = st
                .kind_of(reference)
                .unwrap_or_else(|| panic!("no MTN transaction {reference}"));
            let t = st.find_mut(kind, reference).expect("found above");
            if status == "PENDING" {
                t.final_at = None;
                (kind, false)
            } else {
                t.final_status = status.to_string();
                t.reason = reason.map(str::to_string);
                t.final_at = Some(now);
                (kind, !t.called_back)
            }
        };
        if callback {
            schedule_callback(&self.inner, kind, reference.to_string(), now);
        }
    }

    /// Sends the callback of a stored transaction again, now (ignoring
    /// `drop_callbacks`/`duplicate_callbacks`), with its current status.
    pub async fn resend_callback(&self, reference: &str) -> Vec<u16> {
        let kind = self
            .st()
            .kind_of(reference)
            .unwrap_or_else(|| panic!("no MTN transaction {reference}"));
        fire_callback(&self.inner, kind, reference, true).await
    }
}

// ---------------------------------------------------------------- self-tests

#[cfg(test)]
mod tests {
    use super::super::{Recorder, uuid_v4};
    use super::*;

    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    async fn token_for(fake: &MtnFake, product: &str) -> String {
        let (sub, _, _) = fake.cfg.credentials(product).unwrap();
        let r = client()
            .post(fake.url(&format!("/{product}/token/")))
            .header("Ocp-Apim-Subscription-Key", sub)
            .header("Authorization", fake.basic_auth(product))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    fn rtp_body(fake: &MtnFake, amount: &str, payer: &str) -> Value {
        json!({
            "amount": amount,
            "currency": fake.currency(),
            "externalId": "order-1",
            "payer": {"partyIdType": "MSISDN", "partyId": payer},
            "payerMessage": "Paiement commande 1",
            "payeeNote": "Commande 1",
        })
    }

    async fn post_rtp(
        fake: &MtnFake,
        token: &str,
        reference: &str,
        body: &Value,
        callback: Option<&str>,
    ) -> reqwest::Response {
        let mut req = client()
            .post(fake.url("/collection/v1_0/requesttopay"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Reference-Id", reference)
            .header("X-Target-Environment", &fake.cfg.target_environment)
            .json(body);
        if let Some(cb) = callback {
            req = req.header("X-Callback-Url", cb);
        }
        req.send().await.unwrap()
    }

    async fn get_status(fake: &MtnFake, token: &str, path: &str) -> (u16, Value) {
        let product = if path.starts_with("/collection") {
            COLLECTION
        } else {
            DISBURSEMENT
        };
        let (sub, _, _) = fake.cfg.credentials(product).unwrap();
        let r = client()
            .get(fake.url(path))
            .header("Ocp-Apim-Subscription-Key", sub)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Target-Environment", &fake.cfg.target_environment)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn rtp_status(fake: &MtnFake, token: &str, reference: &str) -> (u16, Value) {
        get_status(
            fake,
            token,
            &format!("/collection/v1_0/requesttopay/{reference}"),
        )
        .await
    }

    #[tokio::test]
    async fn fake_mtn_token_endpoint_checks_key_and_basic_auth() {
        let fake = MtnFake::start(MtnConfig::default());
        let c = client();
        let r = c
            .post(fake.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", "wrong")
            .header("Authorization", fake.basic_auth(COLLECTION))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["statusCode"], 401);
        assert_eq!(v["message"], SUB_KEY_DENIED);

        let r = c
            .post(fake.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header(
                "Authorization",
                format!("Basic {}", STANDARD.encode("someone:wrong")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "login_failed"})
        );

        // The disbursement credentials do not open collection.
        let r = c
            .post(fake.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", fake.basic_auth(DISBURSEMENT))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);

        let r = c
            .post(fake.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", fake.basic_auth(COLLECTION))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert!(v["access_token"].as_str().unwrap().len() > 20);
        assert_eq!(v["token_type"], "access_token");
        assert_eq!(v["expires_in"], 3600);
        assert_eq!(fake.token_requests(COLLECTION), 4);
        assert_eq!(fake.token_requests(DISBURSEMENT), 0);

        // Tokens are per product.
        let collection_token = v["access_token"].as_str().unwrap().to_string();
        let r = client()
            .post(fake.url("/disbursement/v1_0/refund"))
            .header("Ocp-Apim-Subscription-Key", "mtn-disb-sub-0001")
            .header("Authorization", format!("Bearer {collection_token}"))
            .header("X-Reference-Id", uuid_v4())
            .header("X-Target-Environment", "mtnivorycoast")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.json::<Value>().await.unwrap()["code"].is_string());
        let disb = token_for(&fake, DISBURSEMENT).await;
        assert_eq!(fake.token_requests(DISBURSEMENT), 1);
        assert_ne!(disb, collection_token);

        // fail_tokens: 500 until turned off.
        fake.fail_tokens(true);
        let r = c
            .post(fake.url("/collection/token/"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", fake.basic_auth(COLLECTION))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
        fake.fail_tokens(false);
        token_for(&fake, COLLECTION).await;
    }

    #[tokio::test]
    async fn fake_mtn_request_to_pay_202_409_400_401_404() {
        let fake = MtnFake::start(MtnConfig::default());
        let token = token_for(&fake, COLLECTION).await;
        let reference = uuid_v4();
        let body = rtp_body(&fake, "1000", PAYER_SUCCESS);

        let r = post_rtp(&fake, &token, &reference, &body, None).await;
        assert_eq!(r.status(), 202);
        assert_eq!(r.bytes().await.unwrap().len(), 0);

        let r = post_rtp(&fake, &token, &reference, &body, None).await;
        assert_eq!(r.status(), 409);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "RESOURCE_ALREADY_EXIST");
        assert_eq!(
            v["message"],
            "Duplicated reference id. Creation of resource failed."
        );
        assert_eq!(fake.request_to_pay_calls(&reference), 2);
        assert_eq!(fake.requests().len(), 1);

        let (status, v) = rtp_status(&fake, &token, &reference).await;
        assert_eq!(status, 200);
        assert_eq!(v["status"], "SUCCESSFUL");
        assert_eq!(v["amount"], "1000");
        assert_eq!(v["currency"], "XOF");
        assert_eq!(v["externalId"], "order-1");
        assert_eq!(v["payer"]["partyId"], PAYER_SUCCESS);
        assert_eq!(v["payerMessage"], "Paiement commande 1");
        assert!(
            v["financialTransactionId"]
                .as_str()
                .unwrap()
                .bytes()
                .all(|c| c.is_ascii_digit())
        );
        assert!(v.get("reason").is_none());
        assert_eq!(fake.lookups(&reference), 1);

        let (status, v) = rtp_status(&fake, &token, &uuid_v4()).await;
        assert_eq!(status, 404);
        assert_eq!(v["code"], "RESOURCE_NOT_FOUND");

        // The 400s.
        let bad_ref = post_rtp(&fake, &token, "not-a-uuid", &body, None).await;
        assert_eq!(bad_ref.status(), 400);
        assert!(bad_ref.json::<Value>().await.unwrap()["code"].is_string());
        let v1 = "c72025f5-5cd1-1630-99e4-8ba4722fad56";
        assert_eq!(post_rtp(&fake, &token, v1, &body, None).await.status(), 400);
        let upper = uuid_v4().to_uppercase();
        assert_eq!(
            post_rtp(&fake, &token, &upper, &body, None).await.status(),
            202
        );

        let mut eur = body.clone();
        eur["currency"] = json!("EUR");
        let r = post_rtp(&fake, &token, &uuid_v4(), &eur, None).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "INVALID_CURRENCY");

        for (key, value) in [
            ("amount", json!("10.50")),
            ("amount", json!(1000)),
            ("amount", json!("-5")),
            ("payerMessage", json!("l'achat")),
            ("payeeNote", json!("x".repeat(161))),
            (
                "payer",
                json!({"partyIdType": "MSISDN", "partyId": "+22507"}),
            ),
        ] {
            let mut b = body.clone();
            b[key] = value.clone();
            let r = post_rtp(&fake, &token, &uuid_v4(), &b, None).await;
            assert_eq!(r.status(), 400, "{key} = {value}");
            assert!(r.json::<Value>().await.unwrap()["code"].is_string());
        }
        let mut ok160 = body.clone();
        ok160["payeeNote"] = json!("é".repeat(160));
        assert_eq!(
            post_rtp(&fake, &token, &uuid_v4(), &ok160, None)
                .await
                .status(),
            202
        );

        let r = client()
            .post(fake.url("/collection/v1_0/requesttopay"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Reference-Id", uuid_v4())
            .header("X-Target-Environment", "mtnuganda")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "NOT_ALLOWED_TARGET_ENVIRONMENT"
        );

        // 401s: no bearer, bad bearer, bad subscription key.
        let r = post_rtp(&fake, "forged", &uuid_v4(), &body, None).await;
        assert_eq!(r.status(), 401);
        assert!(r.json::<Value>().await.unwrap()["code"].is_string());
        let r = client()
            .post(fake.url("/collection/v1_0/requesttopay"))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Reference-Id", uuid_v4())
            .header("X-Target-Environment", "mtnivorycoast")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["statusCode"], 401);

        // A sandbox environment takes EUR with decimals.
        let sandbox = MtnFake::start(MtnConfig {
            target_environment: "sandbox".into(),
            ..MtnConfig::default()
        });
        let t = token_for(&sandbox, COLLECTION).await;
        let r = post_rtp(
            &sandbox,
            &t,
            &uuid_v4(),
            &rtp_body(&sandbox, "10.50", PAYER_SUCCESS),
            None,
        )
        .await;
        assert_eq!(r.status(), 202);
    }

    #[tokio::test]
    async fn fake_mtn_sandbox_table_outcomes() {
        let fake = MtnFake::start(MtnConfig::default());
        fake.set_ongoing_for(Duration::from_millis(1000));
        let token = token_for(&fake, COLLECTION).await;
        let table = [
            (
                PAYER_INTERNAL_ERROR,
                "FAILED",
                Some("INTERNAL_PROCESSING_ERROR"),
            ),
            (PAYER_REJECTED, "FAILED", Some("APPROVAL_REJECTED")),
            (PAYER_EXPIRED, "FAILED", Some("EXPIRED")),
            (PAYER_NOT_FOUND, "FAILED", Some("PAYER_NOT_FOUND")),
            (PAYER_NOT_ALLOWED, "FAILED", Some("NOT_ALLOWED")),
            (PAYER_NOT_ENOUGH_FUNDS, "FAILED", Some("NOT_ENOUGH_FUNDS")),
            (
                PAYER_COULD_NOT_PERFORM,
                "FAILED",
                Some("COULD_NOT_PERFORM_TRANSACTION"),
            ),
            (PAYER_SUCCESS, "SUCCESSFUL", None),
            ("2250700000001", "SUCCESSFUL", None),
            (PAYER_ONGOING, "PENDING", None),
            (PAYER_DELAYED, "PENDING", None),
        ];
        let mut refs = Vec::new();
        for (payer, _, _) in table {
            let reference = uuid_v4();
            let r = post_rtp(
                &fake,
                &token,
                &reference,
                &rtp_body(&fake, "500", payer),
                None,
            )
            .await;
            assert_eq!(r.status(), 202);
            refs.push(reference);
        }
        for ((payer, status, reason), reference) in table.iter().zip(&refs) {
            let (code, v) = rtp_status(&fake, &token, reference).await;
            assert_eq!(code, 200);
            assert_eq!(v["status"], *status, "{payer}");
            assert_eq!(v["reason"].as_str(), *reason, "{payer}");
            assert_eq!(
                v.get("financialTransactionId").is_some(),
                *status == "SUCCESSFUL"
            );
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (_, v) = rtp_status(&fake, &token, &refs[9]).await;
        assert_eq!(v["status"], "SUCCESSFUL", "ongoing, then successful");
        let (_, v) = rtp_status(&fake, &token, &refs[10]).await;
        assert_eq!(v["status"], "PENDING", "delayed: never final");

        // set_final changes an outcome from the test.
        fake.set_final(&refs[10], "FAILED", Some("EXPIRED"));
        let (_, v) = rtp_status(&fake, &token, &refs[10]).await;
        assert_eq!(
            (v["status"].as_str(), v["reason"].as_str()),
            (Some("FAILED"), Some("EXPIRED"))
        );
        assert_eq!(fake.request(&refs[10]).unwrap().status, "FAILED");
    }

    #[tokio::test]
    async fn fake_mtn_callbacks_put_once_then_knobs() {
        let fake = MtnFake::start(MtnConfig {
            approve_after: Duration::from_millis(300),
            ..MtnConfig::default()
        });
        let receiver = Recorder::start();
        let cb = receiver.url("/mtn/callback");
        let token = token_for(&fake, COLLECTION).await;

        let reference = uuid_v4();
        let r = post_rtp(
            &fake,
            &token,
            &reference,
            &rtp_body(&fake, "1000", PAYER_SUCCESS),
            Some(&cb),
        )
        .await;
        assert_eq!(r.status(), 202);
        assert_eq!(
            fake.requests()[0].callback_url.as_deref(),
            Some(cb.as_str())
        );
        assert_eq!(
            fake.requests()[0].header("x-callback-url"),
            Some(cb.as_str())
        );
        let (_, v) = rtp_status(&fake, &token, &reference).await;
        assert_eq!(v["status"], "PENDING");
        assert!(receiver.received().is_empty());

        let got = receiver.wait_for(1, Duration::from_secs(3)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].method, "PUT");
        assert_eq!(got[0].path, "/mtn/callback");
        assert_eq!(got[0].header("content-type"), Some("application/json"));
        let body = got[0].json();
        assert_eq!(body["status"], "SUCCESSFUL");
        assert_eq!(body["amount"], "1000");
        assert_eq!(body, fake.callback_body(&reference));
        assert_eq!(
            fake.wait_callbacks(1, Duration::from_secs(1)).await,
            vec![(reference.clone(), 200)]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(receiver.received().len(), 1, "one callback only");

        // A failed outcome is called back too, with its reason; POST possible;
        // the receiver's status is recorded.
        fake.set_callback_method(reqwest::Method::POST);
        receiver.set_status(500);
        let failed = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &failed,
            &rtp_body(&fake, "1000", PAYER_REJECTED),
            Some(&cb),
        )
        .await;
        let got = receiver.wait_for(2, Duration::from_secs(3)).await;
        assert_eq!(got[1].method, "POST");
        assert_eq!(got[1].json()["reason"], "APPROVAL_REJECTED");
        assert_eq!(
            fake.wait_callbacks(2, Duration::from_secs(1)).await[1],
            (failed, 500)
        );
        receiver.set_status(200);

        // Duplicated, with a reported amount.
        fake.duplicate_callbacks(true);
        fake.report_amount(Some("1".into()));
        let dup = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &dup,
            &rtp_body(&fake, "1000", PAYER_SUCCESS),
            Some(&cb),
        )
        .await;
        let got = receiver.wait_for(4, Duration::from_secs(3)).await;
        assert_eq!(got.len(), 4);
        assert_eq!(got[2].body, got[3].body);
        assert_eq!(got[3].json()["amount"], "1");
        let (_, v) = rtp_status(&fake, &token, &dup).await;
        assert_eq!(v["amount"], "1");
        fake.duplicate_callbacks(false);
        fake.report_amount(None);

        // Dropped; the delayed number never calls back.
        fake.drop_callbacks(true);
        let dropped = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &dropped,
            &rtp_body(&fake, "1000", PAYER_SUCCESS),
            Some(&cb),
        )
        .await;
        let delayed = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &delayed,
            &rtp_body(&fake, "1000", PAYER_DELAYED),
            Some(&cb),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), 4);
        assert_eq!(fake.request(&dropped).unwrap().status, "SUCCESSFUL");
        // A test may still send it itself.
        assert_eq!(fake.resend_callback(&dropped).await, vec![200]);
        assert_eq!(receiver.received().len(), 5);
    }

    #[tokio::test]
    async fn fake_mtn_token_expiry_and_invalidation() {
        let fake = MtnFake::start(MtnConfig {
            token_ttl_secs: 1,
            ..MtnConfig::default()
        });
        let token = token_for(&fake, COLLECTION).await;
        let (status, _) = rtp_status(&fake, &token, &uuid_v4()).await;
        assert_eq!(status, 404, "valid token");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, v) = rtp_status(&fake, &token, &uuid_v4()).await;
        assert_eq!(status, 401, "expired token");
        assert!(v["code"].is_string());

        let fake = MtnFake::start(MtnConfig::default());
        let token = token_for(&fake, COLLECTION).await;
        fake.expire_tokens();
        let (status, _) = rtp_status(&fake, &token, &uuid_v4()).await;
        assert_eq!(status, 401);
        let fresh = token_for(&fake, COLLECTION).await;
        let (status, _) = rtp_status(&fake, &fresh, &uuid_v4()).await;
        assert_eq!(status, 404);
        assert_eq!(fake.token_requests(COLLECTION), 2);
    }

    #[tokio::test]
    async fn fake_mtn_fault_knobs() {
        let fake = MtnFake::start(MtnConfig::default());
        let token = fake.mint_token(COLLECTION);
        let body = rtp_body(&fake, "1000", PAYER_SUCCESS);

        // 500 without storing: a retry with the same reference is accepted.
        fake.fail_next_request_to_pay(1);
        let reference = uuid_v4();
        let r = post_rtp(&fake, &token, &reference, &body, None).await;
        assert_eq!(r.status(), 500);
        assert_eq!(
            r.json::<Value>().await.unwrap()["code"],
            "INTERNAL_PROCESSING_ERROR"
        );
        assert!(fake.requests().is_empty());
        assert_eq!(
            post_rtp(&fake, &token, &reference, &body, None)
                .await
                .status(),
            202
        );
        assert_eq!(fake.request_to_pay_calls(&reference), 2);

        // Stored but 500: the retry is a duplicate, the status is there.
        fake.receive_then_fail_next_request_to_pay();
        let ambiguous = uuid_v4();
        assert_eq!(
            post_rtp(&fake, &token, &ambiguous, &body, None)
                .await
                .status(),
            500
        );
        assert_eq!(
            post_rtp(&fake, &token, &ambiguous, &body, None)
                .await
                .status(),
            409
        );
        let (status, v) = rtp_status(&fake, &token, &ambiguous).await;
        assert_eq!((status, v["status"].as_str()), (200, Some("SUCCESSFUL")));

        // Lookups fail n times, then answer.
        fake.fail_next_lookups(2);
        assert_eq!(rtp_status(&fake, &token, &ambiguous).await.0, 500);
        assert_eq!(rtp_status(&fake, &token, &ambiguous).await.0, 500);
        assert_eq!(rtp_status(&fake, &token, &ambiguous).await.0, 200);
        assert_eq!(fake.lookups(&ambiguous), 4);

        // A delay, then normal handling (a client with a short timeout gives up).
        fake.delay_next_request_to_pay(Duration::from_millis(600));
        let slow = uuid_v4();
        let impatient = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let err = impatient
            .post(fake.url("/collection/v1_0/requesttopay"))
            .header("Ocp-Apim-Subscription-Key", &fake.cfg.subscription_key)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Reference-Id", &slow)
            .header("X-Target-Environment", &fake.cfg.target_environment)
            .json(&body)
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout());
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(fake.request(&slow).is_some(), "processed after the delay");
        let started = std::time::Instant::now();
        assert_eq!(
            post_rtp(&fake, &token, &uuid_v4(), &body, None)
                .await
                .status(),
            202
        );
        assert!(started.elapsed() < Duration::from_millis(500), "one-shot");
    }

    #[tokio::test]
    async fn fake_mtn_refunds() {
        let fake = MtnFake::start(MtnConfig::default());
        let token = fake.mint_token(COLLECTION);
        let disb = token_for(&fake, DISBURSEMENT).await;
        let paid = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &paid,
            &rtp_body(&fake, "1000", PAYER_SUCCESS),
            None,
        )
        .await;
        let unpaid = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &unpaid,
            &rtp_body(&fake, "1000", PAYER_REJECTED),
            None,
        )
        .await;

        let refund = |reference: String, of: String, amount: &'static str, token: String| {
            let fake = fake.clone();
            async move {
                client()
                    .post(fake.url("/disbursement/v1_0/refund"))
                    .header("Ocp-Apim-Subscription-Key", "mtn-disb-sub-0001")
                    .header("Authorization", format!("Bearer {token}"))
                    .header("X-Reference-Id", reference)
                    .header("X-Target-Environment", "mtnivorycoast")
                    .json(&json!({
                        "amount": amount,
                        "currency": "XOF",
                        "externalId": "refund-1",
                        "payerMessage": "Remboursement",
                        "payeeNote": "Remboursement",
                        "referenceIdToRefund": of,
                    }))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r1 = uuid_v4();
        let r = refund(r1.clone(), paid.clone(), "600", disb.clone()).await;
        assert_eq!(r.status(), 202);
        assert_eq!(r.bytes().await.unwrap().len(), 0);
        assert_eq!(
            refund(r1.clone(), paid.clone(), "600", disb.clone())
                .await
                .status(),
            409
        );
        assert_eq!(
            refund(uuid_v4(), paid.clone(), "600", token.clone())
                .await
                .status(),
            401
        );
        let r2 = uuid_v4();
        refund(r2.clone(), paid.clone(), "500", disb.clone()).await;
        let r3 = uuid_v4();
        refund(r3.clone(), paid.clone(), "400", disb.clone()).await;
        let r4 = uuid_v4();
        refund(r4.clone(), uuid_v4(), "100", disb.clone()).await;
        let r5 = uuid_v4();
        refund(r5.clone(), unpaid.clone(), "100", disb.clone()).await;

        let path = |r: &str| format!("/disbursement/v1_0/refund/{r}");
        let (status, v) = get_status(&fake, &disb, &path(&r1)).await;
        assert_eq!(status, 200);
        assert_eq!(v["status"], "SUCCESSFUL");
        assert_eq!(v["amount"], "600");
        assert_eq!(v["payee"]["partyId"], PAYER_SUCCESS);
        assert!(v["financialTransactionId"].is_string());
        let (_, v) = get_status(&fake, &disb, &path(&r2)).await;
        assert_eq!(
            (v["status"].as_str(), v["reason"].as_str()),
            (Some("FAILED"), Some("NOT_ENOUGH_FUNDS"))
        );
        let (_, v) = get_status(&fake, &disb, &path(&r3)).await;
        assert_eq!(v["status"], "SUCCESSFUL", "600 + 400 = 1000");
        let (_, v) = get_status(&fake, &disb, &path(&r4)).await;
        assert_eq!(v["reason"], "PAYEE_NOT_FOUND");
        let (_, v) = get_status(&fake, &disb, &path(&r5)).await;
        assert_eq!(v["status"], "FAILED");
        let (status, v) = get_status(&fake, &disb, &path(&uuid_v4())).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("RESOURCE_NOT_FOUND"))
        );
        assert_eq!(fake.refunds().len(), 5);
        assert_eq!(fake.refunds()[0].refund_of.as_deref(), Some(paid.as_str()));

        // Pending first when asked.
        fake.set_refund_after(Duration::from_secs(60));
        let other = uuid_v4();
        post_rtp(
            &fake,
            &token,
            &other,
            &rtp_body(&fake, "1000", PAYER_SUCCESS),
            None,
        )
        .await;
        let r6 = uuid_v4();
        refund(r6.clone(), other, "1000", disb.clone()).await;
        assert_eq!(
            get_status(&fake, &disb, &path(&r6)).await.1["status"],
            "PENDING"
        );

        // Without disbursement: 401 on every /disbursement/ call.
        let bare = MtnFake::start(MtnConfig {
            disbursement: None,
            ..MtnConfig::default()
        });
        let r = client()
            .post(bare.url("/disbursement/token/"))
            .header("Ocp-Apim-Subscription-Key", "mtn-disb-sub-0001")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = client().get(bare.url(&path(&r1))).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
}
