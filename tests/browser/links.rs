//! Payment links in Chromium (SPEC §12): open the link, pay by card and by
//! mobile money, come back, see the confirmation; a custom amount end to
//! end; a used-up link under a race between two customers.
use super::*;

async fn link(app: &TestApp, body: Value) -> (String, String) {
    let res = app.post("/api/v1/payment_links", &body).await;
    let v: Value = res.json().await.unwrap();
    (
        v["id"].as_str().expect("link id").to_string(),
        v["url"].as_str().unwrap().to_string(),
    )
}

fn session_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn a_link_paid_by_card_shows_the_confirmation_and_by_mobile_money_redirects() {
    let axe = axe_source();
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| {
        cfg.checkout_url = SELF_URL.into();
        cfg.test_momo_delay_ms = 1500;
    })
    .await;
    let (_, url) = link(
        &app,
        json!({"line_items": [{"name": "Pagne wax", "amount": 15000, "currency": "XOF"}], "locale": "fr",
               "after_completion": {"type": "hosted_confirmation",
                                    "hosted_confirmation": {"custom_message": "Merci ! Livraison sous 48 h."}}}),
    )
    .await;
    c.goto(&url).await.unwrap();
    let at = wait_url(&c, &app.url("/checkout/cs_test_")).await;
    let first = session_of(&at);
    // Coming back while it is open: the same session (the link's cookie).
    c.goto(&url).await.unwrap();
    let again = wait_url(&c, &app.url("/checkout/cs_test_")).await;
    assert_eq!(
        session_of(&again),
        first,
        "the same browser gets its session back"
    );
    text(&c, "#pay-button").await;
    fill_card(&c, "4242424242424242").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#merchant-message", "Merci ! Livraison sous 48 h.").await;
    assert_eq!(
        c.current_url().await.unwrap().as_str(),
        app.url(&format!("/checkout/{first}"))
    );
    assert!(c.find(Locator::Id("continue-link")).await.is_err());
    let mut violations = axe_violations(&c, &axe).await;
    // Once paid, the link makes a new session for the next customer.
    c.goto(&url).await.unwrap();
    let next = wait_url(&c, &app.url("/checkout/cs_test_")).await;
    assert_ne!(session_of(&next), first);

    let merchant = merchant_site().await;
    let (_, momo_url) = link(
        &app,
        json!({"line_items": [{"name": "Recharge", "amount": 2000, "currency": "XOF"}], "locale": "fr",
               "payment_method_types": ["mobile_money"],
               "after_completion": {"type": "redirect",
                                    "redirect": {"url": format!("{merchant}/success?session_id={{CHECKOUT_SESSION_ID}}")}}}),
    )
    .await;
    c.goto(&momo_url).await.unwrap();
    let at = wait_url(&c, &app.url("/checkout/cs_test_")).await;
    let sid = session_of(&at);
    pay_by_mobile_money(&c, "0700000000").await;
    let done = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(done.ends_with(&sid), "{done}");
    // An inactive link: the 410 page, in French.
    let (off, off_url) = link(
        &app,
        json!({"line_items": [{"name": "A", "amount": 100, "currency": "XOF"}], "locale": "fr"}),
    )
    .await;
    app.post(
        &format!("/api/v1/payment_links/{off}"),
        &json!({"active": false}),
    )
    .await;
    c.goto(&off_url).await.unwrap();
    wait_text(&c, ".state-expired h1", "n'est plus actif").await;
    violations.extend(axe_violations(&c, &axe).await);
    c.close().await.unwrap();
    assert!(violations.is_empty(), "axe-core: {violations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn a_custom_amount_is_typed_formatted_checked_and_paid() {
    let axe = axe_source();
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.checkout_url = SELF_URL.into()).await;
    let (id, url) = link(
        &app,
        json!({"locale": "fr", "line_items": [{"name": "Cotisation tontine", "currency": "XOF",
                               "custom_amount": {"minimum": 500, "maximum": 100000}}]}),
    )
    .await;
    c.goto(&url).await.unwrap();
    let sid = session_of(&wait_url(&c, &app.url("/checkout/cs_test_")).await);
    let hint = text(&c, "#custom-amount-hint").await;
    // WebDriver's text turns U+00A0 into a space; U+202F stays.
    assert_eq!(
        hint.replace('\u{a0}', " "),
        "Entre 500 F CFA et 100\u{202f}000 F CFA"
    );
    let violations = axe_violations(&c, &axe).await;
    assert!(violations.is_empty(), "axe-core: {violations:?}");
    let amount = c.find(Locator::Id("custom-amount")).await.unwrap();
    amount.send_keys("100").await.unwrap();
    fill_card(&c, "4242424242424242").await;
    click(&c, "pay-button").await;
    wait_text(&c, "#custom-amount-error", "limites").await;
    assert_eq!(
        app.public(&sid).await["payment_intent"]["status"],
        "requires_payment_method"
    );
    amount.clear().await.unwrap();
    amount.send_keys("25000").await.unwrap();
    assert_eq!(
        amount.prop("value").await.unwrap().as_deref(),
        Some("25\u{202f}000"),
        "grouped as it is typed"
    );
    wait_text(&c, "#pay-button", "25\u{202f}000").await;
    click(&c, "pay-button").await;
    text(&c, ".state-paid h1").await;
    let s: Value = get_json(&app, &format!("/api/v1/checkout/sessions/{sid}")).await;
    assert_eq!(s["amount_total"], 25000);
    assert_eq!(s["payment_link"], id.as_str());
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn two_customers_race_for_the_last_payment_of_a_link() {
    let (a, _pa) = browser().await;
    let (b, _pb) = browser().await;
    let app = spawn_app_with(|cfg| cfg.checkout_url = SELF_URL.into()).await;
    let (id, url) = link(
        &app,
        json!({"line_items": [{"name": "Dernière place", "amount": 5000, "currency": "XOF"}], "locale": "fr",
               "restrictions": {"completed_sessions": {"limit": 1}}}),
    )
    .await;
    for c in [&a, &b] {
        c.goto(&url).await.unwrap();
        wait_url(c, &app.url("/checkout/cs_test_")).await;
        text(c, "#pay-button").await;
        fill_card(c, "4242424242424242").await;
    }
    tokio::join!(click(&a, "pay-button"), click(&b, "pay-button"));
    let mut paid = 0;
    let mut used_up = 0;
    for c in [&a, &b] {
        for _ in 0..100 {
            if c.find(Locator::Css(".state-paid")).await.is_ok() {
                paid += 1;
                break;
            }
            let msg = c.find(Locator::Id("form-message")).await.ok();
            let shown = match msg {
                Some(m) => m.text().await.unwrap_or_default(),
                None => String::new(),
            };
            if shown.contains("épuisé") {
                used_up += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        (paid, used_up),
        (1, 1),
        "one pays, the other is told before paying"
    );
    let l: Value = get_json(&app, &format!("/api/v1/payment_links/{id}")).await;
    assert_eq!(l["completed_sessions"], 1);
    // And the link now shows it is used up.
    a.goto(&url).await.unwrap();
    wait_text(&a, ".state-expired h1", "épuisé").await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}
