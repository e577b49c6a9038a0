//! SPEC §4: the pay route, the test processor's table, state conflicts,
//! exactly-once under races, and no card data anywhere after the call.
use std::sync::Arc;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn succeeding_cards_complete_the_session() {
    let app = spawn_app().await;
    for number in [
        "4242424242424242",
        "5555555555554444",
        "4242 4242 4242 4242",
    ] {
        let id = app.seed_session().await;
        let res = app.pay(&id, &card(number)).await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["status"], "succeeded");
        assert_eq!(v["payment_intent"]["status"], "succeeded");
        assert!(
            v["payment_intent"]["id"]
                .as_str()
                .unwrap()
                .starts_with("pi_")
        );
        assert_eq!(
            v["redirect_url"],
            format!("https://yoursite.com/success?session_id={id}")
        );
        assert_eq!(v["session"]["object"], "checkout.session.public");
        assert_eq!(v["session"]["status"], "complete");
        let s: Value = app
            .get(&format!("/api/v1/checkout/sessions/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(s["status"], "complete");
        assert_eq!(s["payment_status"], "paid");
        assert!(s["completed_at"].as_i64().unwrap() >= s["created"].as_i64().unwrap());
        let pi: Value = app
            .get(&format!(
                "/api/v1/payment_intents/{}",
                s["payment_intent"].as_str().unwrap()
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(pi["status"], "succeeded");
        assert_eq!(pi["payment_method"]["type"], "card");
        assert_eq!(
            pi["payment_method"]["last4"],
            &number.replace(' ', "")[12..]
        );
        assert_eq!(pi["payment_method"]["exp_month"], 12);
        // Paying again is a conflict.
        assert_error(
            app.pay(&id, &card("4242424242424242")).await,
            409,
            "checkout_session_completed",
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn declines_follow_the_test_table_and_leave_the_session_payable() {
    let app = spawn_app().await;
    let table = [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
        ("4111111111111111", "card_declined", "test_mode_live_card"),
    ];
    let id = app.seed_session().await;
    for (number, code, decline) in table {
        let v = assert_error(app.pay(&id, &card(number)).await, 402, code, None).await;
        assert_eq!(v["error"]["type"], "card_error");
        assert_eq!(v["error"]["decline_code"], decline);
        let public = app.public(&id).await;
        assert_eq!(public["status"], "open");
        assert_eq!(
            public["payment_intent"]["status"],
            "requires_payment_method"
        );
        assert_eq!(public["payment_intent"]["last_payment_error"]["code"], code);
        assert_eq!(
            public["payment_intent"]["last_payment_error"]["decline_code"],
            decline
        );
    }
    let res = app.pay(&id, &card("4242424242424242")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.public(&id).await["payment_intent"]["last_payment_error"],
        Value::Null
    );
}

#[tokio::test]
async fn format_errors_are_400_with_params_and_never_echo_card_data() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let pm = |card: Value| json!({"payment_method": {"type": "card", "card": card}});
    let cases = vec![
        (
            pm(
                json!({"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.number",
        ),
        (
            pm(json!({"number": "424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"})),
            "parameter_invalid",
            "payment_method.card.number",
        ),
        (
            pm(
                json!({"number": "42424242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.number",
        ),
        (
            pm(
                json!({"number": "4242abcd42424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.number",
        ),
        (
            pm(
                json!({"number": 4242424242424242u64, "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.number",
        ),
        (
            pm(json!({"exp_month": 12, "exp_year": 2030, "cvc": "123"})),
            "parameter_missing",
            "payment_method.card.number",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 13, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.exp_month",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 0, "exp_year": 2030, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.exp_month",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123"}),
            ),
            "parameter_invalid",
            "payment_method.card.exp_year",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "12"}),
            ),
            "parameter_invalid",
            "payment_method.card.cvc",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "12345"}),
            ),
            "parameter_invalid",
            "payment_method.card.cvc",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": 987}),
            ),
            "parameter_invalid",
            "payment_method.card.cvc",
        ),
        (
            pm(
                json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "pin": "0000"}),
            ),
            "parameter_unknown",
            "payment_method.card.pin",
        ),
        (
            json!({"payment_method": {"type": "card"}}),
            "parameter_missing",
            "payment_method.card",
        ),
        (
            json!({"payment_method": {"type": "cash"}}),
            "parameter_invalid",
            "payment_method.type",
        ),
        (json!({}), "parameter_missing", "payment_method"),
        (
            json!({"payment_method": {"type": "mobile_money", "mobile_money": {"provider": "orange_money", "phone": "0700000000"}}}),
            "parameter_invalid",
            "payment_method.mobile_money.phone",
        ),
        (
            json!({"payment_method": {"type": "mobile_money", "mobile_money": {"provider": "paypal", "phone": "+2250700000000"}}}),
            "parameter_invalid",
            "payment_method.mobile_money.provider",
        ),
        (
            json!({"payment_method": {"type": "mobile_money", "mobile_money": {"phone": "+2250700000000"}}}),
            "parameter_missing",
            "payment_method.mobile_money.provider",
        ),
        // Amount and currency always come from the session.
        (
            json!({"payment_method": card("4242424242424242")["payment_method"], "amount": 1}),
            "parameter_unknown",
            "amount",
        ),
        (
            json!({"payment_method": card("4242424242424242")["payment_method"], "currency": "USD"}),
            "parameter_unknown",
            "currency",
        ),
        (
            json!({"payment_method": card("4242424242424242")["payment_method"], "email": "nope"}),
            "parameter_invalid",
            "email",
        ),
    ];
    for (body, code, param) in cases {
        let res = app.pay(&id, &body).await;
        let text = {
            let v = assert_error(res, 400, code, None).await;
            let params: Vec<String> = v["error"]["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["param"].as_str().unwrap().to_string())
                .collect();
            assert!(params.iter().any(|p| p == param), "expected {param} in {v}");
            v.to_string()
        };
        for secret in [
            "4242424242424242",
            "4242424242424241",
            "424242424242",
            "12345",
            "987",
        ] {
            assert!(!text.contains(secret), "card data echoed: {text}");
        }
    }
    // Nothing changed.
    let public = app.public(&id).await;
    assert_eq!(public["status"], "open");
    assert_eq!(
        public["payment_intent"]["status"],
        "requires_payment_method"
    );
    // Methods not offered by the session are refused.
    let mut body = seed_body();
    body["payment_method_types"] = json!(["mobile_money"]);
    let momo_only = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        app.pay(&momo_only, &card("4242424242424242")).await,
        400,
        "parameter_invalid",
        Some("payment_method.type"),
    )
    .await;
    assert_error(
        app.pay("cs_test_nope", &card("4242424242424242")).await,
        404,
        "resource_missing",
        None,
    )
    .await;
}

#[tokio::test]
async fn no_card_number_or_cvc_is_stored() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let mut body = card("4000000000000002");
    body["payment_method"]["card"]["cvc"] = json!("9731");
    app.pay(&id, &body).await;
    let mut body = card("4242424242424242");
    body["payment_method"]["card"]["cvc"] = json!("9731");
    assert_eq!(app.pay(&id, &body).await.status(), 200);
    // Scan every text column of every table.
    let backend = app.state.db.get_database_backend();
    for table in [
        "checkout_sessions",
        "line_items",
        "payment_intents",
        "payments",
        "idempotency_keys",
        "api_keys",
    ] {
        let rows = app
            .state
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT * FROM {table}"),
            ))
            .await
            .unwrap();
        for row in rows {
            let dump = format!("{row:?}");
            for secret in ["4242424242424242", "4000000000000002", "9731"] {
                assert!(!dump.contains(secret), "{secret} stored in {table}: {dump}");
            }
        }
    }
}

#[tokio::test]
async fn mobile_money_settles_in_the_background() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let res = app.pay(&id, &momo("+2250700000000")).await;
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "processing");
    assert_eq!(v["redirect_url"], Value::Null);
    assert_eq!(v["payment_intent"]["status"], "processing");
    // A second pay while processing.
    assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        409,
        "payment_in_progress",
        None,
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/v1/checkout/sessions/{id}/expire"),
            &json!({}),
        )
        .await,
        409,
        "payment_in_progress",
        None,
    )
    .await;
    let done = app.wait_for_status(&id, "complete").await;
    assert_eq!(done["payment_intent"]["status"], "succeeded");
    let pi: Value = app
        .get(&format!(
            "/api/v1/payment_intents/{}",
            v["payment_intent"]["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pi["payment_method"]["provider"], "orange_money");
    assert_eq!(pi["payment_method"]["phone"], "+225******0000");

    // 0001: processing, then fails; the session stays payable.
    let id = app.seed_session().await;
    assert_eq!(app.pay(&id, &momo("+2250700000001")).await.status(), 202);
    for _ in 0..100 {
        if app.public(&id).await["payment_intent"]["status"] == "requires_payment_method" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let v = app.public(&id).await;
    assert_eq!(v["status"], "open");
    assert_eq!(
        v["payment_intent"]["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    // 0002: succeeds at once.
    let res = app.pay(&id, &momo("+2250700000002")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.public(&id).await["status"], "complete");
}

#[tokio::test]
async fn live_mode_without_a_processor_is_503() {
    let app = spawn_app().await;
    let res = app
        .post_as(&app.live_key, "/api/v1/checkout/sessions", &seed_body())
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        503,
        "processor_unavailable",
        None,
    )
    .await;
    assert_eq!(
        app.public(&id).await["payment_intent"]["status"],
        "requires_payment_method"
    );
}

/// 50 concurrent pays on one session: exactly one success.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_pays_succeed_once() {
    let app = Arc::new(spawn_app().await);
    let id = app.seed_session().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let number = if i % 5 == 0 {
                "5555555555554444"
            } else {
                "4242424242424242"
            };
            app.pay(&id, &card(number)).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 1, "statuses: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let backend = app.state.db.get_database_backend();
    let n = app
        .state
        .db
        .query_one_raw(Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM payments WHERE session_id = '{id}' AND status = 'succeeded'")))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(n, 1);
    eprintln!(
        "race: 50 attempts, {ok} success ({})",
        if app.db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
}

#[tokio::test]
async fn the_database_refuses_a_second_successful_payment() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    assert_eq!(app.pay(&id, &card("4242424242424242")).await.status(), 200);
    let backend = app.state.db.get_database_backend();
    let pi: String = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT payment_intent_id FROM checkout_sessions WHERE id = '{id}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "payment_intent_id")
        .unwrap();
    let dup = app
        .state
        .db
        .execute_unprepared(&format!(
            "INSERT INTO payments (id, payment_intent_id, session_id, status, amount, currency, payment_method, created) VALUES ('py_dup', '{pi}', '{id}', 'succeeded', 50000, 'XOF', '{{}}', 0)"
        ))
        .await;
    assert!(
        dup.is_err(),
        "unique index must refuse a second succeeded payment"
    );
}

#[tokio::test]
async fn test_helpers_drive_sessions_in_test_mode_only() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let v: Value = app
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/fail"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(
        app.public(&id).await["payment_intent"]["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    let v: Value = app
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/succeed"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "complete");
    assert_eq!(v["payment_status"], "paid");
    assert_error(
        app.post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/succeed"),
            &json!({}),
        )
        .await,
        409,
        "checkout_session_completed",
        None,
    )
    .await;
    // Settling a processing mobile-money payment.
    let slow = spawn_app_with(|c| c.test_momo_delay_ms = 600_000).await;
    let id = slow.seed_session().await;
    assert_eq!(slow.pay(&id, &momo("+2250700000000")).await.status(), 202);
    let v: Value = slow
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/succeed"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "complete");
    let id = slow.seed_session().await;
    assert_eq!(slow.pay(&id, &momo("+2250700000000")).await.status(), 202);
    let v: Value = slow
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/fail"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(
        slow.public(&id).await["payment_intent"]["status"],
        "requires_payment_method"
    );
    let v: Value = slow
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{id}/expire"),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "expired");
    // Live keys get 404.
    let live = slow
        .post_as(&slow.live_key, "/api/v1/checkout/sessions", &seed_body())
        .await
        .json::<Value>()
        .await
        .unwrap();
    let live_id = live["id"].as_str().unwrap();
    for action in ["succeed", "fail", "expire"] {
        assert_error(
            slow.post_as(
                &slow.live_key,
                &format!("/api/v1/test_helpers/checkout/sessions/{live_id}/{action}"),
                &json!({}),
            )
            .await,
            404,
            "route_not_found",
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn pay_route_is_rate_limited() {
    let app = spawn_app_with(|c| c.pay_rate_limit = 3).await;
    // Start at the top of a one-minute window so the window cannot roll over mid-test.
    let now = app.state.clock.now();
    app.state.clock.advance(60 - now.rem_euclid(60));
    let id = app.seed_session().await;
    for _ in 0..3 {
        assert_eq!(app.pay(&id, &card("4000000000000002")).await.status(), 402);
    }
    let v = assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        429,
        "rate_limited",
        None,
    )
    .await;
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert_eq!(
        app.public(&id).await["status"],
        "open",
        "a limited request changes nothing"
    );
    app.state.clock.advance(60);
    assert_eq!(app.pay(&id, &card("4242424242424242")).await.status(), 200);
}

#[tokio::test]
async fn the_sweeper_settles_due_payments_and_releases_interrupted_claims() {
    // A pending mobile-money payment whose timer is gone is settled by the periodic sweep.
    let app = spawn_app_with(|c| c.test_momo_delay_ms = 600_000).await;
    let id = app.seed_session().await;
    assert_eq!(app.pay(&id, &momo("+2250700000000")).await.status(), 202);
    ikawaari::workers::tick(&app.state).await.unwrap();
    assert_eq!(app.public(&id).await["status"], "open", "not due yet");
    app.state.clock.advance(601);
    ikawaari::workers::tick(&app.state).await.unwrap();
    assert_eq!(app.public(&id).await["status"], "complete");

    // A card attempt cut short between claim and settlement (a crash) is released.
    let id = app.seed_session().await;
    let backend = app.state.db.get_database_backend();
    let now = app.state.clock.now();
    app.state
        .db
        .execute_raw(Statement::from_string(
            backend,
            format!("UPDATE payment_intents SET status = 'processing', attempt_id = 'py_crashed', updated = {now} WHERE session_id = '{id}'"),
        ))
        .await
        .unwrap();
    assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        409,
        "payment_in_progress",
        None,
    )
    .await;
    app.state.clock.advance(121);
    ikawaari::workers::tick(&app.state).await.unwrap();
    let v = app.public(&id).await;
    assert_eq!(v["payment_intent"]["status"], "requires_payment_method");
    assert_eq!(
        v["payment_intent"]["last_payment_error"]["decline_code"],
        "processing_error"
    );
    assert_eq!(app.pay(&id, &card("4242424242424242")).await.status(), 200);
}
