//! Property-based fuzzing of the entry points that parse untrusted input:
//! the create body, the pay body and the GraphQL endpoint. Whatever the
//! input — random JSON, a valid body with one field replaced, random bytes,
//! random GraphQL token soup — the answer is never a 5xx and every
//! non-2xx carries the error shape. `IK_FUZZ_CASES` sets the cases per
//! target (`.ci/run` raises it).
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use serde_json::{Map, Value};

use crate::helpers::{TestApp, seed_body, spawn_app};

fn cases() -> u32 {
    std::env::var("IK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("XOF"),
            Just("payment"),
            Just("card"),
            Just("mobile_money"),
            Just("https://a.example/ok"),
            Just("4242424242424242"),
            Just("+2250700000000"),
            Just("\u{0}"),
            Just("{CHECKOUT_SESSION_ID}"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,14}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A known-good body with the value at one path replaced (or removed).
fn mutated(base: Value, paths: &'static [&'static [&'static str]]) -> impl Strategy<Value = Value> {
    (0..paths.len(), json_value(), any::<bool>()).prop_map(move |(i, v, remove)| {
        let mut body = base.clone();
        let path = paths[i];
        let mut at = &mut body;
        for (n, key) in path.iter().enumerate() {
            let last = n + 1 == path.len();
            at = match (at, key.parse::<usize>()) {
                (Value::Array(a), Ok(idx)) if idx < a.len() => &mut a[idx],
                (Value::Object(o), _) if last && remove => {
                    o.remove(*key);
                    break;
                }
                (Value::Object(o), _) if last => {
                    o.insert(key.to_string(), v.clone());
                    break;
                }
                (Value::Object(o), _) => o.entry(key.to_string()).or_insert(Value::Null),
                _ => break,
            };
        }
        body
    })
}

#[derive(Debug, Clone)]
enum Input {
    Json(Value),
    Bytes(Vec<u8>),
}

fn body_input(
    base: Value,
    paths: &'static [&'static [&'static str]],
) -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => mutated(base, paths).prop_map(Input::Json),
        2 => json_value().prop_map(Input::Json),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Bytes),
    ]
}

async fn post(app: &TestApp, path: &str, auth: bool, input: &Input) -> (u16, String) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json");
    if auth {
        req = req.bearer_auth(&app.key);
    }
    req = match input {
        Input::Json(v) => req.body(v.to_string()),
        Input::Bytes(b) => req.body(b.clone()),
    };
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

fn check(status: u16, body: &str) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "answered {status}: {body}");
    if status >= 400 {
        let v: Value = serde_json::from_str(body)
            .map_err(|_| TestCaseError::fail(format!("non-JSON {status}: {body}")))?;
        prop_assert!(
            v["error"]["type"].is_string() && v["error"]["code"].is_string(),
            "{body}"
        );
    }
    Ok(())
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(PtConfig {
        cases: cases(),
        failure_persistence: None,
        ..PtConfig::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

const CREATE_PATHS: &[&[&str]] = &[
    &["line_items"],
    &["line_items", "0"],
    &["line_items", "0", "amount"],
    &["line_items", "0", "name"],
    &["line_items", "0", "currency"],
    &["line_items", "0", "quantity"],
    &["line_items", "0", "recurring"],
    &["mode"],
    &["success_url"],
    &["cancel_url"],
    &["metadata"],
    &["customer_email"],
    &["client_reference_id"],
    &["expires_at"],
    &["payment_method_types"],
    &["locale"],
    &["unknown_field"],
];

const PAY_PATHS: &[&[&str]] = &[
    &["payment_method"],
    &["payment_method", "type"],
    &["payment_method", "card"],
    &["payment_method", "card", "number"],
    &["payment_method", "card", "exp_month"],
    &["payment_method", "card", "exp_year"],
    &["payment_method", "card", "cvc"],
    &["payment_method", "mobile_money"],
    &["payment_method", "mobile_money", "phone"],
    &["payment_method", "mobile_money", "provider"],
];

#[test]
fn create_body_never_fails_the_server() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    run(body_input(seed_body(), CREATE_PATHS), |input| {
        let (status, body) = rt.block_on(post(&app, "/api/v1/checkout/sessions", true, &input));
        check(status, &body)
    });
}

#[test]
fn pay_body_never_fails_the_server() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let base = crate::helpers::card("4000000000000002");
    run(body_input(base, PAY_PATHS), |input| {
        let session = rt.block_on(app.seed_session());
        let (status, body) = rt.block_on(post(
            &app,
            &format!("/api/checkout/{session}/pay"),
            false,
            &input,
        ));
        check(status, &body)
    });
}

fn graphql_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{"),
        Just("}"),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just(":"),
        Just("$v"),
        Just("!"),
        Just("..."),
        Just("query"),
        Just("mutation"),
        Just("subscription"),
        Just("fragment f on CheckoutSession"),
        Just("checkoutSessions"),
        Just("checkoutSession"),
        Just("checkoutStats"),
        Just("paymentIntent"),
        Just("createCheckoutSession"),
        Just("expireCheckoutSession"),
        Just("id"),
        Just("first"),
        Just("last"),
        Just("after"),
        Just("filter"),
        Just("search"),
        Just("status"),
        Just("totalCount"),
        Just("nodes"),
        Just("edges"),
        Just("node"),
        Just("lineItems"),
        Just("input"),
        Just("@include(if: true)"),
        Just("1"),
        Just("-1"),
        Just("99999999999999999999"),
        Just("\"x\""),
        Just("\"\\u0000\""),
        Just("\"\"\"block\"\"\""),
        Just("# c\n"),
        Just("__schema"),
        Just("__typename"),
        Just(","),
    ];
    prop::collection::vec(token, 0..80).prop_map(|t| t.join(" "))
}

#[test]
fn graphql_never_fails_the_server() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    rt.block_on(app.seed_session());
    let strategy = prop_oneof![
        3 => (graphql_soup(), json_value()).prop_map(|(q, v)| {
            Input::Json(serde_json::json!({"query": q, "variables": {"v": v}}))
        }),
        1 => json_value().prop_map(Input::Json),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Bytes),
    ];
    run(strategy, |input| {
        let (status, body) = rt.block_on(post(&app, "/graphql", true, &input));
        check(status, &body)?;
        if status == 200 {
            let v: Value = serde_json::from_str(&body)
                .map_err(|_| TestCaseError::fail(format!("non-JSON 200: {body}")))?;
            for e in v["errors"].as_array().into_iter().flatten() {
                prop_assert!(
                    e["extensions"]["code"].is_string(),
                    "error without code: {body}"
                );
                prop_assert!(
                    e["extensions"]["code"] != "internal",
                    "internal error: {body}"
                );
            }
        }
        Ok(())
    });
}
