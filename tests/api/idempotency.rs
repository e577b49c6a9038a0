//! SPEC §5 Idempotency-Key: replay byte for byte, mismatch, in flight, scope, retention.
use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::*;

async fn post_with_key(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Option<String>, String) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    (status, replayed, res.text().await.unwrap())
}

#[tokio::test]
async fn same_key_same_body_replays_the_first_response() {
    let app = spawn_app().await;
    let path = "/api/v1/checkout/sessions";
    let (s1, r1, b1) = post_with_key(&app, &app.key, path, "order-1", &seed_body()).await;
    assert_eq!((s1, r1), (200, None));
    let (s2, r2, b2) = post_with_key(&app, &app.key, path, "order-1", &seed_body()).await;
    assert_eq!((s2, r2.as_deref()), (200, Some("true")));
    assert_eq!(b1, b2, "byte for byte");
    let list: Value = app
        .get("/api/v1/checkout/sessions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "one session created"
    );
    // Another body with the same key.
    let mut other = seed_body();
    other["line_items"][0]["amount"] = json!(1);
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.key)
        .header("Idempotency-Key", "order-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    let v = assert_error(res, 400, "idempotency_key_mismatch", None).await;
    assert_eq!(v["error"]["type"], "idempotency_error");
    // Errors are replayed too (a 400 stays a 400).
    let bad = json!({"mode": "payment"});
    let (e1, _, eb1) = post_with_key(&app, &app.key, path, "bad-1", &bad).await;
    let (e2, er2, eb2) = post_with_key(&app, &app.key, path, "bad-1", &bad).await;
    assert_eq!((e1, e2, er2.as_deref()), (400, 400, Some("true")));
    assert_eq!(eb1, eb2);
    // Over-long keys are refused.
    let (s, _, b) = post_with_key(&app, &app.key, path, &"k".repeat(256), &seed_body()).await;
    assert_eq!(s, 400, "{b}");
}

#[tokio::test]
async fn keys_are_scoped_to_merchant_and_mode_and_kept_24_hours() {
    let app = spawn_app().await;
    let path = "/api/v1/checkout/sessions";
    let (_, _, test_body) = post_with_key(&app, &app.key, path, "k1", &seed_body()).await;
    let (s, replayed, live_body) =
        post_with_key(&app, &app.live_key, path, "k1", &seed_body()).await;
    assert_eq!((s, replayed), (200, None), "live mode has its own keys");
    assert_ne!(test_body, live_body);
    app.state.clock.advance(24 * 3600 + 1);
    let (s, replayed, later) = post_with_key(&app, &app.key, path, "k1", &seed_body()).await;
    assert_eq!((s, replayed), (200, None), "expired keys are forgotten");
    assert_ne!(later, test_body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_create_one_session() {
    let app = Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let key = app.key.clone();
            post_with_key(
                &app,
                &key,
                "/api/v1/checkout/sessions",
                "race-key",
                &seed_body(),
            )
            .await
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, _, body) = t.await.unwrap();
        assert!(status == 200 || status == 409, "{status} {body}");
        if status == 409 {
            assert!(body.contains("idempotency_key_in_use"), "{body}");
        } else {
            bodies.push(body);
        }
    }
    assert!(!bodies.is_empty());
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every 200 is the same response"
    );
    let list: Value = app
        .get("/api/v1/checkout/sessions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pay_retries_with_one_key_never_pay_twice() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let path = format!("/api/checkout/{id}/pay");
    let send = |key: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url(&path))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let replayed = res.headers().contains_key("idempotent-replayed");
            (res.status().as_u16(), replayed, res.text().await.unwrap())
        }
    };
    let (s1, r1, b1) = send("attempt-1", card("4000000000000002")).await;
    assert_eq!((s1, r1), (402, false));
    let (s2, r2, b2) = send("attempt-1", card("4000000000000002")).await;
    assert_eq!((s2, r2), (402, true));
    assert_eq!(b1, b2);
    let (s3, _, b3) = send("attempt-2", card("4242424242424242")).await;
    assert_eq!(s3, 200, "{b3}");
    let (s4, r4, b4) = send("attempt-2", card("4242424242424242")).await;
    assert_eq!((s4, r4), (200, true));
    assert_eq!(b3, b4);
    // The same key on another session is independent.
    let other = app.seed_session().await;
    let res = app
        .client
        .post(app.url(&format!("/api/checkout/{other}/pay")))
        .header("Idempotency-Key", "attempt-2")
        .json(&card("4242424242424242"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("idempotent-replayed"));
}
