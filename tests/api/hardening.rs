//! What an attacker or a failing dependency found (issue 20): a GraphQL
//! document that expands to millions of fields, sockets that escape the
//! connection cap, an idempotent retry let in while the first request still
//! runs, GraphQL mutations without idempotency, secrets in clear in stored
//! responses.
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::graphql::{next_json, ws_connect_base};
use crate::helpers::*;

/// `fragment F{n} on QueryRoot{...F{n-1} ...F{n-1}}`: 2^levels fields once expanded.
fn bomb(levels: u32) -> String {
    let mut q = format!("query{{...F{levels}}} fragment F0 on QueryRoot{{__typename}}");
    for n in 1..=levels {
        q.push_str(&format!(
            " fragment F{n} on QueryRoot{{...F{m} ...F{m}}}",
            m = n - 1
        ));
    }
    q
}

/// `GET /healthz` on a connection of its own; its answer time.
async fn healthz_time(base: &str) -> Duration {
    let started = Instant::now();
    let res = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("healthz");
    assert_eq!(res.status(), 200);
    started.elapsed()
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_at_once_and_the_server_stays_up() {
    let app = spawn_app().await;
    let send = |levels: u32| {
        let (client, url) = (app.client.clone(), app.url("/graphql"));
        async move {
            let started = Instant::now();
            let v: Value = client
                .post(url)
                .json(&json!({"query": bomb(levels)}))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .expect("answered")
                .json()
                .await
                .expect("json");
            (v, started.elapsed())
        }
    };
    // Two of the largest in parallel (they aborted the process), and
    // `/healthz` meanwhile.
    let base = app.base.clone();
    let health = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            worst = worst.max(healthz_time(&base).await);
        }
        worst
    });
    let ((a, ta), (b, tb)) = tokio::join!(send(24), send(30));
    for (v, took) in [(a, ta), (b, tb)] {
        assert!(v.get("data").is_none_or(Value::is_null), "{v}");
        let e = &v["errors"][0];
        assert!(e["message"].as_str().unwrap().contains("fragments"), "{v}");
        assert_eq!(e["extensions"]["code"], "parameter_invalid");
        assert_eq!(e["extensions"]["type"], "invalid_request_error");
        assert!(took < Duration::from_secs(2), "answered in {took:?}");
    }
    // Fragments that spread each other (twice each) are refused at once too:
    // async-graphql's own recursion check would walk them 32 levels deep.
    let started = Instant::now();
    let v = app
        .graphql(
            "{...A} fragment A on QueryRoot{...B ...B} fragment B on QueryRoot{...A ...A}",
            json!({}),
        )
        .await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "parameter_invalid",
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let worst = health.await.unwrap();
    assert!(worst < Duration::from_secs(2), "/healthz took {worst:?}");
    // Fragments within the bound still run.
    let v = app.graphql(&bomb(8), json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_fragment_bomb_over_the_websocket_is_refused_too() {
    let app = spawn_app().await;
    let mut ws = ws_connect_base(
        &app.base,
        json!({"authorization": format!("Bearer {}", app.key)}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    let started = Instant::now();
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": bomb(30)}}).to_string(),
    ))
    .await
    .unwrap();
    let v = next_json(&mut ws).await.expect("an answer");
    assert_eq!(v["id"], "1");
    // async-graphql answers a refused document with a `next` carrying the errors.
    let errors = match v["type"].as_str() {
        Some("next") => &v["payload"]["errors"],
        _ => &v["payload"],
    };
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("fragments"),
        "{v}"
    );
    assert_eq!(errors[0]["extensions"]["code"], "parameter_invalid");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The close code of the next close frame, waiting at most `within`.
async fn close_code(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    within: Duration,
) -> Option<u16> {
    let deadline = Instant::now() + within;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        match msg {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[tokio::test]
async fn a_websocket_that_never_sends_connection_init_is_closed_with_4408() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app().await;
    let mut req = format!("ws://{}/graphql/ws", app.base.trim_start_matches("http://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let started = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(10)).await,
        Some(4408)
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(9),
        "closed after {took:?}"
    );
}

/// `GET /healthz` written on a raw connection: the answer's first bytes,
/// or None when nothing came within `within`.
async fn raw_healthz(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .ok()?;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(within, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn upgraded_websockets_hold_their_place_under_the_connection_cap() {
    let app = spawn_app_with(|c| c.limits.max_connections = 3).await;
    let init = json!({"authorization": format!("Bearer {}", app.key)});
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut ws = ws_connect_base(&app.base, init.clone()).await;
        assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
        sockets.push(ws);
    }
    // Three open sockets fill the cap: a fourth connection waits in the
    // listen backlog, unanswered.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut waiting = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(
        raw_healthz(&mut waiting, Duration::from_millis(1500)).await,
        None
    );
    // One closes: its place goes to the waiting connection.
    let mut closed = sockets.pop().unwrap();
    closed.close(None).await.unwrap();
    drop(closed);
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("answered once a socket closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

async fn paid_intent(app: &TestApp, amount: i64) -> String {
    let s = app
        .create_session(&json!({"line_items":[{"name":"Commande","amount":amount,"currency":"XOF","quantity":1}],
            "mode":"payment","success_url":"https://shop.test/ok"}))
        .await;
    let res = app
        .pay(s["id"].as_str().unwrap(), &card("4242424242424242"))
        .await;
    assert_eq!(res.status(), 200);
    s["payment_intent"].as_str().unwrap().to_string()
}

async fn refund_with_key(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/refunds"))
        .bearer_auth(&app.key)
        .header("Idempotency-Key", key)
        .json(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("request")
}

/// `refund_with_key` in a task of its own: its answer, once it comes.
fn spawn_refund(
    app: &TestApp,
    key: &str,
    body: &Value,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let (client, url, api_key, key, body) = (
        app.client.clone(),
        app.url("/api/v1/refunds"),
        app.key.clone(),
        key.to_string(),
        body.clone(),
    );
    tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(api_key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    })
}

async fn refunds_of(app: &TestApp, intent: &str) -> Vec<Value> {
    let v: Value = app
        .get(&format!("/api/v1/refunds?payment_intent={intent}"))
        .await
        .json()
        .await
        .unwrap();
    v["data"].as_array().unwrap().clone()
}

/// The refund held up (the intent's row locked on PostgreSQL, the database's
/// write lock on SQLite) well past the point where its key used to look
/// abandoned: the retry is never let in while the first one still runs, and
/// every retry afterwards holds the first refund.
#[tokio::test]
async fn a_refund_retried_while_the_first_still_runs_runs_once() {
    let app = spawn_app_with(|c| c.idempotency_heartbeat = Duration::from_millis(200)).await;
    let pi = paid_intent(&app, 10_000).await;
    let body = json!({"payment_intent": pi, "amount": 1000});
    let other = Database::connect(&app.db.url).await.unwrap();
    let blocker = if app.db.is_postgres() {
        let tx = other.begin().await.unwrap();
        tx.execute_unprepared(&format!(
            "SELECT id FROM payment_intents WHERE id = '{pi}' FOR UPDATE"
        ))
        .await
        .unwrap();
        tx
    } else {
        other
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .unwrap()
    };
    let first = spawn_refund(&app, "refund-once", &body);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The first request has been running "61 s": its key would be taken over
    // if nothing said it is alive.
    app.state.clock.advance(61);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let retry = if app.db.is_postgres() {
        // Nothing else is blocked: the retry is answered at once.
        let started = Instant::now();
        let res = refund_with_key(&app, "refund-once", &body).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_error(res, 409, "idempotency_key_in_use", None).await;
        None
    } else {
        // Every write waits for the database here, the retry's too.
        Some(spawn_refund(&app, "refund-once", &body))
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocker.rollback().await.unwrap();
    let res = first.await.unwrap();
    assert_eq!(res.status(), 200);
    let created: Value = res.json().await.unwrap();
    if let Some(retry) = retry {
        let res = retry.await.unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        match status {
            409 => assert_eq!(v["error"]["code"], "idempotency_key_in_use"),
            200 => assert_eq!(v["id"], created["id"], "the retry holds the first refund"),
            other => panic!("retry answered {other}: {v}"),
        }
    }
    let res = refund_with_key(&app, "refund-once", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let replayed: Value = res.json().await.unwrap();
    assert_eq!(replayed["id"], created["id"]);
    let all = refunds_of(&app, &pi).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let intent: Value = app
        .get(&format!("/api/v1/payment_intents/{pi}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(intent["amount_refunded"], 1000, "{intent}");
}

/// The refunds table keeps one refund per key even when the key row is gone
/// (a request that reached the service twice): the second answer is the first refund.
#[tokio::test]
async fn a_refund_key_is_unique_in_the_refunds_table() {
    let app = spawn_app().await;
    let pi = paid_intent(&app, 10_000).await;
    let body = json!({"payment_intent": pi, "amount": 2500});
    let first: Value = refund_with_key(&app, "k-1", &body)
        .await
        .json()
        .await
        .unwrap();
    app.state
        .db
        .execute_unprepared("DELETE FROM idempotency_keys")
        .await
        .unwrap();
    let res = refund_with_key(&app, "k-1", &body).await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    // The same key for another payment is a mismatch, not a second refund.
    let pi2 = paid_intent(&app, 5_000).await;
    app.state
        .db
        .execute_unprepared("DELETE FROM idempotency_keys")
        .await
        .unwrap();
    let res = refund_with_key(&app, "k-1", &json!({"payment_intent": pi2})).await;
    assert_error(res, 400, "idempotency_key_mismatch", None).await;
    assert_eq!(refunds_of(&app, &pi).await.len(), 1);
    assert_eq!(refunds_of(&app, &pi2).await.len(), 0);
}

async fn graphql_with_key(app: &TestApp, key: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.key)
        .json(&json!({"query": query}));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn graphql_mutations_honour_idempotency_keys() {
    let app = spawn_app().await;
    let pi = paid_intent(&app, 10_000).await;
    let mutation = format!(
        r#"mutation {{ createRefund(input: {{paymentIntent: "{pi}", amount: 1000}}) {{ id amount }} }}"#
    );
    let a = graphql_with_key(&app, Some("gql-1"), &mutation).await;
    assert_eq!(a.status(), 200);
    let a: Value = a.json().await.unwrap();
    assert!(a.get("errors").is_none(), "{a}");
    let b = graphql_with_key(&app, Some("gql-1"), &mutation).await;
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    let b: Value = b.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(refunds_of(&app, &pi).await.len(), 1);
    // The same key with another document is refused; another key is another refund.
    let other = mutation.replace("1000", "2000");
    let res = graphql_with_key(&app, Some("gql-1"), &other).await;
    assert_error(res, 400, "idempotency_key_mismatch", None).await;
    let c: Value = graphql_with_key(&app, Some("gql-2"), &mutation)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        c["data"]["createRefund"]["id"],
        a["data"]["createRefund"]["id"]
    );
    assert_eq!(refunds_of(&app, &pi).await.len(), 2);
    // Without a key nothing is stored, and a keyless document still answers.
    let v: Value = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("Idempotency-Key", "anon")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_stored_response_with_a_webhook_secret_is_sealed() {
    let app = spawn_app().await;
    let post = |path: String, key: &'static str, body: Value| {
        let (client, url, api_key) = (app.client.clone(), app.url(&path), app.key.clone());
        async move {
            let res = client
                .post(url)
                .bearer_auth(api_key)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let body = json!({"url": "https://example.com/hooks", "enabled_events": ["*"]});
    let created = post("/api/v1/webhook_endpoints".into(), "ep-1", body.clone()).await;
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_string();
    let rotated = post(
        format!("/api/v1/webhook_endpoints/{id}/rotate_secret"),
        "rot-1",
        json!({}),
    )
    .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    // Stored: nothing of either secret in clear.
    let rows = app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT body FROM idempotency_keys",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let stored: String = row.try_get("", "body").unwrap();
        assert!(!stored.contains("whsec_"), "{stored}");
        assert!(!stored.contains(&secret[6..]) && !stored.contains(&new_secret[6..]));
    }
    // Replayed as first answered.
    let again = post("/api/v1/webhook_endpoints".into(), "ep-1", body).await;
    assert_eq!(again, created);
    let again = post(
        format!("/api/v1/webhook_endpoints/{id}/rotate_secret"),
        "rot-1",
        json!({}),
    )
    .await;
    assert_eq!(again["secret"], new_secret.as_str());
}
