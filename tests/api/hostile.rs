//! Hostile input (issue 9): documents that would overflow the parser's
//! stack, control characters, revoked credentials on open sockets, recovery
//! that asks the processor, and the smaller runtime rules.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ikawaari::auth::Scope;
use ikawaari::processor::Charge;
use ikawaari::service::credentials::{self, TokenKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::graphql::{next_json, ws_connect_base};
use crate::helpers::{
    assert_error, card, seed_body, spawn_app, spawn_app_with, spawn_app_without_webhook_worker,
};

#[tokio::test]
async fn graphql_nested_thousands_deep_is_refused_and_the_server_lives() {
    let app = spawn_app().await;
    let list = format!(
        "{{checkoutSession(id:{}1{}){{id}}}}",
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let object = format!(
        "query($f: CheckoutSessionFilter = {}1{}) {{ __typename }}",
        "{search:".repeat(3000),
        "}".repeat(3000)
    );
    let list_default = format!(
        "query($f: [String] = {}1{}) {{ __typename }}",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    for q in [list, object, list_default] {
        let res = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap();
        assert_error(res, 400, "parameter_invalid", Some("query")).await;
    }
    // Deep variables (serde_json stops at 128; we stop at 64).
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "query($v: [String]) { __typename }", "variables": {"v": deep}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "parameter_invalid", Some("query")).await;

    // Over WebSocket the same document is an error message, not a crash.
    let mut ws = ws_connect_base(
        &app.base,
        json!({"authorization": format!("Bearer {}", app.key)}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    let deep_sub = format!(
        "subscription {{ checkoutSessionUpdated(id: {}1{}) {{ id }} }}",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": deep_sub}}).to_string(),
    ))
    .await
    .unwrap();
    let m = next_json(&mut ws).await.expect("an answer");
    let errors = if m["type"] == "error" {
        &m["payload"]
    } else {
        &m["payload"]["errors"]
    };
    assert_eq!(errors[0]["extensions"]["code"], "parameter_invalid", "{m}");

    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn graphql_limit_errors_carry_type_and_code_and_aliases_are_priced() {
    let app = spawn_app_without_webhook_worker().await;
    app.seed_session().await;
    // Too deep a selection: async-graphql's own error, shaped.
    let deep = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ".repeat(10),
        "} } ".repeat(10)
    );
    let v = app.graphql(&deep, json!({})).await;
    let e = &v["errors"][0]["extensions"];
    assert_eq!(e["type"], "invalid_request_error", "{v}");
    assert_eq!(e["code"], "parameter_invalid", "{v}");

    // A thousand connections by alias: refused by complexity, nothing run.
    let many: String = (0..1000)
        .map(|i| format!("a{i}: checkoutSessions(first: 1) {{ totalCount }} "))
        .collect();
    let before = app.statement_count();
    let v = app.graphql(&format!("{{ {many} }}"), json!({})).await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("complex"),
        "{v}"
    );
    assert_eq!(v["errors"][0]["extensions"]["code"], "parameter_invalid");
    assert!(
        app.statement_count() - before < 5,
        "statements ran for a refused query"
    );

    // A thousand aliases of one connection's totalCount: one COUNT.
    let counts: String = (0..1000).map(|i| format!("c{i}: totalCount ")).collect();
    let before = app.statement_count();
    let v = app
        .graphql(
            &format!("{{ checkoutSessions(first: 1) {{ {counts} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["checkoutSessions"]["c999"], 1, "{v}");
    assert!(
        app.statement_count() - before <= 6,
        "{} statements",
        app.statement_count() - before
    );

    // GraphQL bodies are JSON, as on REST.
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.key)
        .header("content-type", "text/plain")
        .body(json!({"query": "{ __typename }"}).to_string())
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type", None).await;
}

#[tokio::test]
async fn control_characters_are_refused_and_impossible_ids_are_unknown() {
    let app = spawn_app().await;
    let mut body = seed_body();
    body["line_items"][0]["name"] = json!("Plan\u{0}");
    body["metadata"] = json!({"order": "a\u{1}b"});
    let res = app.post("/api/v1/checkout/sessions", &body).await;
    let v = assert_error(res, 400, "parameter_invalid", Some("line_items[0].name")).await;
    let params: Vec<&str> = v["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["param"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["line_items[0].name", "metadata.order"]);

    let res = app
        .pay(
            "cs_test_x",
            &json!({"payment_method": {"type": "card\u{0}"}}),
        )
        .await;
    assert_error(res, 400, "parameter_invalid", Some("payment_method.type")).await;

    for path in [
        "/api/v1/checkout/sessions/cs_test_%00",
        "/api/v1/checkout/sessions/cs%20x/line_items",
        "/api/v1/payment_intents/pi_%00",
        "/api/v1/subscriptions/sub_%00",
        "/api/checkout/cs_test_%00",
    ] {
        assert_error(app.get(path).await, 404, "resource_missing", None).await;
    }
    let res = app.pay("cs_test_%00", &card("4242424242424242")).await;
    assert_error(res, 404, "resource_missing", None).await;
    let page = app
        .client
        .get(app.url("/checkout/cs_test_%00"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let res = app
        .get("/api/v1/checkout/sessions?client_reference_id=a%00")
        .await;
    assert_error(res, 400, "parameter_invalid", Some("client_reference_id")).await;

    // GraphQL: in the document and in variables.
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.key)
        .json(&json!({"query": "{ checkoutSession(id: \"cs_\\u0000\") { id } }"}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "parameter_invalid", Some("query")).await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.key)
        .json(&json!({"query": "query($id: ID!) { checkoutSession(id: $id) { id } }", "variables": {"id": "cs_\u{0}"}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "parameter_invalid", Some("variables.id")).await;
    let v = app
        .graphql("{ checkoutSession(id: \"cs x\") { id } }", json!({}))
        .await;
    assert_eq!(v["data"]["checkoutSession"], Value::Null, "{v}");

    // Nothing was stored.
    let list: Value = app
        .get("/api/v1/checkout/sessions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_revoked_key_closes_its_open_subscription_with_4403() {
    let app = spawn_app_with(|c| c.credential_recheck_ms = 100).await;
    let token = credentials::issue(
        &app.state,
        &app.merchant_id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read],
    )
    .await
    .unwrap();
    let mut ws = ws_connect_base(
        &app.base,
        json!({"authorization": format!("Bearer {}", token.secret)}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { checkoutSessionUpdated { id status } }"}}).to_string(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    credentials::revoke(&app.state, &token.prefix)
        .await
        .unwrap();
    // A change after revocation never reaches the socket; the socket closes.
    let id = app.seed_session().await;
    app.pay(&id, &card("4242424242424242")).await;
    let mut code = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
        match msg {
            Ok(Message::Close(frame)) => {
                code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_ne!(v["type"], "next", "an event reached a revoked key: {v}");
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(4403));
}

/// Puts an intent in the state a crash leaves: claimed by `attempt`, no answer recorded.
async fn interrupted_claim(app: &crate::helpers::TestApp, session: &str, attempt: &str) -> String {
    use entity::payment_intent as pi;
    let s: Value = app
        .get(&format!("/api/v1/checkout/sessions/{session}"))
        .await
        .json()
        .await
        .unwrap();
    let intent = s["payment_intent"].as_str().unwrap().to_string();
    pi::Entity::update_many()
        .col_expr(pi::Column::Status, Expr::value("processing"))
        .col_expr(pi::Column::AttemptId, Expr::value(attempt))
        .col_expr(pi::Column::Updated, Expr::value(app.state.clock.now()))
        .filter(pi::Column::Id.eq(&intent))
        .exec(&app.state.db)
        .await
        .unwrap();
    intent
}

#[tokio::test]
async fn recovery_settles_interrupted_payments_from_the_processors_answer() {
    let app = spawn_app().await;
    let charged = app.seed_session().await;
    let never_sent = app.seed_session().await;
    let pending = app.seed_session().await;
    interrupted_claim(&app, &charged, "py_recover_charged").await;
    interrupted_claim(&app, &never_sent, "py_recover_lost").await;
    interrupted_claim(&app, &pending, "py_recover_pending").await;
    // The processor received two of them before the "crash".
    let p = &app.state.processor;
    let attempt = |id: &'static str| ikawaari::processor::Attempt {
        id,
        reference: id,
        provider_id: None,
        intent_id: "pi_unused",
        amount: 50_000,
        currency: entity::currency::Currency::parse("XOF").unwrap(),
        statement: "",
        return_url: "",
        notification_url: "",
    };
    let c = Charge::Card {
        number: "4242424242424242",
        exp_month: 12,
        exp_year: 2030,
        cvc: "123",
    };
    p.initiate(&attempt("py_recover_charged"), c).await.unwrap();
    let m = Charge::MobileMoney {
        provider: "orange_money",
        phone: "+2250700000000",
    };
    p.initiate(&attempt("py_recover_pending"), m).await.unwrap();

    // Past the stale-claim window, the sweep asks the processor.
    app.state.clock.advance(200);
    ikawaari::workers::tick(&app.state).await.unwrap();
    assert_eq!(app.public(&charged).await["status"], "complete");
    let lost = app.public(&never_sent).await;
    assert_eq!(lost["status"], "open", "{lost}");
    let res = app.pay(&never_sent, &card("4242424242424242")).await;
    assert_eq!(res.status(), 200, "the never-charged attempt was released");
    // The pending one settles when the processor says it does.
    app.wait_for_status(&pending, "complete").await;
}

#[tokio::test]
async fn rate_limit_says_when_to_retry_and_believes_only_trusted_proxies() {
    let trusting = spawn_app_with(|c| {
        c.pay_rate_limit = 2;
        c.trusted_proxies = ikawaari::config::parse_cidrs("127.0.0.1/32, ::1");
    })
    .await;
    let pay_from = |app: &crate::helpers::TestApp, s: String, xff: &'static str| {
        let req = app
            .client
            .post(app.url(&format!("/api/checkout/{s}/pay")))
            .header("X-Forwarded-For", xff)
            .json(&card("4000000000000002"));
        async move { req.send().await.unwrap() }
    };
    let mut statuses = Vec::new();
    for xff in [
        "203.0.113.7",
        "10.9.9.9, 203.0.113.7",
        "203.0.113.7",
        "198.51.100.9",
    ] {
        let s = trusting.seed_session().await;
        statuses.push(pay_from(&trusting, s, xff).await);
    }
    let last = statuses.pop().unwrap();
    let limited = statuses.pop().unwrap();
    assert_eq!(
        last.status(),
        402,
        "another client behind the proxy has its own budget"
    );
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(limited, 429, "rate_limited", None).await;

    // Without trust, X-Forwarded-For is the client's to forge: ignored.
    let plain = spawn_app_with(|c| c.pay_rate_limit = 2).await;
    let mut last = None;
    for xff in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let s = plain.seed_session().await;
        last = Some(pay_from(&plain, s, xff).await);
    }
    assert_error(last.unwrap(), 429, "rate_limited", None).await;
}

#[tokio::test]
async fn idempotency_compares_the_parsed_request() {
    let app = spawn_app().await;
    let a = r#"{"mode":"payment","line_items":[{"name":"Premium Plan","amount":50000,"currency":"XOF","quantity":1}],"success_url":"https://yoursite.com/s","cancel_url":"https://yoursite.com/c"}"#;
    let b = r#"{ "cancel_url": "https://yoursite.com/c", "success_url": "https://yoursite.com/s", "line_items": [ {"quantity": 1, "currency": "XOF", "amount": 50000, "name": "Premium Plan"} ], "mode": "payment" }"#;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/checkout/sessions"))
            .bearer_auth(&app.key)
            .header("Idempotency-Key", "same-json")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let first: Value = send(a).await.unwrap().json().await.unwrap();
    let again = send(b).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other = r#"{"mode":"payment","line_items":[{"name":"Premium Plan","amount":50001,"currency":"XOF","quantity":1}],"success_url":"https://yoursite.com/s","cancel_url":"https://yoursite.com/c"}"#;
    assert_error(
        send(other).await.unwrap(),
        400,
        "idempotency_key_mismatch",
        None,
    )
    .await;
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_only_its_socket() {
    let app = spawn_app().await;
    let mut ws = ws_connect_base(
        &app.base,
        json!({"authorization": format!("Bearer {}", app.key)}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    let big = format!(
        "{{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{{\"query\":\"{}\"}}}}",
        " ".repeat(300 * 1024)
    );
    let _ = ws.send(Message::text(big)).await;
    // The server drops this socket (over the 256 KiB message limit)...
    let mut closed = false;
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match next {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                closed = true;
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    assert!(closed, "a 300 KiB message was accepted");
    // ...and everyone else is served.
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut other = ws_connect_base(
        &app.base,
        json!({"authorization": format!("Bearer {}", app.key)}),
    )
    .await;
    assert_eq!(
        next_json(&mut other).await.unwrap()["type"],
        "connection_ack"
    );
}

#[tokio::test]
async fn an_id_of_the_wrong_kind_is_unknown_without_a_query() {
    let app = spawn_app_without_webhook_worker().await;
    let session = app.seed_session().await;
    let created: Value = app
        .get(&format!("/api/v1/checkout/sessions/{session}"))
        .await
        .json()
        .await
        .unwrap();
    let intent = created["payment_intent"].as_str().unwrap().to_string();
    let statements = |path: String| {
        let app = &app;
        async move {
            let before = app.statement_count();
            let res = app.get(&path).await;
            assert_error(res, 404, "resource_missing", None).await;
            app.statement_count() - before
        }
    };
    // A payment intent's id where a session's is expected, and the reverse.
    let wrong_kind = statements(format!("/api/v1/checkout/sessions/{intent}")).await;
    let wrong_kind_2 = statements(format!("/api/v1/payment_intents/{session}")).await;
    let unknown =
        statements("/api/v1/checkout/sessions/cs_test_0000000000000000000000000000".into()).await;
    assert!(
        wrong_kind < unknown && wrong_kind_2 < unknown,
        "{wrong_kind} {wrong_kind_2} {unknown}"
    );
}
