//! The Stripe-compatible surface (SPEC §14): form bodies in Stripe's
//! bracket encoding give exactly what their JSON gives (a property test),
//! `/v1/…` is `/api/v1/…`, `expand[]`, and the Standard Webhooks headers.
//! The official SDKs themselves run in `.ci/stripe-sdks`.
use std::time::Duration;

use base64::Engine;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::fakes::Recorder;
use crate::helpers::*;

/// Stripe's bracket encoding of a JSON body (as the SDKs write it).
pub fn form_of(v: &Value) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, x, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), x, out);
                }
            }
            Value::Null => out.push((prefix.to_string(), String::new())),
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut pairs = Vec::new();
    walk("", v, &mut pairs);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn post_form(app: &TestApp, path: &str, form: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app.post(path, body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A session's fields that say what it is (not which one it is).
fn shape(v: &Value) -> Value {
    let mut v = v.clone();
    for k in ["id", "url", "payment_intent", "created", "expires_at"] {
        v.as_object_mut().map(|o| o.remove(k));
    }
    if let Some(items) = v["line_items"]["data"].as_array_mut() {
        for i in items {
            i.as_object_mut().map(|o| o.remove("id"));
        }
    }
    v["line_items"].as_object_mut().map(|o| o.remove("url"));
    if let Some(o) = v["error"].as_object_mut() {
        o.remove("request_id");
        o.remove("doc_url");
    }
    v
}

fn item() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("Pagne wax".to_string()),
            Just("Attiéké 1 kg".to_string()),
            Just("123".to_string()),
            Just("true".to_string()),
            "[a-zA-Z0-9 éà&=%+]{1,20}",
        ],
        prop_oneof![1i64..1_000_000, -5i64..1],
        1i64..5,
        prop::option::of(Just("Une description".to_string())),
    )
        .prop_map(|(name, amount, quantity, description)| {
            let mut v =
                json!({"name": name, "amount": amount, "currency": "XOF", "quantity": quantity});
            if let Some(d) = description {
                v["description"] = d.into();
            }
            v
        })
}

fn body() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(item(), 1..4),
        // Not "": an empty form value unsets (Stripe's rule), so an empty
        // JSON string has no form spelling.
        prop::collection::btree_map("[a-z_]{1,8}", "[a-z0-9 ]{1,6}", 0..3),
        prop::option::of(prop_oneof![Just("fr"), Just("en"), Just("xx")]),
        prop::option::of("[a-z0-9-]{1,12}"),
    )
        .prop_map(|(items, metadata, locale, reference)| {
            let mut v = json!({
                "line_items": items,
                "mode": "payment",
                "success_url": "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://shop.example/cancel",
                "metadata": metadata,
            });
            if let Some(l) = locale {
                v["locale"] = l.into();
            }
            if let Some(r) = reference {
                v["client_reference_id"] = r.into();
            }
            v
        })
}

#[test]
fn a_form_body_gives_what_its_json_gives() {
    let cases = std::env::var("IK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    runner
        .run(&body(), |b| {
            let (js, jv) = rt.block_on(post_json(&app, "/api/v1/checkout/sessions", &b));
            let (fs, fv) = rt.block_on(post_form(&app, "/api/v1/checkout/sessions", &form_of(&b)));
            prop_assert_eq!(js, fs, "{} / {}", jv, fv);
            prop_assert_eq!(shape(&jv), shape(&fv));
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn form_errors_name_the_same_params_as_json() {
    let app = spawn_app().await;
    let mut bad = seed_body();
    bad["line_items"][0]["amount"] = (-5).into();
    bad["line_items"]
        .as_array_mut()
        .unwrap()
        .push(json!({"amount": 10, "currency": "XOF", "quantity": 1}));
    bad["mode"] = "nope".into();
    bad["extra"] = "x".into();
    let (js, jv) = post_json(&app, "/api/v1/checkout/sessions", &bad).await;
    let (fs, fv) = post_form(&app, "/api/v1/checkout/sessions", &form_of(&bad)).await;
    assert_eq!((js, fs), (400, 400));
    assert_eq!(jv["error"]["errors"], fv["error"]["errors"], "{fv}");
    assert_eq!(jv["error"]["param"], fv["error"]["param"]);
    // What the form itself gets wrong is said in the one error shape.
    for bad in [
        "line_items[0][name=x",
        "line_items[0]=a&line_items[2]=b",
        "[x]=1",
    ] {
        let (s, v) = post_form(&app, "/api/v1/checkout/sessions", bad).await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "json_invalid", "{bad}: {v}");
    }
    // Neither JSON nor a form.
    let res = app
        .client
        .post(app.url("/api/v1/checkout/sessions"))
        .bearer_auth(&app.key)
        .header("Content-Type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type", None).await;
}

#[tokio::test]
async fn other_routes_take_forms_too() {
    let app = spawn_app().await;
    let rx = Recorder::start();
    let (s, e) = post_form(
        &app,
        "/api/v1/webhook_endpoints",
        &format!(
            "url={}&enabled_events[]=*&description=",
            form_urlencoded::byte_serialize(rx.url("/hook").as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["enabled_events"], json!(["*"]));
    assert_eq!(e["description"], Value::Null, "an empty value unsets");
    let sid = app.seed_session().await;
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    let pi: Value = app
        .get(&format!("/api/v1/checkout/sessions/{sid}"))
        .await
        .json()
        .await
        .unwrap();
    let pi = pi["payment_intent"].as_str().unwrap();
    let (s, r) = post_form(
        &app,
        "/api/v1/refunds",
        &format!("payment_intent={pi}&amount=1000&metadata[order]=42&reason=requested_by_customer"),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["amount"], 1000);
    assert_eq!(r["metadata"]["order"], "42", "text stays text");
    // A parameterless POST with an empty form.
    let other = app.seed_session().await;
    let (s, v) = post_form(
        &app,
        &format!("/api/v1/checkout/sessions/{other}/expire"),
        "",
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("expired")));
}

#[tokio::test]
async fn v1_is_api_v1_for_stripe_sdks() {
    let app = spawn_app().await;
    let (s, created) = post_form(&app, "/v1/checkout/sessions", &form_of(&seed_body())).await;
    assert_eq!(s, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    let same: Value = app
        .get(&format!("/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same["id"], id);
    let list: Value = app
        .get("/v1/checkout/sessions?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["url"], "/api/v1/checkout/sessions",
        "SDKs page against the root"
    );
    assert_eq!(list["data"][0]["id"], id);
    // The same errors, auth and unknown routes.
    let res = app
        .client
        .get(app.url("/v1/checkout/sessions"))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "api_key_missing", None).await;
    assert_error(app.get("/v1/nothing").await, 404, "route_not_found", None).await;
    // Only the merchant API: the public routes keep their one address.
    assert_eq!(app.public(id).await["id"], id);
}

#[tokio::test]
async fn expand_payment_intent_on_retrieve_and_list() {
    let app = spawn_app().await;
    let sid = app.seed_session().await;
    let plain: Value = app
        .get(&format!("/api/v1/checkout/sessions/{sid}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(plain["payment_intent"].is_string());
    for q in [
        "expand[]=payment_intent",
        "expand[0]=payment_intent&expand[1]=line_items",
    ] {
        let v: Value = app
            .get(&format!("/api/v1/checkout/sessions/{sid}?{q}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["payment_intent"]["object"], "payment_intent", "{q}: {v}");
        assert_eq!(v["payment_intent"]["id"], plain["payment_intent"]);
    }
    let list: Value = app
        .get("/v1/checkout/sessions?limit=3&expand[]=data.payment_intent")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["data"][0]["payment_intent"]["object"], "payment_intent",
        "{list}"
    );
    let res = app
        .get(&format!(
            "/api/v1/checkout/sessions/{sid}?expand[]=customer"
        ))
        .await;
    assert_error(res, 400, "parameter_invalid", Some("expand")).await;
}

#[tokio::test]
async fn deliveries_carry_standard_webhooks_headers() {
    let app = spawn_app().await;
    let rx = Recorder::start();
    let created: Value = app
        .post(
            "/api/v1/webhook_endpoints",
            &json!({"url": rx.url("/hook"), "enabled_events": ["checkout.session.completed"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap();
    let sid = app.seed_session().await;
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    let d = &got[0];
    let body = d.body.clone();
    let id = d.header("webhook-id").expect("webhook-id");
    assert_eq!(id, d.json()["id"].as_str().unwrap(), "the event id");
    let t = d.header("webhook-timestamp").expect("webhook-timestamp");
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let expected =
        b64.encode(ring::hmac::sign(&key, format!("{id}.{t}.{body}").as_bytes()).as_ref());
    let sig = d.header("webhook-signature").expect("webhook-signature");
    assert!(
        sig.split(' ').any(|s| s == format!("v1,{expected}")),
        "{sig}"
    );
    assert!(d.header("ikawaari-signature").is_some(), "beside our own");
}

#[tokio::test]
async fn a_conflict_that_cannot_change_tells_stripe_sdks_not_to_retry() {
    let app = spawn_app().await;
    let sid = app.seed_session().await;
    let path = format!("/v1/checkout/sessions/{sid}/expire");
    assert_eq!(post_form(&app, &path, "").await.0, 200);
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok()),
        Some("false")
    );
}

#[tokio::test]
async fn stripe_sdks_cancel_a_subscription_with_delete() {
    let app = spawn_app().await;
    let s = app
        .create_session(&json!({"line_items": [{"name": "Abonnement", "amount": 5000, "currency": "XOF", "quantity": 1,
                                               "recurring": {"interval": "month"}}],
                               "mode": "subscription", "success_url": "https://shop.example/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(app.pay(id, &card("4242424242424242")).await.status(), 200);
    let s: Value = app
        .get(&format!("/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let sub = s["subscription"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/v1/subscriptions/{sub}")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "canceled", "{v}");
}
