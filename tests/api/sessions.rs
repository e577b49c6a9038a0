use serde_json::{Value, json};

use crate::helpers::*;
use ikawaari::auth::Scope;
use ikawaari::service::credentials::TokenKind;

#[tokio::test]
async fn seed_request_returns_the_spec_response() {
    let app = spawn_app().await;
    // The seed's curl body, verbatim.
    let raw = r#"{"line_items":[{"name":"Premium Plan","amount":50000,"currency":"XOF","quantity":1}],
       "mode":"payment",
       "success_url":"https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
       "cancel_url":"https://yoursite.com/cancel"}"#;
    let res = app
        .client
        .post(app.url("/api/v1/checkout/sessions"))
        .header("Authorization", format!("Bearer {}", app.key))
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("cs_test_") && id.len() >= 8 + 22, "{id}");
    assert_eq!(v["object"], "checkout.session");
    assert_eq!(v["url"], format!("http://checkout.test/checkout/{id}"));
    assert_eq!(v["status"], "open");
    assert_eq!(v["payment_status"], "unpaid");
    assert_eq!(v["amount_total"], 50000);
    assert_eq!(v["amount_subtotal"], 50000);
    assert_eq!(v["currency"], "XOF");
    assert!(v["payment_intent"].as_str().unwrap().starts_with("pi_"));
    let now = app.state.clock.now();
    let exp = v["expires_at"].as_i64().unwrap();
    assert!((exp - (now + 86_400)).abs() <= 2, "default expiry is 24 h");
    assert_eq!(v["line_items"]["object"], "list");
    assert_eq!(v["line_items"]["data"][0]["name"], "Premium Plan");
    assert_eq!(v["line_items"]["data"][0]["amount_total"], 50000);
    assert!(
        v["line_items"]["data"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("li_")
    );
    assert_eq!(v["payment_method_types"], json!(["card", "mobile_money"]));
    assert_eq!(v["locale"], "auto");
    assert_eq!(v["livemode"], false);

    // GET returns the same object.
    let got: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, v);
    // The intent exists, waiting for a payment method.
    let pi: Value = app
        .get(&format!(
            "/api/v1/payment_intents/{}",
            v["payment_intent"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(pi["amount"], 50000);
}

#[tokio::test]
async fn totals_currency_locale_and_options() {
    let app = spawn_app().await;
    let v = app
        .create_session(&json!({
            "line_items": [
                {"name": "  Café  ", "amount": 1250, "currency": "usd", "quantity": 3, "description": "Torréfié à Abidjan",
                 "images": ["https://img.example.com/cafe.png"]},
                {"name": "Sucre", "amount": 199, "currency": "USD", "quantity": 2}],
            "mode": "payment", "currency": "Usd",
            "success_url": "http://localhost:3000/ok", "customer_email": "awa@example.ci",
            "client_reference_id": "order-42", "metadata": {"order": "42"}, "locale": "en-GB",
            "payment_method_types": ["mobile_money"]
        }))
        .await;
    assert_eq!(v["currency"], "USD");
    assert_eq!(v["amount_total"], 1250 * 3 + 199 * 2);
    assert_eq!(v["line_items"]["data"][0]["name"], "Café");
    assert_eq!(v["line_items"]["data"][0]["amount_total"], 3750);
    assert_eq!(v["locale"], "en");
    assert_eq!(v["metadata"], json!({"order": "42"}));
    assert_eq!(v["payment_method_types"], json!(["mobile_money"]));
    for (tag, want) in [
        ("fr-CI", "fr"),
        ("sw", "fr"),
        ("auto", "auto"),
        ("EN", "en"),
    ] {
        let mut body = seed_body();
        body["locale"] = json!(tag);
        assert_eq!(app.create_session(&body).await["locale"], want, "{tag}");
    }
}

#[tokio::test]
async fn list_paginates_newest_first_with_filters() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = seed_body();
        body["client_reference_id"] = json!(format!("ref-{i}"));
        ids.push(
            app.create_session(&body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Another merchant's session never shows.
    let other = spawn_app().await;
    other.seed_session().await;

    let page1: Value = app
        .get("/api/v1/checkout/sessions?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page1["object"], "list");
    assert_eq!(page1["has_more"], true);
    let p1: Vec<String> = page1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(p1.len(), 2);
    let page2: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions?limit=2&starting_after={}",
            p1[1]
        ))
        .await
        .json()
        .await
        .unwrap();
    let page3: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions?limit=2&starting_after={}",
            page2["data"][1]["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page3["has_more"], false);
    let mut all: Vec<String> = p1.clone();
    for p in [&page2, &page3] {
        all.extend(
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    let mut seen = all.clone();
    seen.sort();
    assert_eq!(seen, sorted, "every session exactly once");
    // Newest first: created is non-increasing.
    let full: Value = app
        .get("/api/v1/checkout/sessions?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let created: Vec<i64> = full["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["created"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(full["data"].as_array().unwrap().len(), 5);

    // ending_before walks back.
    let back: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions?limit=2&ending_before={}",
            page2["data"][0]["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let back_ids: Vec<&str> = back["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(back_ids, p1.iter().map(String::as_str).collect::<Vec<_>>());

    // Filters.
    let by_ref: Value = app
        .get("/api/v1/checkout/sessions?client_reference_id=ref-3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_ref["data"].as_array().unwrap().len(), 1);
    assert_eq!(by_ref["data"][0]["id"], ids[3].as_str());
    let pi = by_ref["data"][0]["payment_intent"].as_str().unwrap();
    let by_pi: Value = app
        .get(&format!("/api/v1/checkout/sessions?payment_intent={pi}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_pi["data"][0]["id"], ids[3].as_str());
    app.post(
        &format!("/api/v1/checkout/sessions/{}/expire", ids[0]),
        &json!({}),
    )
    .await;
    let expired: Value = app
        .get("/api/v1/checkout/sessions?status=expired")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired["data"].as_array().unwrap().len(), 1);
    let open: Value = app
        .get("/api/v1/checkout/sessions?status=open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["data"].as_array().unwrap().len(), 4);
    let now = app.state.clock.now();
    let future: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions?created[gte]={}",
            now + 10
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(future["data"].as_array().unwrap().len(), 0);
    let past: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions?created[lte]={}",
            now + 10
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past["data"].as_array().unwrap().len(), 5);

    // Bad list parameters are 400s with a param.
    assert_error(
        app.get("/api/v1/checkout/sessions?limit=0").await,
        400,
        "parameter_invalid",
        Some("limit"),
    )
    .await;
    assert_error(
        app.get("/api/v1/checkout/sessions?limit=101").await,
        400,
        "parameter_invalid",
        Some("limit"),
    )
    .await;
    assert_error(
        app.get("/api/v1/checkout/sessions?limit=abc").await,
        400,
        "parameter_invalid",
        Some("limit"),
    )
    .await;
    assert_error(
        app.get("/api/v1/checkout/sessions?status=paid").await,
        400,
        "parameter_invalid",
        Some("status"),
    )
    .await;
    assert_error(
        app.get("/api/v1/checkout/sessions?colour=red").await,
        400,
        "parameter_unknown",
        Some("colour"),
    )
    .await;
    assert_error(
        app.get("/api/v1/checkout/sessions?starting_after=cs_test_nope")
            .await,
        400,
        "parameter_invalid",
        Some("starting_after"),
    )
    .await;
}

#[tokio::test]
async fn line_items_are_embedded_and_paginated() {
    let app = spawn_app().await;
    let items: Vec<Value> = (0..12).map(|i| json!({"name": format!("Article {i}"), "amount": 100 + i, "currency": "XOF", "quantity": 1})).collect();
    let mut body = seed_body();
    body["line_items"] = json!(items);
    let v = app.create_session(&body).await;
    assert_eq!(v["line_items"]["data"].as_array().unwrap().len(), 10);
    assert_eq!(v["line_items"]["has_more"], true);
    assert_eq!(v["amount_total"], (0..12).map(|i| 100 + i).sum::<i64>());
    let id = v["id"].as_str().unwrap();
    let p1: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions/{id}/line_items?limit=5"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p1["has_more"], true);
    assert_eq!(p1["data"][0]["name"], "Article 0");
    let last = p1["data"][4]["id"].as_str().unwrap();
    let p2: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions/{id}/line_items?limit=10&starting_after={last}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p2["has_more"], false);
    assert_eq!(p2["data"].as_array().unwrap().len(), 7);
    assert_eq!(p2["data"][0]["name"], "Article 5");
    let first_of_p2 = p2["data"][0]["id"].as_str().unwrap();
    let back: Value = app
        .get(&format!(
            "/api/v1/checkout/sessions/{id}/line_items?limit=2&ending_before={first_of_p2}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["data"][0]["name"], "Article 3");
    assert_eq!(back["data"][1]["name"], "Article 4");
    // The public view has all of them.
    assert_eq!(
        app.public(id).await["line_items"].as_array().unwrap().len(),
        12
    );
}

#[tokio::test]
async fn expire_route_and_conflicts() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/checkout/sessions/{id}/expire")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "empty body is accepted");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["status"], "expired");
    let pi: Value = app
        .get(&format!(
            "/api/v1/payment_intents/{}",
            v["payment_intent"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pi["status"], "canceled");
    assert_error(
        app.post(
            &format!("/api/v1/checkout/sessions/{id}/expire"),
            &json!({}),
        )
        .await,
        409,
        "checkout_session_not_open",
        None,
    )
    .await;
    assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        409,
        "checkout_session_expired",
        None,
    )
    .await;
    // Paid sessions cannot be expired.
    let paid = app.seed_session().await;
    assert_eq!(
        app.pay(&paid, &card("4242424242424242")).await.status(),
        200
    );
    assert_error(
        app.post(
            &format!("/api/v1/checkout/sessions/{paid}/expire"),
            &json!({}),
        )
        .await,
        409,
        "checkout_session_not_open",
        None,
    )
    .await;
    // Unknown fields in the empty body are still rejected.
    let fresh = app.seed_session().await;
    assert_error(
        app.post(
            &format!("/api/v1/checkout/sessions/{fresh}/expire"),
            &json!({"now": true}),
        )
        .await,
        400,
        "parameter_unknown",
        Some("now"),
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/checkout/sessions/cs_test_missing/expire",
            &json!({}),
        )
        .await,
        404,
        "resource_missing",
        None,
    )
    .await;
}

#[tokio::test]
async fn sessions_expire_by_time_and_the_first_read_persists_it() {
    let app = spawn_app().await;
    let mut body = seed_body();
    let now = app.state.clock.now();
    body["expires_at"] = json!(now + 3600);
    let id = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let intent = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["payment_intent"]
        .as_str()
        .unwrap()
        .to_string();
    app.state.clock.advance(3600);
    let v: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "expired", "reads as expired at once");
    assert_eq!(app.public(&id).await["status"], "expired");
    assert_error(
        app.pay(&id, &card("4242424242424242")).await,
        409,
        "checkout_session_expired",
        None,
    )
    .await;
    // The first read past `expires_at` persisted the expiry: the intent is
    // canceled, and the sweeper has nothing left to do for this session.
    let pi: Value = app
        .get(&format!("/api/v1/payment_intents/{intent}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pi["status"], "canceled");
    ikawaari::workers::tick(&app.state).await.unwrap();
    let pi: Value = app
        .get(&format!("/api/v1/payment_intents/{intent}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pi["status"], "canceled");
    let listed: Value = app
        .get("/api/v1/checkout/sessions?status=expired")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], id.as_str());
    // A second sweep finds nothing more to do.
    assert_eq!(
        ikawaari::service::checkout::sweep_expired(&app.state, 100)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn public_view_shows_no_private_fields() {
    let app = spawn_app().await;
    let mut body = seed_body();
    body["metadata"] = json!({"secret_note": "vip"});
    body["client_reference_id"] = json!("order-77");
    body["customer_email"] = json!("awa@example.ci");
    let id = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .client
        .get(app.url(&format!("/api/checkout/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "checkout.session.public");
    assert_eq!(v["merchant"]["display_name"], "Boutique Test");
    assert_eq!(v["amount_total"], 50000);
    assert_eq!(v["payment_intent"]["status"], "requires_payment_method");
    assert_eq!(v["cancel_url"], "https://yoursite.com/cancel");
    for private in [
        "metadata",
        "client_reference_id",
        "customer_email",
        "success_url",
        "payment_status_secret",
        "merchant_id",
    ] {
        assert!(v.get(private).is_none(), "{private} leaked");
    }
    for needle in [
        "vip",
        "order-77",
        "awa@example.ci",
        "yoursite.com/success",
        "acct_",
    ] {
        assert!(!text.contains(needle), "{needle} leaked: {text}");
    }
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    // `custom_amount`: the bounds of a payment link's typed amount (null
    // here); `payment_methods`: what this session can be paid with (§11).
    assert_eq!(keys.len(), 18, "{keys:?}");
    assert_eq!(
        v["payment_methods"],
        json!({"card": true, "mobile_money": ["orange_money", "mtn_momo", "moov_money", "wave"]})
    );
    assert_error(
        app.client
            .get(app.url("/api/checkout/cs_test_unknown"))
            .send()
            .await
            .unwrap(),
        404,
        "resource_missing",
        None,
    )
    .await;
    // CORS is on public routes only.
    let cors = app
        .client
        .get(app.url(&format!("/api/checkout/{id}")))
        .header("Origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cors.headers().get("access-control-allow-origin").unwrap(),
        "https://shop.example"
    );
    let private = app
        .client
        .get(app.url(&format!("/api/v1/checkout/sessions/{id}")))
        .bearer_auth(&app.key)
        .header("Origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert!(
        private
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn cors_preflight_on_public_routes_only() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let pre = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url(&format!("/api/checkout/{id}/pay")),
        )
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let allowed = pre.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("idempotency-key"), "{allowed}");
    let private = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/api/v1/checkout/sessions"),
        )
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        private
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_corrupt_stored_column_is_an_error_not_a_default() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    let id = app.seed_session().await;
    entity::checkout_session::Entity::update_many()
        .col_expr(
            entity::checkout_session::Column::Metadata,
            Expr::value("{not json"),
        )
        .filter(entity::checkout_session::Column::Id.eq(&id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let res = app.get(&format!("/api/v1/checkout/sessions/{id}")).await;
    assert_error(res, 500, "internal", None).await;
    let v = app
        .graphql(
            "query($id: ID!) { checkoutSession(id: $id) { metadata } }",
            serde_json::json!({"id": id}),
        )
        .await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "internal", "{v}");
    // A stored status outside the set is an error too, never `open`.
    entity::checkout_session::Entity::update_many()
        .col_expr(
            entity::checkout_session::Column::Status,
            Expr::value("opened"),
        )
        .filter(entity::checkout_session::Column::Id.eq(&id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/checkout/{id}")))
        .send()
        .await
        .unwrap();
    assert_error(res, 500, "internal", None).await;
}

/// The public view and the authenticated retrieve are one statement each
/// (the session joined with its intent and items), besides the key lookup;
/// both still see every item, in order, and the intent.
#[tokio::test]
async fn a_read_is_one_statement() {
    let app = spawn_app_without_webhook_worker().await;
    let mut body = seed_body();
    body["line_items"] = json!((0..12)
        .map(|i| json!({"name": format!("item {i}"), "amount": 100 + i, "currency": "XOF", "quantity": 1}))
        .collect::<Vec<_>>());
    let id = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.public(&id).await; // warms the merchant-name cache

    let (public, statements) = app.statements_of(app.public(&id)).await;
    assert_eq!(statements.len(), 1, "{statements:#?}");
    let names: Vec<&str> = public["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 12);
    assert_eq!(names[0], "item 0");
    assert_eq!(names[11], "item 11");
    assert_eq!(
        public["payment_intent"]["status"],
        "requires_payment_method"
    );

    let (got, statements) = app
        .statements_of(async {
            app.get(&format!("/api/v1/checkout/sessions/{id}"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        })
        .await;
    // The key lookup, then the session with its first ten items.
    assert_eq!(statements.len(), 2, "{statements:#?}");
    let items = got["line_items"]["data"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{got}");
    assert_eq!(items[9]["name"], "item 9");
    assert_eq!(got["line_items"]["has_more"], true);

    // Another mode of the same merchant finds nothing.
    let live = app
        .issue(true, TokenKind::SecretKey, &[Scope::Read, Scope::Write])
        .await;
    let res = app
        .get_as(&live, &format!("/api/v1/checkout/sessions/{id}"))
        .await;
    assert_eq!(res.status(), 404);
}

/// A create writes its rows at commit: on PostgreSQL the session, its items,
/// its intent and the dashboard counters are one statement and no `BEGIN`
/// or `COMMIT` (one round trip after the key lookup); on SQLite they are
/// three inserts and the two counter upserts of the group commit.
#[tokio::test]
async fn a_create_is_one_statement_on_postgres() {
    let app = spawn_app_without_webhook_worker().await;
    app.create_session(&seed_body()).await; // warms caches
    let (created, statements) = app.statements_of(app.create_session(&seed_body())).await;
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    assert!(sql[0].contains("FROM \"api_keys\""), "{sql:#?}");
    if app.db.is_postgres() {
        assert_eq!(sql.len(), 2, "{sql:#?}");
        for table in [
            "checkout_sessions",
            "line_items",
            "payment_intents",
            "session_counts",
            "daily_stats",
        ] {
            assert!(
                sql[1].starts_with("WITH ") && sql[1].contains(&format!("INSERT INTO \"{table}\"")),
                "{table}: {sql:#?}"
            );
        }
    } else {
        assert_eq!(sql.len(), 6, "{sql:#?}");
    }
    // What was written is what the create answered.
    let id = created["id"].as_str().unwrap();
    let got: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, created);
}
