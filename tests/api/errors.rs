//! The framework's own rejections come in the SPEC §6 shape too.
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn malformed_requests_get_the_one_error_shape() {
    let app = spawn_app().await;
    let post = |body: &'static str, ctype: Option<&'static str>| {
        let mut req = app
            .client
            .post(app.url("/api/v1/checkout/sessions"))
            .bearer_auth(&app.key)
            .body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        req.send()
    };
    let v = assert_error(
        post("{\"mode\": ", Some("application/json")).await.unwrap(),
        400,
        "json_invalid",
        None,
    )
    .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1 column"),
        "{v}"
    );
    let v = assert_error(
        post(
            "{\n  \"mode\": \"payment\",\n  oops\n}",
            Some("application/json"),
        )
        .await
        .unwrap(),
        400,
        "json_invalid",
        None,
    )
    .await;
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 3"),
        "{v}"
    );
    assert_error(
        post("{} trailing", Some("application/json")).await.unwrap(),
        400,
        "json_invalid",
        None,
    )
    .await;
    assert_error(
        post("[1,2]", Some("application/json")).await.unwrap(),
        400,
        "parameter_invalid",
        None,
    )
    .await;
    // A form is read as Stripe's SDKs send it (SPEC §14): here, missing fields.
    assert_error(
        post("mode=payment", Some("application/x-www-form-urlencoded"))
            .await
            .unwrap(),
        400,
        "parameter_missing",
        None,
    )
    .await;
    assert_error(
        post("mode=payment", Some("text/plain")).await.unwrap(),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    assert_error(
        post("{}", None).await.unwrap(),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    assert_error(
        post("{}", Some("text/plain")).await.unwrap(),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    // Over 256 KiB.
    let big = format!(
        "{{\"client_reference_id\": \"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let res = app
        .client
        .post(app.url("/api/v1/checkout/sessions"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error(res, 413, "body_too_large", None).await;
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/v1/nothing").await,
        404,
        "route_not_found",
        None,
    )
    .await;
    assert_error(
        app.client.get(app.url("/")).send().await.unwrap(),
        404,
        "route_not_found",
        None,
    )
    .await;
    let res = app
        .client
        .delete(app.url("/api/v1/checkout/sessions"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    let allow = res
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_error(res, 405, "method_not_allowed", None).await;
    assert!(allow.contains("POST") && allow.contains("GET"), "{allow}");
    assert_error(
        app.client
            .put(app.url("/api/checkout/cs_test_x/pay"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
        None,
    )
    .await;
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let rid = res
        .headers()
        .get("request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(rid.starts_with("req_"));
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ikawaari_http_requests_total"),
        "{metrics}"
    );
    // A client-supplied request id is propagated.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("request-id", "req_mine")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("request-id").unwrap(), "req_mine");
}

#[tokio::test]
async fn timeouts_answer_in_the_error_shape() {
    let app = spawn_app_with(|c| c.request_timeout_ms = 0).await;
    let res = app.post("/api/v1/checkout/sessions", &seed_body()).await;
    let v = assert_error(res, 503, "timeout", None).await;
    assert_eq!(v["error"]["type"], "api_error");
}

#[tokio::test]
async fn error_bodies_carry_the_request_id_and_a_doc_url_the_server_serves() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/checkout/sessions/cs_test_nope").await;
    let header = res.headers()["request-id"].to_str().unwrap().to_string();
    let v = assert_error(res, 404, "resource_missing", None).await;
    assert_eq!(v["error"]["request_id"], header.as_str());
    assert_eq!(
        v["error"]["doc_url"],
        "http://checkout.test/docs/errors#resource_missing"
    );
    // Framework rejections and validation errors too.
    let res = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    let v = assert_error(res, 404, "route_not_found", None).await;
    assert!(
        v["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let v = assert_error(
        app.post("/api/v1/checkout/sessions", &serde_json::json!({}))
            .await,
        400,
        "parameter_missing",
        None,
    )
    .await;
    assert!(
        v["error"]["doc_url"]
            .as_str()
            .unwrap()
            .ends_with("/docs/errors#parameter_missing")
    );
    // The page, in French and English, has an entry for every code.
    let page = app
        .client
        .get(app.url("/docs/errors"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for code in [
        "resource_missing",
        "parameter_missing",
        "amount_too_large",
        "card_declined",
        "rate_limited",
    ] {
        assert!(html.contains(&format!("id=\"{code}\"")), "{code} missing");
    }
    assert!(html.contains("Objet introuvable") && html.contains("No such {kind}"));
}

/// `/docs/errors` has one anchor for every code of the error table (the
/// table every answer is built from), each with its status and type, and
/// shows the body limit the server enforces (not a number written twice).
#[tokio::test]
async fn the_errors_page_lists_every_code_of_the_table() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/docs/errors"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(ikawaari::error::CODES.len() >= 30);
    for d in ikawaari::error::CODES {
        let anchor = format!("<tr id=\"{}\"><td><code>", d.code);
        let row = html
            .find(&anchor)
            .map(|at| &html[at..])
            .unwrap_or_else(|| panic!("{} has no row", d.code));
        assert_eq!(
            html.matches(&format!("id=\"{}\"", d.code)).count(),
            1,
            "{}: one anchor",
            d.code
        );
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains(&format!("<code>{}</code>", d.status)), "{row}");
        assert!(row.contains(&format!("<code>{}</code>", d.r#type)), "{row}");
    }
    let kib = ikawaari::BODY_LIMIT / 1024;
    assert!(html.contains(&format!("exceeds {kib} KiB")), "body limit");
    assert!(
        html.contains(&format!("dépasse {kib} Kio")),
        "body limit (fr)"
    );
    assert!(!html.contains("{limit_kib}"));
}
