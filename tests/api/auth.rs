//! SPEC §2: 401 vs 403, and another merchant's or mode's objects are 404.
use ikawaari::auth::Scope;
use ikawaari::service::credentials::{self, TokenKind};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_tokens_are_401() {
    let app = spawn_app().await;
    let path = "/api/v1/checkout/sessions";
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_error(res, 401, "api_key_missing", None).await;
    for header in [
        "Basic abc",
        "Bearer",
        "Bearer ",
        "ik_test_abc",
        "Bearer sk_test_123",
        "Bearer ik_test_doesnotexist000000000000000000",
    ] {
        let res = app
            .client
            .get(app.url(path))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_error(res, 401, "api_key_invalid", None).await;
    }
    // A 401 on a POST changes nothing, even with a valid body.
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth("ik_test_nope")
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "api_key_invalid", None).await;
    // Revoked keys stop working at once.
    let issued = credentials::issue(
        &app.state,
        &app.merchant_id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read, Scope::Write],
    )
    .await
    .unwrap();
    assert_eq!(app.get_as(&issued.secret, path).await.status(), 200);
    credentials::revoke(&app.state, &issued.prefix)
        .await
        .unwrap();
    assert_error(
        app.get_as(&issued.secret, path).await,
        401,
        "api_key_invalid",
        None,
    )
    .await;
    // The key is stored only as a hash.
    use sea_orm::EntityTrait;
    let rows = entity::api_key::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.key_hash != app.key
        && !r.key_hash.contains(&app.key[8..])
        && r.key_hash.len() == 64));
    assert!(rows.iter().any(|r| app.key.starts_with(&r.prefix)));
}

#[tokio::test]
async fn scopes_give_403_when_missing() {
    let app = spawn_app().await;
    let read = app.issue(false, TokenKind::AppToken, &[Scope::Read]).await;
    let write = app.issue(false, TokenKind::AppToken, &[Scope::Write]).await;
    let restricted_key = app.issue(false, TokenKind::SecretKey, &[Scope::Read]).await;
    assert!(read.starts_with("ik_app_"));
    let id = app.seed_session().await;
    for token in [&read, &restricted_key] {
        assert_eq!(
            app.get_as(token, &format!("/api/v1/checkout/sessions/{id}"))
                .await
                .status(),
            200
        );
        assert_error(
            app.post_as(token, "/api/v1/checkout/sessions", &seed_body())
                .await,
            403,
            "scope_missing",
            None,
        )
        .await;
        assert_error(
            app.post_as(
                token,
                &format!("/api/v1/checkout/sessions/{id}/expire"),
                &json!({}),
            )
            .await,
            403,
            "scope_missing",
            None,
        )
        .await;
    }
    // Write includes read.
    assert_eq!(
        app.post_as(&write, "/api/v1/checkout/sessions", &seed_body())
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get_as(&write, &format!("/api/v1/checkout/sessions/{id}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn other_merchants_and_other_modes_see_404() {
    let app = spawn_app().await;
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
    let other_app = app.issue(false, TokenKind::AppToken, &[Scope::Read]).await;
    let created = app.create_session(&seed_body()).await;
    let id = created["id"].as_str().unwrap();
    let pi = created["payment_intent"].as_str().unwrap();
    for key in [&other_key, &app.live_key] {
        assert_error(
            app.get_as(key, &format!("/api/v1/checkout/sessions/{id}"))
                .await,
            404,
            "resource_missing",
            None,
        )
        .await;
        assert_error(
            app.get_as(key, &format!("/api/v1/checkout/sessions/{id}/line_items"))
                .await,
            404,
            "resource_missing",
            None,
        )
        .await;
        assert_error(
            app.post_as(
                key,
                &format!("/api/v1/checkout/sessions/{id}/expire"),
                &json!({}),
            )
            .await,
            404,
            "resource_missing",
            None,
        )
        .await;
        assert_error(
            app.get_as(key, &format!("/api/v1/payment_intents/{pi}"))
                .await,
            404,
            "resource_missing",
            None,
        )
        .await;
        let list: serde_json::Value = app
            .get_as(key, "/api/v1/checkout/sessions")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["data"].as_array().unwrap().len(), 0);
    }
    // The same merchant's app token in test mode sees it.
    assert_eq!(
        app.get_as(&other_app, &format!("/api/v1/checkout/sessions/{id}"))
            .await
            .status(),
        200
    );
    // A live app token does not.
    let live_app = app.issue(true, TokenKind::AppToken, &[Scope::Read]).await;
    assert_error(
        app.get_as(&live_app, &format!("/api/v1/checkout/sessions/{id}"))
            .await,
        404,
        "resource_missing",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_database_failure_during_authentication_is_503_on_both_apis() {
    // The key cannot be checked: the store is unavailable (503, retry
    // later), never a 401 that would tell the client its key is wrong.
    let app = spawn_app().await;
    app.state.db.clone().close().await.expect("close the pool");
    let res = app.get("/api/v1/checkout/sessions").await;
    let v = assert_error(res, 503, "timeout", None).await;
    assert_eq!(v["error"]["type"], "api_error");
    let v = app
        .graphql("{ checkoutSessions(first: 1) { totalCount } }", json!({}))
        .await;
    let e = &v["errors"][0]["extensions"];
    assert_eq!(e["type"], "api_error", "{v}");
    assert_eq!(e["code"], "timeout", "{v}");
    assert_eq!(e["status"], 503, "{v}");
}

#[tokio::test]
async fn http_basic_with_the_key_as_user_name_authenticates() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let url = app.url(&format!("/api/v1/checkout/sessions/{id}"));
    // What `curl -u ik_test_…:` sends.
    let res = app
        .client
        .get(&url)
        .basic_auth(&app.key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(&url)
        .basic_auth(&app.key, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(&url)
        .basic_auth("ik_test_nope", Some(""))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "api_key_invalid", None).await;
    let res = app
        .client
        .get(&url)
        .header("Authorization", "Basic %%%")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "api_key_invalid", None).await;
}
