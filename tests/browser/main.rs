//! The hosted page end to end in real headless Chromium (Debian `chromium` +
//! `chromium-driver`), driven over WebDriver with fantoccini. The merchant's
//! success and cancel pages are served by the test on loopback.
//!
//! Every test here is `#[ignore = "needs Chromium: .ci/browser-tests"]`, so
//! a plain `cargo test` lists them as ignored; `.ci/browser-tests` (run by
//! `.ci/run`) runs them with `--include-ignored`, and there a missing
//! Chromium, ChromeDriver or axe-core fails them.
mod connectors;
#[path = "../api/fakes/mod.rs"]
mod fakes;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod links;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::response::Html;
use fantoccini::{Client, ClientBuilder, Locator};
use helpers::*;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    _child: Child,
    url: String,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

/// The shared chromedriver; a missing Chromium fails the test.
fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
            let present = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
            assert!(
                present,
                "{CHROMIUM} or {CHROMEDRIVER} not installed: run .ci/browser-setup (apt-get install chromium chromium-driver)"
            );
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Driver { _child: child, url }
        })
}

/// A fresh headless Chromium at phone size.
async fn browser() -> (Client, tempfile::TempDir) {
    let d = driver();
    let profile = tempfile::tempdir().expect("profile dir");
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--window-size=390,844".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("webdriver session");
    (client, profile)
}

/// The merchant's site: success and cancel pages on loopback.
async fn merchant_site() -> String {
    let app = Router::new()
        .route(
            "/success",
            axum::routing::get(|RawQuery(q): RawQuery| async move {
                Html(format!(
                    "<h1 id=m>merchant success</h1><p id=q>{}</p>",
                    q.unwrap_or_default()
                ))
            }),
        )
        .route(
            "/cancel",
            axum::routing::get(|| async { Html("<h1 id=m>merchant cancel</h1>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn session(app: &TestApp, merchant: &str, extra: Value) -> String {
    let mut body = seed_body();
    body["success_url"] = json!(format!(
        "{merchant}/success?session_id={{CHECKOUT_SESSION_ID}}"
    ));
    body["cancel_url"] = json!(format!("{merchant}/cancel"));
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create_session(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn wait_url(c: &Client, prefix: &str) -> String {
    for _ in 0..150 {
        let u = c.current_url().await.unwrap().to_string();
        if u.starts_with(prefix) {
            return u;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "never reached {prefix}: at {}",
        c.current_url().await.unwrap()
    );
}

async fn wait_text(c: &Client, css: &str, want: &str) {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.unwrap_or_default().contains(want)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{css} never showed {want:?}; it shows {:?}",
        text(c, css).await
    );
}

/// Clicks the element with this id.
async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `phone`, pays, and waits for the French processing message.
async fn pay_by_mobile_money(c: &Client, phone: &str) {
    c.find(Locator::Id("momo-phone"))
        .await
        .unwrap()
        .send_keys(phone)
        .await
        .unwrap();
    click(c, "pay-button").await;
    wait_text(
        c,
        "#form-message",
        "Validez le paiement sur votre téléphone.",
    )
    .await;
}

async fn fill_card(c: &Client, number: &str) {
    let n = c.find(Locator::Id("card-number")).await.unwrap();
    n.clear().await.unwrap();
    n.send_keys(number).await.unwrap();
    let e = c.find(Locator::Id("card-expiry")).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys("1230").await.unwrap();
    let v = c.find(Locator::Id("card-cvc")).await.unwrap();
    v.clear().await.unwrap();
    v.send_keys("123").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn card_payment_in_french_lands_on_success_url() {
    let (c, _profile) = browser().await;
    c.set_window_size(390, 844).await.unwrap();
    let app = spawn_app().await;
    let merchant = merchant_site().await;
    let id = session(&app, &merchant, json!({"locale": "fr-CI"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    // textContent: WebDriver's visible text turns U+00A0 into a plain space.
    let total = c
        .find(Locator::Css("#total .amount"))
        .await
        .unwrap()
        .prop("textContent")
        .await
        .unwrap();
    assert_eq!(total.as_deref(), Some("50\u{202F}000\u{00A0}F CFA"));
    assert_eq!(
        c.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("fr")
    );
    assert!(text(&c, ".merchant-name").await.contains("Boutique Test"));
    assert!(text(&c, "#pay-button").await.starts_with("Payer"));
    // Page weight and first paint, for the closing note.
    let perf = c
        .execute(
            "const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || performance.getEntriesByType('paint')[0];
             const n = performance.getEntriesByType('navigation')[0];
             return {paint: p ? p.startTime : null, dom: n ? n.domContentLoadedEventEnd : null};",
            vec![],
        )
        .await
        .unwrap();
    eprintln!(
        "hosted page: first paint {:?} ms, DOMContentLoaded {:?} ms (debug server)",
        perf["paint"], perf["dom"]
    );
    // Typing formats the number and detects the brand.
    fill_card(&c, "4242424242424242").await;
    assert_eq!(
        c.find(Locator::Id("card-number"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("4242 4242 4242 4242")
    );
    assert_eq!(
        c.find(Locator::Id("card-expiry"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("12/30")
    );
    assert_eq!(text(&c, "#card-brand").await, "Visa");
    assert_eq!(
        c.find(Locator::Id("card-number"))
            .await
            .unwrap()
            .attr("autocomplete")
            .await
            .unwrap()
            .as_deref(),
        Some("cc-number")
    );
    // The phone-size screenshot (viewport 390×844), kept as a test artifact.
    let chrome = c
        .execute("return window.outerHeight - window.innerHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(0);
    c.set_window_size(390, 844 + chrome as u32).await.unwrap();
    let png = c.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("checkout-390x844.png"), &png).unwrap();
    let width: i64 = c
        .execute("return document.documentElement.clientWidth", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let scroll: i64 = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(
        scroll <= width,
        "no horizontal scrolling at 390 px ({scroll} > {width})"
    );
    click(&c, "pay-button").await;
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&format!("session_id={id}")), "{url}");
    assert_eq!(app.public(&id).await["status"], "complete");
    // Back on the page: the receipt.
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    assert_eq!(text(&c, ".state-paid h1").await, "Paiement reçu");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn decline_shows_a_message_then_the_card_pays_in_english() {
    let (c, _profile) = browser().await;
    let app = spawn_app().await;
    let merchant = merchant_site().await;
    let id = session(&app, &merchant, json!({"locale": "en"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    assert_eq!(text(&c, "#total .amount").await, "XOF 50,000");
    fill_card(&c, "4000000000000002").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#form-message", "Your card was declined.").await;
    assert_eq!(
        c.find(Locator::Id("pay-button"))
            .await
            .unwrap()
            .prop("disabled")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    fill_card(&c, "4000000000009995").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#form-message", "Insufficient funds.").await;
    // A format error from the server lands next to its field.
    fill_card(&c, "4242424242424241").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#card-number-error", "Invalid card number.").await;
    fill_card(&c, "4242424242424242").await;
    click(&c, "pay-button").await;
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.contains(&id));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn mobile_money_processes_then_redirects() {
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 2500).await;
    let merchant = merchant_site().await;
    let id = session(&app, &merchant, json!({"locale": "fr"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    click(&c, "tab-momo").await;
    let card_panel = c.find(Locator::Id("panel-card")).await.unwrap();
    assert!(
        card_panel.attr("hidden").await.unwrap().is_some(),
        "the card panel is hidden"
    );
    let phone = c.find(Locator::Id("momo-phone")).await.unwrap();
    assert_eq!(phone.prop("value").await.unwrap().as_deref(), Some("+225 "));
    phone.send_keys("0700000000").await.unwrap();
    click(&c, "pay-button").await;
    wait_text(
        &c,
        "#form-message",
        "Validez le paiement sur votre téléphone.",
    )
    .await;
    assert_eq!(
        app.public(&id).await["payment_intent"]["status"],
        "processing"
    );
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&id), "{url}");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn cancel_expired_unknown_and_card_only_pages() {
    let (c, _profile) = browser().await;
    let app = spawn_app().await;
    let merchant = merchant_site().await;
    // Cancel returns to the merchant.
    let id = session(&app, &merchant, json!({"locale": "en"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    click(&c, "cancel-link").await;
    wait_url(&c, &format!("{merchant}/cancel")).await;
    // Expired: its own page, 410.
    app.post(
        &format!("/api/v1/checkout/sessions/{id}/expire"),
        &json!({}),
    )
    .await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    assert_eq!(
        text(&c, ".state-expired h1").await,
        "This checkout session has expired"
    );
    let res = app
        .client
        .get(app.url(&format!("/checkout/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    // Unknown: 404 in the browser's language (Chromium asks for English here).
    c.goto(&app.url("/checkout/cs_test_doesnotexist"))
        .await
        .unwrap();
    assert!(text(&c, ".state-missing h1").await.len() > 5);
    let res = app
        .client
        .get(app.url("/checkout/cs_test_doesnotexist"))
        .header("Accept-Language", "fr-CI,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Session de paiement introuvable")
    );
    // Only the session's methods are offered; a subscription shows its interval.
    let only_card = session(
        &app,
        &merchant,
        json!({"locale": "fr", "payment_method_types": ["card"], "mode": "subscription",
               "line_items": [{"name": "Abonnement", "amount": 5000, "currency": "XOF", "quantity": 1, "recurring": {"interval": "month"}}]}),
    )
    .await;
    c.goto(&app.url(&format!("/checkout/{only_card}")))
        .await
        .unwrap();
    assert_eq!(text(&c, ".interval").await, "par mois");
    assert!(c.find(Locator::Id("tab-momo")).await.is_err());
    assert!(c.find(Locator::Id("panel-momo")).await.is_err());
    // No inline script runs under the strict CSP, and the page has no console errors about it.
    let csp = app
        .client
        .get(app.url(&format!("/checkout/{only_card}")))
        .send()
        .await
        .unwrap();
    let policy = csp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn the_rate_limit_is_handled_gracefully() {
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.pay_rate_limit = 1).await;
    // Start at the top of a one-minute window so the window cannot roll over mid-test.
    let now = app.state.clock.now();
    app.state.clock.advance(60 - now.rem_euclid(60));
    let merchant = merchant_site().await;
    let id = session(&app, &merchant, json!({"locale": "en"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    fill_card(&c, "4000000000000002").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#form-message", "declined").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#form-message", "Too many attempts").await;
    assert_eq!(
        c.find(Locator::Id("pay-button"))
            .await
            .unwrap()
            .prop("disabled")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    c.close().await.unwrap();
}

/// GraphiQL loads the schema (the standard introspection query passes), can
/// run a subscription over `/graphql/ws`, and keeps the headers — the secret
/// key — in this tab's sessionStorage, never in localStorage.
#[tokio::test]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn graphiql_knows_the_schema_and_keeps_the_key_for_the_tab_only() {
    let (c, _profile) = browser().await;
    let app = spawn_app().await;
    c.goto(&app.url("/graphql")).await.unwrap();
    // The docs panel fills from introspection; an error would say so.
    let mut schema_ok = Value::Null;
    for _ in 0..100 {
        schema_ok = c
            .execute(
                "var b = document.querySelector('[aria-label=\"Show Documentation Explorer\"]'); \
                 if (b && !document.querySelector('.graphiql-doc-explorer')) { b.click(); } \
                 var t = document.body.innerText; \
                 return !t.includes('Error fetching schema') && t.includes('Root Types') \
                   && t.includes('QueryRoot') && !!window.sessionStorage.getItem('graphiql:tabState');",
                vec![],
            )
            .await
            .unwrap();
        if schema_ok == json!(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let why: Value = c
        .execute(
            "return [document.querySelector('.graphiql-container') !== null, document.body.innerText.slice(0, 300), Object.keys(window.sessionStorage), Object.keys(window.localStorage)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        schema_ok,
        json!(true),
        "GraphiQL did not load the schema: {why}"
    );
    let local: Value = c
        .execute(
            "var all = ''; for (var i = 0; i < localStorage.length; i++) { all += localStorage.getItem(localStorage.key(i)); } return all;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !local.as_str().unwrap_or("").contains("Bearer"),
        "headers in localStorage: {local}"
    );
    let init = app
        .client
        .get(app.url("/graphql/assets/graphiql-init.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("subscriptionUrl") && init.contains("/graphql/ws"));
    c.close().await.ok();
}

/// Luhn and past expiry are caught in the page (no request, no busy message
/// left behind); a reload while mobile money is processing shows the
/// processing state and keeps polling until the payment lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn checks_in_the_page_and_a_reload_while_processing_keeps_polling() {
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 4000).await;
    let merchant = merchant_site().await;
    let id = session(&app, &merchant, json!({"locale": "fr"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    fill_card(&c, "4242424242424241").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#card-number-error", "Numéro de carte invalide.").await;
    assert_eq!(
        text(&c, "#form-message").await,
        "",
        "no busy message after a refusal"
    );
    assert_eq!(
        app.public(&id).await["payment_intent"]["status"],
        "requires_payment_method"
    );
    // Mobile money, then a reload mid-way.
    click(&c, "tab-momo").await;
    pay_by_mobile_money(&c, "0700000000").await;
    c.refresh().await.unwrap();
    wait_text(
        &c,
        "#form-message",
        "Validez le paiement sur votre téléphone.",
    )
    .await;
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&id), "{url}");
    c.close().await.unwrap();
}

/// axe-core (from npm, pinned by tests/integrators/package-lock.json and
/// installed by .ci/node-tools); missing, it fails the test.
fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integrators/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path} missing ({e}): run .ci/node-tools"))
}

/// Every axe-core violation (all rules, WCAG 2.1 A/AA and best practices) on
/// the page as it is now, as `rule: target …` lines.
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("inject axe-core");
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ["violations"] })
                 .then(r => done(r.violations.map(v =>
                     `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)))
                 .catch(e => done(["axe failed: " + e]));"#,
            vec![],
        )
        .await
        .expect("axe.run");
    serde_json::from_value(found).expect("a list of violations")
}

/// axe-core finds nothing on the hosted page in each of its states: the card
/// form (French, at 390 px), the mobile-money tab, the form showing its
/// errors, a declined card, English, the processing state, the expired and
/// the unknown pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn axe_core_finds_no_violation_on_the_hosted_page() {
    let axe = axe_source();
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 60_000).await;
    let merchant = merchant_site().await;
    // axe is live: the test merchant's bare page (no lang, no title) is flagged.
    c.goto(&format!("{merchant}/cancel")).await.unwrap();
    let bare = axe_violations(&c, &axe).await;
    assert!(
        bare.iter().any(|v| v.starts_with("html-has-lang")),
        "axe-core did not run: {bare:?}"
    );
    let mut report = Vec::new();
    let mut check = async |c: &Client, state: &str| {
        for v in axe_violations(c, &axe).await {
            report.push(format!("[{state}] {v}"));
        }
    };

    let id = session(&app, &merchant, json!({"locale": "fr"})).await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    text(&c, "#pay-button").await;
    check(&c, "card form, fr").await;
    // Submitting empty shows the field errors.
    click(&c, "pay-button").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    check(&c, "form errors").await;
    // A declined card: the page's error message.
    fill_card(&c, "4000000000000002").await;
    click(&c, "pay-button").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    check(&c, "declined").await;
    click(&c, "tab-momo").await;
    check(&c, "mobile money tab").await;
    // Processing (the test operator answers in a minute).
    pay_by_mobile_money(&c, "0700000000").await;
    check(&c, "processing").await;

    let en = session(&app, &merchant, json!({"locale": "en"})).await;
    c.goto(&app.url(&format!("/checkout/{en}"))).await.unwrap();
    text(&c, "#pay-button").await;
    check(&c, "card form, en").await;
    app.post(
        &format!("/api/v1/checkout/sessions/{en}/expire"),
        &json!({}),
    )
    .await;
    c.goto(&app.url(&format!("/checkout/{en}"))).await.unwrap();
    text(&c, ".state-expired h1").await;
    check(&c, "expired").await;
    c.goto(&app.url("/checkout/cs_test_doesnotexist"))
        .await
        .unwrap();
    check(&c, "unknown").await;
    c.close().await.unwrap();
    assert!(
        report.is_empty(),
        "axe-core violations:\n{}",
        report.join("\n")
    );
}
