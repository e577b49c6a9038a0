//! Refunds: full and partial, card and mobile money, never more than was paid.
use std::collections::HashMap;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::Receiver;
use crate::webhooks::endpoint;

fn body_of(amount: i64) -> Value {
    json!({"line_items":[{"name":"Commande","amount":amount,"currency":"XOF","quantity":1}],
           "mode":"payment","success_url":"https://shop.test/ok"})
}

/// A session of `amount` XOF paid with `method`; returns its intent id.
async fn paid_intent(app: &TestApp, amount: i64, method: &Value, status: u16) -> String {
    let s = app.create_session(&body_of(amount)).await;
    assert_eq!(
        app.pay(s["id"].as_str().unwrap(), method).await.status(),
        status
    );
    s["payment_intent"].as_str().unwrap().to_string()
}

async fn refund(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/api/v1/refunds", &body).await
}

async fn intent(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/payment_intents/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn partial_refunds_up_to_the_total_then_no_more() {
    let app = spawn_app().await;
    let pi = paid_intent(&app, 10_000, &card("4242424242424242"), 200).await;
    let res = refund(&app, json!({"payment_intent": pi, "amount": 4000, "reason": "requested_by_customer", "metadata": {"order": "42"}})).await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["object"], "refund");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["amount"], 4000);
    assert_eq!(first["currency"], "XOF");
    assert_eq!(first["reason"], "requested_by_customer");
    assert_eq!(first["metadata"]["order"], "42");
    assert!(first["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(intent(&app, &pi).await["amount_refunded"], 4000);
    let second: Value = refund(&app, json!({"payment_intent": pi, "amount": 6000}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["status"], "succeeded");
    assert_eq!(intent(&app, &pi).await["amount_refunded"], 10_000);
    assert_error(
        refund(&app, json!({"payment_intent": pi, "amount": 1})).await,
        400,
        "amount_too_large",
        None,
    )
    .await;
    assert_error(
        refund(&app, json!({"payment_intent": pi})).await,
        400,
        "charge_already_refunded",
        None,
    )
    .await;
    // The session stays paid; the list shows both, newest first.
    let session = intent(&app, &pi).await["checkout_session"]
        .as_str()
        .unwrap()
        .to_string();
    let s: Value = app
        .get(&format!("/api/v1/checkout/sessions/{session}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["payment_status"], "paid");
    let list: Value = app
        .get(&format!("/api/v1/refunds?payment_intent={pi}"))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&first["id"].as_str().unwrap())
            && ids.contains(&second["id"].as_str().unwrap())
    );
    let got: Value = app
        .get(&format!(
            "/api/v1/refunds/{}",
            first["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, first);
    // A refund without an amount takes all that is left.
    let pi2 = paid_intent(&app, 7_500, &card("5555555555554444"), 200).await;
    let full: Value = refund(&app, json!({"payment_intent": pi2}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(full["amount"], 7_500);
    assert_eq!(intent(&app, &pi2).await["amount_refunded"], 7_500);
}

#[tokio::test]
async fn only_succeeded_payments_are_refundable_and_input_is_checked() {
    let app = spawn_app().await;
    let unpaid = app.create_session(&body_of(5000)).await["payment_intent"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        refund(&app, json!({"payment_intent": unpaid})).await,
        409,
        "payment_intent_unexpected_state",
        None,
    )
    .await;
    let processing = paid_intent(&app, 5000, &momo("+2250700000000"), 202).await;
    assert_error(
        refund(&app, json!({"payment_intent": processing, "amount": 100})).await,
        409,
        "payment_intent_unexpected_state",
        None,
    )
    .await;
    let pi = paid_intent(&app, 5000, &card("4242424242424242"), 200).await;
    for (body, code, param) in [
        (
            json!({"payment_intent": pi, "amount": 0}),
            "parameter_invalid",
            "amount",
        ),
        (
            json!({"payment_intent": pi, "amount": -5}),
            "parameter_invalid",
            "amount",
        ),
        (
            json!({"payment_intent": pi, "reason": "bored"}),
            "parameter_invalid",
            "reason",
        ),
        (
            json!({"payment_intent": pi, "currency": "XOF"}),
            "parameter_unknown",
            "currency",
        ),
        (json!({"amount": 10}), "parameter_missing", "payment_intent"),
    ] {
        assert_error(refund(&app, body).await, 400, code, Some(param)).await;
    }
    assert_eq!(
        intent(&app, &pi).await["amount_refunded"],
        0,
        "refused refunds change nothing"
    );
}

#[tokio::test]
async fn refunds_are_invisible_across_merchants_and_modes() {
    use ikawaari::auth::Scope;
    use ikawaari::service::credentials::{self, TokenKind};
    let app = spawn_app().await;
    let pi = paid_intent(&app, 5000, &card("4242424242424242"), 200).await;
    let r: Value = refund(&app, json!({"payment_intent": pi, "amount": 100}))
        .await
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap();
    let other = credentials::create_merchant(&app.state, "Autre Boutique")
        .await
        .unwrap();
    let other_key = credentials::issue(
        &app.state,
        &other.id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read, Scope::Write],
    )
    .await
    .unwrap()
    .secret;
    for key in [&other_key, &app.live_key] {
        assert_error(
            app.get_as(key, &format!("/api/v1/refunds/{id}")).await,
            404,
            "resource_missing",
            None,
        )
        .await;
        let list: Value = app
            .get_as(key, "/api/v1/refunds")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["data"], json!([]));
    }
    let res = app
        .post_as(
            &other_key,
            "/api/v1/refunds",
            &json!({"payment_intent": pi, "amount": 100}),
        )
        .await;
    assert_error(res, 404, "resource_missing", None).await;
    // A live key does not see a test intent: 404, before any processor
    // question (it used to answer 503 `processor_unavailable`).
    let res = app
        .post_as(
            &app.live_key,
            "/api/v1/refunds",
            &json!({"payment_intent": pi, "amount": 100}),
        )
        .await;
    assert_error(res, 404, "resource_missing", None).await;
    assert_eq!(intent(&app, &pi).await["amount_refunded"], 100);
}

#[tokio::test]
async fn a_mobile_money_refund_is_pending_then_succeeds_with_both_events_delivered() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    endpoint(
        &app,
        &rx.url,
        &["refund.created", "refund.updated", "refund.failed"],
    )
    .await;
    let s = app.create_session(&body_of(3000)).await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(app.pay(sid, &momo("+2250700000000")).await.status(), 202);
    app.wait_for_status(sid, "complete").await;
    let pi = s["payment_intent"].as_str().unwrap();
    let r: Value = refund(&app, json!({"payment_intent": pi}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "pending", "{r}");
    assert_eq!(
        intent(&app, pi).await["amount_refunded"],
        3000,
        "a pending refund holds its amount"
    );
    let created = rx.wait_for_type("refund.created").await;
    let updated = rx.wait_for_type("refund.updated").await;
    assert_eq!(created.json()["data"]["object"]["status"], "pending");
    assert_eq!(updated.json()["data"]["object"]["status"], "succeeded");
    assert_eq!(updated.json()["data"]["object"]["id"], r["id"]);
    let now: Value = app
        .get(&format!("/api/v1/refunds/{}", r["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "succeeded");
}

#[tokio::test]
async fn a_failing_card_refund_ends_failed_and_the_amount_is_refundable_again() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    endpoint(&app, &rx.url, &["refund.failed"]).await;
    let pi = paid_intent(&app, 8000, &card("4000000000005126"), 200).await;
    let r: Value = refund(&app, json!({"payment_intent": pi, "amount": 5000}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "pending");
    assert_error(
        refund(&app, json!({"payment_intent": pi, "amount": 5000})).await,
        400,
        "amount_too_large",
        None,
    )
    .await;
    let failed = rx.wait_for_type("refund.failed").await;
    assert_eq!(
        failed.json()["data"]["object"]["failure_reason"],
        "expired_or_canceled_card"
    );
    let now: Value = app
        .get(&format!("/api/v1/refunds/{}", r["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "failed");
    assert_eq!(now["failure_reason"], "expired_or_canceled_card");
    assert_eq!(intent(&app, &pi).await["amount_refunded"], 0);
    let again = refund(&app, json!({"payment_intent": pi})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["amount"], 8000);
}

#[tokio::test]
async fn idempotency_key_replays_the_refund_and_graphql_refunds_the_same_way() {
    let app = spawn_app().await;
    let pi = paid_intent(&app, 9000, &card("4242424242424242"), 200).await;
    let send = || {
        app.client
            .post(app.url("/api/v1/refunds"))
            .bearer_auth(&app.key)
            .header("Idempotency-Key", "refund-order-42")
            .json(&json!({"payment_intent": pi, "amount": 1000}))
            .send()
    };
    let a = send().await.unwrap();
    let a_body: Value = a.json().await.unwrap();
    let b = send().await.unwrap();
    assert!(b.headers().contains_key("idempotent-replayed"));
    assert_eq!(b.json::<Value>().await.unwrap(), a_body);
    assert_eq!(
        intent(&app, &pi).await["amount_refunded"],
        1000,
        "refunded once"
    );
    let v = app
        .graphql(
            r#"mutation($pi: ID!) { createRefund(input: {paymentIntent: $pi, amount: 2000, reason: DUPLICATE}) { id amount status reason } }"#,
            json!({"pi": pi}),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["createRefund"]["amount"], 2000);
    assert_eq!(v["data"]["createRefund"]["status"], "SUCCEEDED");
    let too_much = app
        .graphql(r#"mutation($pi: ID!) { createRefund(input: {paymentIntent: $pi, amount: 999999}) { id } }"#, json!({"pi": pi}))
        .await;
    assert_eq!(
        too_much["errors"][0]["extensions"]["code"], "amount_too_large",
        "{too_much}"
    );
    let q = app
        .graphql(
            r#"query($pi: ID!) { paymentIntent(id: $pi) { amountRefunded refunds { amount status } } refunds(paymentIntent: $pi) { id } }"#,
            json!({"pi": pi}),
        )
        .await;
    assert_eq!(q["data"]["paymentIntent"]["amountRefunded"], 3000, "{q}");
    assert_eq!(
        q["data"]["paymentIntent"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(q["data"]["refunds"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refunds_across_two_processes_never_exceed_the_payment() {
    let db = TestDb::new().await;
    let a = ServerProcess::start(&db.url, &[]);
    let b = ServerProcess::start(&db.url, &[]);
    let key = a.test_key().unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let s: Value = client
        .post(format!("{}/api/v1/checkout/sessions", a.base))
        .bearer_auth(&key)
        .json(&body_of(10_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = s["id"].as_str().unwrap();
    let pi = s["payment_intent"].as_str().unwrap().to_string();
    let paid = client
        .post(format!("{}/api/checkout/{sid}/pay", b.base))
        .json(&card("4242424242424242"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let bases = [a.base.clone(), b.base.clone()];
    let results: Vec<(u16, Value)> = futures::stream::iter(0..50)
        .map(|i| {
            let (client, key, pi, base) = (
                client.clone(),
                key.clone(),
                pi.clone(),
                bases[i % 2].clone(),
            );
            async move {
                let res = client
                    .post(format!("{base}/api/v1/refunds"))
                    .bearer_auth(&key)
                    .json(&json!({"payment_intent": pi, "amount": 1000}))
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for (s, _) in &results {
        *by_status.entry(*s).or_default() += 1;
    }
    let ok: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ok.len(), 10, "{by_status:?}");
    assert!(
        results
            .iter()
            .all(|(s, v)| *s == 200 || (*s == 400 && v["error"]["code"] == "amount_too_large")),
        "{by_status:?}"
    );
    let sum: i64 = ok.iter().map(|v| v["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 10_000);
    let i: Value = client
        .get(format!("{}/api/v1/payment_intents/{pi}", a.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(i["amount_refunded"], 10_000);
    eprintln!(
        "refund race ({}): 50 attempts, {} succeeded, {} refused, refunded {sum} of 10000",
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        ok.len(),
        results.len() - ok.len()
    );
}
