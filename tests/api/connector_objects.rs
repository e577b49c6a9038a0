//! Connectors as merchant objects (SPEC §11 REST and GraphQL): credentials
//! checked with the provider, sealed at rest, never shown again.
use ikawaari::auth::Scope;
use ikawaari::service::credentials::TokenKind;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::connectors::*;
use crate::fakes::mtn::MtnConfig;
use crate::fakes::wave::WaveConfig;
use crate::helpers::*;

#[tokio::test]
async fn a_connector_shows_its_credentials_masked_and_its_notification_url() {
    let rig = rig().await;
    let c = &rig.mtn_connector;
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("conn_"), "{c}");
    assert_eq!(c["object"], "connector");
    assert_eq!(c["type"], "mtn_momo");
    assert_eq!(c["status"], "enabled");
    assert_eq!(c["livemode"], true);
    assert_eq!(c["credentials"]["api_key"], "••••0001");
    assert_eq!(c["credentials"]["disbursement.api_key"], "••••0001");
    assert_eq!(
        c["notification_url"],
        format!("{}/api/providers/mtn_momo/{id}", rig.app.base)
    );
    let text = c.to_string();
    let secret = &rig.mtn.cfg.api_key;
    assert!(!text.contains(secret.as_str()), "{text}");
    // Reads never show more; list, retrieve, GraphQL.
    let got = get_json_as(
        &rig.app,
        &rig.app.live_key,
        &format!("/api/v1/connectors/{id}"),
    )
    .await;
    assert_eq!(&got, c);
    let list = get_json_as(&rig.app, &rig.app.live_key, "/api/v1/connectors").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(list["url"], "/api/v1/connectors");
    let g = rig
        .app
        .graphql_as(
            &rig.app.live_key,
            "{ connectors { id type status livemode notificationUrl description } }",
            json!({}),
        )
        .await;
    assert_eq!(g["data"]["connectors"].as_array().unwrap().len(), 2, "{g}");
    assert!(!g.to_string().contains(secret.as_str()));
    // Test mode sees none of the live ones.
    let test = get_json_as(&rig.app, &rig.app.key, "/api/v1/connectors").await;
    assert_eq!(test["data"], json!([]));
    // At rest: sealed, never in clear.
    let rows = rig
        .app
        .state
        .db
        .query_all_raw(Statement::from_string(
            rig.app.state.db.get_database_backend(),
            "SELECT credentials, credentials_hint FROM connectors",
        ))
        .await
        .unwrap();
    for r in rows {
        let sealed: String = r.try_get("", "credentials").unwrap();
        assert!(sealed.starts_with("v1:"));
        for clear in [
            &rig.mtn.cfg.api_key,
            &rig.wave.cfg.api_key,
            &rig.wave.cfg.webhook_secret,
        ] {
            assert!(!sealed.contains(clear.as_str()));
            let hint: String = r.try_get("", "credentials_hint").unwrap();
            assert!(!hint.contains(clear.as_str()));
        }
    }
}

async fn get_json_as(app: &TestApp, key: &str, path: &str) -> Value {
    let res = app.get_as(key, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn credentials_are_checked_with_the_provider_and_validated_first() {
    let rig = rig().await;
    let app = &rig.app;
    let post = |body: Value| async move {
        app.post_as(&app.live_key, "/api/v1/connectors", &body)
            .await
    };
    // Refused by the provider: its words, never the secret.
    let mut wrong = mtn_body(&MtnConfig::default());
    wrong["credentials"]["api_key"] = "not-the-key-4321".into();
    let e = assert_error(
        post(wrong).await,
        400,
        "connector_credentials_invalid",
        Some("credentials"),
    )
    .await;
    assert!(!e.to_string().contains("not-the-key-4321"), "{e}");
    let mut wrong = wave_body(&WaveConfig::default());
    wrong["credentials"]["api_key"] = "wave_ci_prod_wrong".into();
    assert_error(
        post(wrong).await,
        400,
        "connector_credentials_invalid",
        Some("credentials"),
    )
    .await;
    // Shape errors, before any provider call.
    let missing = json!({"type": "wave", "credentials": {"api_key": "k"}});
    assert_error(
        post(missing).await,
        400,
        "parameter_missing",
        Some("credentials.webhook_secret"),
    )
    .await;
    let unknown =
        json!({"type": "wave", "credentials": {"api_key": "k", "webhook_secret": "s", "x": "y"}});
    assert_error(post(unknown).await, 400, "parameter_invalid", None).await;
    let empty = json!({"type": "wave", "credentials": {"api_key": "", "webhook_secret": "s"}});
    assert_error(
        post(empty).await,
        400,
        "parameter_invalid",
        Some("credentials.api_key"),
    )
    .await;
    let kind = json!({"type": "orange_money", "credentials": {}});
    assert_error(post(kind).await, 400, "parameter_invalid", Some("type")).await;
    // One enabled connector per type and mode.
    let again = post(wave_body(&rig.wave.cfg)).await;
    assert_error(again, 409, "connector_exists", None).await;
    // Nothing above made a connector.
    let list = get_json_as(app, &app.live_key, "/api/v1/connectors").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    // The provider unreachable: 503.
    let offline = spawn_app_with(|c| {
        c.wave_url = "http://127.0.0.1:9".into();
    })
    .await;
    let res = offline
        .post_as(
            &offline.live_key,
            "/api/v1/connectors",
            &wave_body(&WaveConfig::default()),
        )
        .await;
    assert_error(res, 503, "processor_unavailable", None).await;
}

#[tokio::test]
async fn connectors_are_updated_disabled_deleted_and_guarded() {
    let rig = rig().await;
    let app = &rig.app;
    let id = rig.wave_connector["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/connectors/{id}");
    let v: Value = app
        .post_as(
            &app.live_key,
            &path,
            &json!({"disabled": true, "description": "en pause"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "disabled", "{v}");
    assert_eq!(v["description"], "en pause");
    let (session, _) = live_session(app, 1_000).await;
    assert_eq!(
        app.public(&session).await["payment_methods"]["mobile_money"],
        json!(["mtn_momo"])
    );
    // A second enabled Wave connector is fine while this one is disabled…
    let second = connect(app, &wave_body(&rig.wave.cfg)).await;
    // …but not enabling both.
    let res = app
        .post_as(&app.live_key, &path, &json!({"disabled": false}))
        .await;
    assert_error(res, 409, "connector_exists", None).await;
    // New credentials are checked too.
    let res = app
        .post_as(
            &app.live_key,
            &path,
            &json!({"credentials": {"api_key": "wave_ci_prod_wrong", "webhook_secret": "s"}}),
        )
        .await;
    assert_error(
        res,
        400,
        "connector_credentials_invalid",
        Some("credentials"),
    )
    .await;
    let gone: Value = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&app.live_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        gone,
        json!({"id": id, "object": "connector", "deleted": true})
    );
    assert_error(
        app.get_as(&app.live_key, &path).await,
        404,
        "resource_missing",
        None,
    )
    .await;
    assert!(second["id"].is_string());
    // Keys: an app token reads but cannot manage; read scope cannot write.
    let app_token = app
        .issue(true, TokenKind::AppToken, &[Scope::Read, Scope::Write])
        .await;
    assert_eq!(
        app.get_as(&app_token, "/api/v1/connectors").await.status(),
        200
    );
    let res = app
        .post_as(&app_token, "/api/v1/connectors", &wave_body(&rig.wave.cfg))
        .await;
    assert_eq!(res.status(), 403);
    let reader = app.issue(true, TokenKind::SecretKey, &[Scope::Read]).await;
    let res = app
        .post_as(&reader, "/api/v1/connectors", &wave_body(&rig.wave.cfg))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .get(app.url("/api/v1/connectors"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
