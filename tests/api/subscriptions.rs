//! Subscription mode: the first payment creates `sub_…`; read and cancel it.
use serde_json::{Value, json};

use crate::helpers::*;

fn subscription_body(interval: &str, count: i64) -> Value {
    json!({"line_items": [{"name": "Abonnement Premium", "amount": 5000, "currency": "XOF", "quantity": 2,
                           "recurring": {"interval": interval, "interval_count": count}}],
           "mode": "subscription", "success_url": "https://yoursite.com/ok"})
}

#[tokio::test]
async fn first_payment_creates_an_active_subscription() {
    let app = spawn_app().await;
    let s = app.create_session(&subscription_body("month", 1)).await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(
        s["line_items"]["data"][0]["recurring"],
        json!({"interval": "month", "interval_count": 1})
    );
    assert_eq!(s["subscription"], Value::Null);
    let id = s["id"].as_str().unwrap();
    assert_eq!(app.pay(id, &card("4242424242424242")).await.status(), 200);
    let s: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let sub_id = s["subscription"].as_str().expect("linked subscription");
    assert!(sub_id.starts_with("sub_"));
    let sub: Value = app
        .get(&format!("/api/v1/subscriptions/{sub_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["amount"], 10000);
    assert_eq!(sub["cancel_at_period_end"], false);
    let start = sub["current_period_start"].as_i64().unwrap();
    let end = sub["current_period_end"].as_i64().unwrap();
    let days = (end - start) / 86_400;
    assert!(
        (28..=31).contains(&days),
        "a month is 28–31 days, got {days}"
    );
    assert_eq!(sub["items"][0]["name"], "Abonnement Premium");
    assert_eq!(sub["checkout_session"], id);
    // Other merchants and modes see 404.
    assert_error(
        app.get_as(&app.live_key, &format!("/api/v1/subscriptions/{sub_id}"))
            .await,
        404,
        "resource_missing",
        None,
    )
    .await;

    // Cancel at period end: stays active until then.
    let v: Value = app
        .post(
            &format!("/api/v1/subscriptions/{sub_id}/cancel"),
            &json!({"at_period_end": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "active");
    assert_eq!(v["cancel_at_period_end"], true);
    app.state.clock.advance(end - start);
    let v: Value = app
        .get(&format!("/api/v1/subscriptions/{sub_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "canceled");
}

#[tokio::test]
async fn cancel_now_and_periods_by_interval() {
    let app = spawn_app().await;
    for (interval, count, days) in [("day", 3, 3), ("week", 2, 14)] {
        let id = app
            .create_session(&subscription_body(interval, count))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/succeed"),
            &json!({}),
        )
        .await;
        let s: Value = app
            .get(&format!("/api/v1/checkout/sessions/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let sub_id = s["subscription"].as_str().unwrap().to_string();
        let sub: Value = app
            .get(&format!("/api/v1/subscriptions/{sub_id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (sub["current_period_end"].as_i64().unwrap()
                - sub["current_period_start"].as_i64().unwrap())
                / 86_400,
            days
        );
        let res = app
            .client
            .post(app.url(&format!("/api/v1/subscriptions/{sub_id}/cancel")))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], "canceled");
        assert!(v["canceled_at"].is_i64());
    }
    // Payment-mode sessions create no subscription.
    let id = app.seed_session().await;
    app.pay(&id, &card("4242424242424242")).await;
    let s: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["subscription"], Value::Null);
    assert_error(
        app.get("/api/v1/subscriptions/sub_nope").await,
        404,
        "resource_missing",
        None,
    )
    .await;
}
