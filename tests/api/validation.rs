//! Every rule of SPEC §3: status, code and param, and nothing created.
use serde_json::{Value, json};

use crate::helpers::*;

/// The seed body with `path` (dot/index notation) set to `value` (or removed when null).
fn with(path: &str, value: Value) -> Value {
    let mut body = seed_body();
    let mut cur = &mut body;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let (key, idx) = match p.split_once('[') {
            Some((k, rest)) => (
                k,
                Some(rest.trim_end_matches(']').parse::<usize>().unwrap()),
            ),
            None => (*p, None),
        };
        if last && idx.is_none() {
            if value.is_null() {
                cur.as_object_mut().unwrap().remove(key);
            } else {
                cur[key] = value.clone();
            }
            return body;
        }
        cur = &mut cur[key];
        if let Some(i) = idx {
            cur = &mut cur[i];
        }
    }
    body
}

async fn rejects(app: &TestApp, body: Value, code: &str, param: &str) {
    let before = app
        .get("/api/v1/checkout/sessions?limit=100")
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .len();
    let res = app.post("/api/v1/checkout/sessions", &body).await;
    let v = assert_error(res, 400, code, None).await;
    let params: Vec<&str> = v["error"]["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["param"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        v["error"]["param"] == param || params.contains(&param),
        "expected {param} in {v}"
    );
    let after = app
        .get("/api/v1/checkout/sessions?limit=100")
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a rejected request created nothing");
}

#[tokio::test]
async fn every_field_rule_is_enforced() {
    let app = spawn_app().await;
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with("line_items", Value::Null),
            "parameter_missing",
            "line_items",
        ),
        (
            with("line_items", json!([])),
            "parameter_invalid",
            "line_items",
        ),
        (
            with(
                "line_items",
                json!(
                    (0..101)
                        .map(
                            |_| json!({"name": "a", "amount": 1, "currency": "XOF", "quantity": 1})
                        )
                        .collect::<Vec<_>>()
                ),
            ),
            "parameter_invalid",
            "line_items",
        ),
        (
            with("line_items[0].name", json!("")),
            "parameter_invalid",
            "line_items[0].name",
        ),
        (
            with("line_items[0].name", json!("   ")),
            "parameter_invalid",
            "line_items[0].name",
        ),
        (
            with("line_items[0].name", json!(long(251))),
            "parameter_invalid",
            "line_items[0].name",
        ),
        (
            with("line_items[0].name", json!("Plan\u{0007}")),
            "parameter_invalid",
            "line_items[0].name",
        ),
        (
            with("line_items[0].name", Value::Null),
            "parameter_missing",
            "line_items[0].name",
        ),
        (
            with("line_items[0].amount", json!(0)),
            "parameter_invalid",
            "line_items[0].amount",
        ),
        (
            with("line_items[0].amount", json!(-100)),
            "parameter_invalid",
            "line_items[0].amount",
        ),
        (
            with("line_items[0].amount", json!(10.5)),
            "parameter_invalid",
            "line_items[0].amount",
        ),
        (
            with("line_items[0].amount", json!("50000")),
            "parameter_invalid",
            "line_items[0].amount",
        ),
        (
            with("line_items[0].amount", Value::Null),
            "parameter_missing",
            "line_items[0].amount",
        ),
        (
            with("line_items[0].currency", json!("ABC")),
            "parameter_invalid",
            "line_items[0].currency",
        ),
        (
            with("line_items[0].currency", json!("XOFF")),
            "parameter_invalid",
            "line_items[0].currency",
        ),
        (
            with("line_items[0].quantity", json!(0)),
            "parameter_invalid",
            "line_items[0].quantity",
        ),
        (
            with("line_items[0].quantity", json!(10_001)),
            "parameter_invalid",
            "line_items[0].quantity",
        ),
        (
            with("line_items[0].description", json!(long(501))),
            "parameter_invalid",
            "line_items[0].description",
        ),
        (
            with(
                "line_items[0].images",
                json!(
                    (0..9)
                        .map(|i| format!("https://img.example/{i}.png"))
                        .collect::<Vec<_>>()
                ),
            ),
            "parameter_invalid",
            "line_items[0].images",
        ),
        (
            with("line_items[0].images", json!(["http://img.example/a.png"])),
            "parameter_invalid",
            "line_items[0].images",
        ),
        (
            with(
                "line_items[0].images",
                json!([format!("https://img.example/{}", long(2048))]),
            ),
            "parameter_invalid",
            "line_items[0].images",
        ),
        (
            with("line_items[0].recurring", json!({"interval": "month"})),
            "parameter_invalid",
            "line_items[0].recurring",
        ),
        (
            with("line_items[0].colour", json!("red")),
            "parameter_unknown",
            "line_items[0].colour",
        ),
        (with("mode", Value::Null), "parameter_missing", "mode"),
        (with("mode", json!("setup")), "parameter_invalid", "mode"),
        (
            with("success_url", Value::Null),
            "parameter_missing",
            "success_url",
        ),
        (
            with("success_url", json!("/success")),
            "parameter_invalid",
            "success_url",
        ),
        (
            with("success_url", json!("ftp://yoursite.com/")),
            "parameter_invalid",
            "success_url",
        ),
        (
            with(
                "success_url",
                json!(format!("https://yoursite.com/{}", long(2040))),
            ),
            "parameter_invalid",
            "success_url",
        ),
        (
            with("success_url", json!("https://{CHECKOUT_SESSION_ID")),
            "parameter_invalid",
            "success_url",
        ),
        (
            with("cancel_url", json!("not a url")),
            "parameter_invalid",
            "cancel_url",
        ),
        (
            with("currency", json!("EUR")),
            "parameter_invalid",
            "line_items[0].currency",
        ),
        (
            with("currency", json!("ZZZ")),
            "parameter_invalid",
            "currency",
        ),
        (
            with("customer_email", json!("not-an-email")),
            "parameter_invalid",
            "customer_email",
        ),
        (
            with("client_reference_id", json!(long(201))),
            "parameter_invalid",
            "client_reference_id",
        ),
        (
            with(
                "metadata",
                json!(
                    (0..51)
                        .map(|i| (format!("k{i}"), json!("v")))
                        .collect::<serde_json::Map<_, _>>()
                ),
            ),
            "parameter_invalid",
            "metadata",
        ),
        (
            with("metadata", json!({long(41): "v"})),
            "parameter_invalid",
            "metadata",
        ),
        (
            with("metadata", json!({"k": long(501)})),
            "parameter_invalid",
            "metadata",
        ),
        (
            with("metadata", json!({"k": 1})),
            "parameter_invalid",
            "metadata.k",
        ),
        (
            with("payment_method_types", json!([])),
            "parameter_invalid",
            "payment_method_types",
        ),
        (
            with("payment_method_types", json!(["bitcoin"])),
            "parameter_invalid",
            "payment_method_types[0]",
        ),
        (
            with("expires_at", json!("tomorrow")),
            "parameter_invalid",
            "expires_at",
        ),
        (with("amount", json!(50000)), "parameter_unknown", "amount"),
    ];
    for (body, code, param) in cases {
        rejects(&app, body, code, param).await;
    }
}

#[tokio::test]
async fn every_violated_field_is_listed() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/checkout/sessions",
            &json!({"line_items": [{"name": "", "amount": 0, "currency": "XXX", "quantity": 0}]}),
        )
        .await;
    let v = assert_error(res, 400, "parameter_invalid", None).await;
    let mut got: Vec<(String, String)> = v["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["param"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("line_items[0].amount", "parameter_invalid"),
        ("line_items[0].currency", "parameter_invalid"),
        ("line_items[0].name", "parameter_invalid"),
        ("line_items[0].quantity", "parameter_invalid"),
        ("mode", "parameter_missing"),
        ("success_url", "parameter_missing"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    // The top level names the first one.
    assert_eq!(v["error"]["param"], v["error"]["errors"][0]["param"]);
}

#[tokio::test]
async fn cross_field_rules() {
    let app = spawn_app().await;
    // Mixed currencies.
    let mut body = seed_body();
    body["line_items"] = json!([{"name": "a", "amount": 1, "currency": "XOF", "quantity": 1}, {"name": "b", "amount": 1, "currency": "EUR", "quantity": 1}]);
    rejects(&app, body, "parameter_invalid", "line_items[1].currency").await;
    // Subscription mode needs recurring on every item, one interval.
    let mut body = seed_body();
    body["mode"] = json!("subscription");
    rejects(
        &app,
        body.clone(),
        "parameter_invalid",
        "line_items[0].recurring",
    )
    .await;
    body["line_items"] = json!([
        {"name": "a", "amount": 1, "currency": "XOF", "quantity": 1, "recurring": {"interval": "month"}},
        {"name": "b", "amount": 1, "currency": "XOF", "quantity": 1, "recurring": {"interval": "year"}}]);
    rejects(
        &app,
        body.clone(),
        "parameter_invalid",
        "line_items[1].recurring",
    )
    .await;
    body["line_items"][0]["recurring"] = json!({"interval": "month", "interval_count": 0});
    rejects(
        &app,
        body.clone(),
        "parameter_invalid",
        "line_items[0].recurring.interval_count",
    )
    .await;
    body["line_items"][0]["recurring"] = json!({"interval": "fortnight"});
    rejects(
        &app,
        body,
        "parameter_invalid",
        "line_items[0].recurring.interval",
    )
    .await;
    // Expiry window: 30 min to 24 h ahead.
    let now = app.state.clock.now();
    for bad in [now + 60, now + 29 * 60, now + 25 * 3600, now - 10] {
        let mut body = seed_body();
        body["expires_at"] = json!(bad);
        rejects(&app, body, "parameter_invalid", "expires_at").await;
    }
    let mut ok = seed_body();
    ok["expires_at"] = json!(now + 3600);
    assert_eq!(app.create_session(&ok).await["expires_at"], now + 3600);
}

#[tokio::test]
async fn totals_are_checked_never_wrapped() {
    let app = spawn_app().await;
    for (amount, quantity) in [
        (1_000_000_000_000i64, 2),
        (i64::MAX, 10_000),
        (i64::MAX / 2, 3),
    ] {
        let mut body = seed_body();
        body["line_items"][0]["amount"] = json!(amount);
        body["line_items"][0]["quantity"] = json!(quantity);
        rejects(&app, body, "parameter_invalid", "line_items[0].amount").await;
    }
    // Sum of items over 10^12.
    let mut body = seed_body();
    body["line_items"] = json!((0..3).map(|_| json!({"name": "a", "amount": 400_000_000_000i64, "currency": "XOF", "quantity": 1})).collect::<Vec<_>>());
    rejects(&app, body, "parameter_invalid", "line_items[2].amount").await;
    // Exactly 10^12 is allowed.
    let mut body = seed_body();
    body["line_items"][0]["amount"] = json!(100_000_000_000i64);
    body["line_items"][0]["quantity"] = json!(10);
    assert_eq!(
        app.create_session(&body).await["amount_total"],
        1_000_000_000_000i64
    );
    // Amount beyond i64 in JSON.
    let res = app
        .client
        .post(app.url("/api/v1/checkout/sessions"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body(r#"{"line_items":[{"name":"a","amount":99999999999999999999999,"currency":"XOF","quantity":1}],"mode":"payment","success_url":"https://a.b/"}"#)
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "parameter_invalid", Some("line_items[0].amount")).await;
}

#[tokio::test]
async fn live_mode_requires_https() {
    let app = spawn_app().await;
    let mut body = seed_body();
    body["success_url"] = json!("http://yoursite.com/ok");
    let res = app
        .post_as(&app.live_key, "/api/v1/checkout/sessions", &body)
        .await;
    assert_error(res, 400, "parameter_invalid", Some("success_url")).await;
    let res = app
        .post_as(&app.live_key, "/api/v1/checkout/sessions", &seed_body())
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("cs_live_"));
    assert_eq!(v["livemode"], true);
    // Test mode accepts http (local development).
    assert_eq!(
        app.post(
            "/api/v1/checkout/sessions",
            &with("success_url", json!("http://localhost:3000/ok"))
        )
        .await
        .status(),
        200
    );
}

/// `(param, message)` of every field error in a 400 body.
fn field_errors(v: &Value) -> Vec<(String, String)> {
    v["error"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["param"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn message_of<'a>(errs: &'a [(String, String)], param: &str) -> &'a str {
    errs.iter()
        .find(|(p, _)| p == param)
        .map(|(_, m)| m.as_str())
        .unwrap_or_else(|| panic!("no error for {param} in {errs:?}"))
}

#[tokio::test]
async fn a_type_error_speaks_json_and_every_other_invalid_field_is_reported() {
    let app = spawn_app().await;
    let body = json!({
        "mode": "pay",
        "line_items": [
            {"name": 5, "amount": "50000", "currency": "XOF", "quantity": 1.5},
            {"name": "Ok", "amount": -3, "currency": "XOF", "quantity": 1}
        ],
        "success_url": 7,
        "cancel_url": "ftp://nope.example",
        "customer_email": "not-an-email",
        "metadata": ["a"],
        "expires_at": "tomorrow",
        "colour": "blue"
    });
    let res = app.post("/api/v1/checkout/sessions", &body).await;
    let v = assert_error(res, 400, "parameter_invalid", None).await;
    let text = v.to_string();
    for jargon in [
        "i64",
        "u32",
        "struct ",
        "sequence",
        "a map",
        "floating point",
    ] {
        assert!(!text.contains(jargon), "Rust jargon {jargon:?} in {text}");
    }
    let errs = field_errors(&v);
    assert!(message_of(&errs, "mode").contains("`payment`"), "{errs:?}");
    for (param, kind) in [
        ("line_items[0].name", "a string"),
        ("line_items[0].amount", "an integer"),
        ("line_items[0].quantity", "an integer"),
        ("success_url", "a string"),
        ("metadata", "an object"),
        ("expires_at", "an integer"),
    ] {
        assert_eq!(message_of(&errs, param), format!("{param} must be {kind}."));
    }
    assert!(errs.iter().any(|(p, _)| p == "colour"), "{errs:?}");
    // The rules still ran on what was left: these are no type errors.
    for rule in ["cancel_url", "customer_email", "line_items[1].amount"] {
        message_of(&errs, rule);
    }
    // A field with a type error is reported once (not also as missing).
    let mode_errors = errs.iter().filter(|(p, _)| p == "mode").count();
    assert_eq!(mode_errors, 1, "{errs:?}");
    assert_eq!(
        v["error"]["param"], errs[0].0,
        "param names the first field at fault: {v}"
    );
}

#[tokio::test]
async fn pay_reports_a_type_error_with_the_other_invalid_card_fields() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let res = app
        .pay(
            &id,
            &json!({"payment_method": {"type": "card", "card": {
                "number": 4242424242424242u64, "exp_month": 13, "exp_year": 2030, "cvc": "12"
            }}}),
        )
        .await;
    let v = assert_error(res, 400, "parameter_invalid", None).await;
    let errs = field_errors(&v);
    assert_eq!(
        message_of(&errs, "payment_method.card.number"),
        "payment_method.card.number must be a string."
    );
    message_of(&errs, "payment_method.card.exp_month");
    message_of(&errs, "payment_method.card.cvc");
    assert!(
        !v.to_string().contains("4242"),
        "the number is never echoed: {v}"
    );
    assert_eq!(app.public(&id).await["status"], "open");
}

#[tokio::test]
async fn query_type_errors_speak_json_too() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/checkout/sessions?limit=ten").await;
    let v = assert_error(res, 400, "parameter_invalid", Some("limit")).await;
    assert_eq!(v["error"]["message"], "limit must be an integer.");
}
