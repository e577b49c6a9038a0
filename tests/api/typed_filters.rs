//! Issue 21, part 3: the session filter typed once at each front end, and a
//! GraphQL query that never writes.
use serde_json::{Value, json};

use crate::helpers::*;

/// `checkoutSession(id)` of a session past `expires_at` answers `EXPIRED`
/// and runs reads only: the sweeper, or the next write, stores the expiry.
#[tokio::test]
async fn a_graphql_read_of_a_due_session_shows_it_expired_and_writes_nothing() {
    // No webhook worker: its claim beat is an UPDATE of its own.
    let app = spawn_app_without_webhook_worker().await;
    let id = app.seed_session().await;
    app.state.clock.advance(86_400 + 10);
    let q = "query($id: ID!) { checkoutSession(id: $id) { id status } }";
    let (v, statements) = app.statements_of(app.graphql(q, json!({"id": id}))).await;
    assert_eq!(v["data"]["checkoutSession"]["status"], "EXPIRED", "{v}");
    assert!(!statements.is_empty(), "the statement capture saw nothing");
    let writes: Vec<&str> = statements
        .iter()
        .map(|s| s.sql.as_str())
        .filter(|sql| {
            let sql = sql.to_ascii_uppercase();
            !sql.trim_start().starts_with("SELECT")
                || ["INSERT ", "UPDATE ", "DELETE "]
                    .iter()
                    .any(|w| sql.contains(w))
        })
        .collect();
    assert!(writes.is_empty(), "a query wrote: {writes:#?}");

    // Stored as open still; REST's list reads it as expired too, and REST's
    // retrieve (which stores it) agrees.
    let listed: Value = app
        .get("/api/v1/checkout/sessions?status=expired")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], id.as_str(), "{listed}");
    let got: Value = app
        .get(&format!("/api/v1/checkout/sessions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "expired", "{got}");
}

/// The filter's enums arrive typed from GraphQL and parsed from the REST
/// query string; a bad REST status is still the same 400.
#[tokio::test]
async fn filters_by_status_mode_and_currency_on_both_front_ends() {
    let app = spawn_app().await;
    let a = app.seed_session().await;
    let q = r#"{ checkoutSessions(first: 10, filter: {status: OPEN, mode: PAYMENT, currency: "XOF"}) { totalCount nodes { id } } }"#;
    let v = app.graphql(q, json!({})).await;
    assert_eq!(v["data"]["checkoutSessions"]["totalCount"], 1, "{v}");
    assert_eq!(v["data"]["checkoutSessions"]["nodes"][0]["id"], a.as_str());
    let q = r#"{ checkoutSessions(first: 10, filter: {status: COMPLETE}) { totalCount nodes { id } } }"#;
    let v = app.graphql(q, json!({})).await;
    assert_eq!(v["data"]["checkoutSessions"]["totalCount"], 0, "{v}");
    let q = r#"{ checkoutSessions(first: 10, filter: {currency: "nope"}) { totalCount } }"#;
    let v = app.graphql(q, json!({})).await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "parameter_invalid",
        "{v}"
    );

    let res = app.get("/api/v1/checkout/sessions?status=open").await;
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["data"][0]["id"], a.as_str(), "{listed}");
    let res = app.get("/api/v1/checkout/sessions?status=closed").await;
    assert_error(res, 400, "parameter_invalid", Some("status")).await;
}

/// An unknown cursor is the caller's 400; the database's errors are not
/// (they were turned into "No such checkout session" before).
#[tokio::test]
async fn an_unknown_cursor_is_a_400() {
    let app = spawn_app().await;
    app.seed_session().await;
    let res = app
        .get("/api/v1/checkout/sessions?starting_after=cs_test_0000000000000000000000000000")
        .await;
    assert_error(res, 400, "parameter_invalid", Some("starting_after")).await;
}

/// The statement counter counts what names `webhook_deliveries` (issue 21,
/// part 5): a pay's commit, which queues the deliveries of its events, is in
/// the figures (on PostgreSQL it is one chained statement, which the old
/// filter dropped whole).
#[tokio::test]
async fn a_pay_that_queues_deliveries_is_counted_whole() {
    let app = spawn_app_without_webhook_worker().await;
    crate::webhooks::endpoint(&app, "http://127.0.0.1:9/hook", &["*"]).await;
    let id = app.seed_session().await;
    let before = app.statement_count();
    let (res, statements) = app
        .statements_of(app.pay(&id, &card("4242424242424242")))
        .await;
    assert_eq!(res.status(), 200);
    let counted = app.statement_count() - before;
    assert_eq!(counted, statements.len() as u64, "{statements:#?}");
    assert!(
        statements
            .iter()
            .any(|s| s.sql.contains("INSERT INTO \"webhook_deliveries\"")),
        "the deliveries' insert was not captured: {statements:#?}"
    );
}
