//! The hosted page's server side (SPEC §8) without a browser: states, headers,
//! language, amounts. The browser suite (tests/browser) drives it in Chromium.
use serde_json::json;

use crate::helpers::*;

async fn page(
    app: &TestApp,
    id: &str,
    lang: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = app.client.get(app.url(&format!("/checkout/{id}")));
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

#[tokio::test]
async fn states_languages_and_security_headers() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let (status, h, html) = page(&app, &id, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"fr\">"), "French by default");
    assert!(html.contains("50\u{202F}000\u{00A0}F CFA"));
    assert!(html.contains("Boutique Test"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        !html.contains("<script>") && !html.contains("onclick="),
        "no inline script"
    );
    assert!(
        !html.contains("http://") || !html.contains("<script src=\"http"),
        "no CDN"
    );
    // Accept-Language when the session says auto.
    let (_, _, en) = page(&app, &id, Some("en-GB,en;q=0.9")).await;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("XOF 50,000"),
        "{en}"
    );
    // The session's locale wins over the browser.
    let mut body = seed_body();
    body["locale"] = json!("fr-CI");
    let fr = app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        page(&app, &fr, Some("en"))
            .await
            .2
            .contains("<html lang=\"fr\">")
    );
    // Two-decimal currencies and subscription intervals.
    let mut usd = seed_body();
    usd["mode"] = json!("subscription");
    usd["locale"] = json!("en");
    usd["line_items"] = json!([{"name": "Pro", "amount": 123456, "currency": "USD", "quantity": 1, "recurring": {"interval": "month", "interval_count": 3}}]);
    let usd_id = app.create_session(&usd).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let html = page(&app, &usd_id, None).await.2;
    assert!(
        html.contains("USD 1,234.56") && html.contains("every 3 months"),
        "{html}"
    );
    // Paid: a receipt, 200; then /complete redirects to the success URL.
    assert_eq!(app.pay(&id, &card("4242424242424242")).await.status(), 200);
    let (status, _, receipt) = page(&app, &id, Some("fr")).await;
    assert_eq!(status, 200);
    assert!(receipt.contains("Paiement reçu") && receipt.contains(&format!("session_id={id}")));
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_follow
        .get(app.url(&format!("/checkout/{id}/complete")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("https://yoursite.com/success?session_id={id}").as_str()
    );
    // An open session's /complete goes back to the page.
    let res = no_follow
        .get(app.url(&format!("/checkout/{fr}/complete")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        format!("/checkout/{fr}").as_str()
    );
    // Expired: 410; unknown: 404, both HTML in the reader's language.
    app.post(
        &format!("/api/v1/checkout/sessions/{fr}/expire"),
        &json!({}),
    )
    .await;
    let (status, h, html) = page(&app, &fr, None).await;
    assert_eq!(status, 410);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.contains("a expiré") && html.contains("https://yoursite.com/cancel"));
    let (status, _, html) = page(&app, "cs_test_unknown", Some("en")).await;
    assert_eq!(status, 404);
    assert!(html.contains("Checkout session not found"));
}

#[tokio::test]
async fn assets_are_embedded_cached_and_compressed() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let html = page(&app, &id, None).await.2;
    let js = html
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(js.starts_with("/checkout/assets/checkout.js?v="), "{js}");
    for asset in [js.as_str(), "/checkout/assets/checkout.css"] {
        let res = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    let gz = app
        .client
        .get(app.url(&format!("/checkout/{id}")))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        gz.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    assert!(gz.bytes().await.unwrap().len() < html.len() / 2);
    assert_error(
        app.client
            .get(app.url("/checkout/assets/nope.js"))
            .send()
            .await
            .unwrap(),
        404,
        "route_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn the_page_has_a_favicon_and_tab_panels_are_not_fieldsets() {
    let app = spawn_app().await;
    let id = app.seed_session().await;
    let html = app
        .client
        .get(app.url(&format!("/checkout/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"rel="icon" href="/checkout/assets/favicon.svg""#));
    let icon = app
        .client
        .get(app.url("/checkout/assets/favicon.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    // axe: role=tabpanel is not allowed on <fieldset>.
    assert!(!html.contains(r#"<fieldset id="panel-card" class="panel" role="tabpanel""#));
    assert!(html.contains(r#"<div id="panel-card" role="tabpanel""#));
    assert!(
        !html.split("<fieldset").skip(1).any(|f| f
            .split('>')
            .next()
            .unwrap_or("")
            .contains("role="))
    );
}
