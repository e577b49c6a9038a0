//! The hosted page with connectors in Chromium (SPEC §8, §11): only the
//! session's methods are offered, MTN MoMo's "approve on your phone" state
//! with its USSD hint, the page a provider sends the customer back to, and
//! axe-core on each new state, in French and in English.
use super::*;
use crate::fakes::wave::{WaveConfig, WaveFake};

/// The mobile-money body of the pay route, for `provider` and `phone`.
fn momo_with(provider: &str, phone: &str) -> Value {
    json!({"payment_method": {"type": "mobile_money",
                              "mobile_money": {"provider": provider, "phone": phone}}})
}

/// Whether the element with this id is shown (present and displayed).
async fn shown(c: &Client, id: &str) -> bool {
    match c.find(Locator::Id(id)).await {
        Ok(e) => e.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

async fn wait_shown(c: &Client, id: &str, want: bool) {
    for _ in 0..100 {
        if shown(c, id).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "#{id} never became {}",
        if want { "shown" } else { "hidden" }
    );
}

/// Polls the public view until the payment intent reaches `status`.
async fn wait_intent(app: &TestApp, id: &str, status: &str) {
    for _ in 0..100 {
        if app.public(id).await["payment_intent"]["status"] == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the intent of {id} never reached {status}");
}

async fn provider_values(c: &Client) -> Value {
    c.execute(
        "return Array.from(document.querySelectorAll('#momo-provider option')).map(o => [o.value, o.selected]);",
        vec![],
    )
    .await
    .unwrap()
}

async fn pay_button_disabled(c: &Client) -> Option<String> {
    c.find(Locator::Id("pay-button"))
        .await
        .unwrap()
        .prop("disabled")
        .await
        .unwrap()
}

/// A live session (live key; live mode wants https return addresses, so
/// the seed's): without a connector nothing can pay it.
async fn live_session(app: &TestApp, locale: &str) -> String {
    let mut body = seed_body();
    body["locale"] = json!(locale);
    let res = app
        .post_as(&app.live_key, "/api/v1/checkout/sessions", &body)
        .await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "live session: {v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn only_the_methods_of_the_session_are_offered() {
    let (c, _profile) = browser().await;
    let app = spawn_app().await;
    let merchant = merchant_site().await;
    // Test mode, mobile money only: no card form, no tabs, every operator.
    let id = session(
        &app,
        &merchant,
        json!({"locale": "fr", "payment_method_types": ["mobile_money"]}),
    )
    .await;
    assert_eq!(
        app.public(&id).await["payment_methods"],
        json!({"card": false, "mobile_money": ["orange_money", "mtn_momo", "moov_money", "wave"]})
    );
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    text(&c, "#pay-button").await;
    for absent in ["panel-card", "tab-card", "tab-momo", "card-number"] {
        assert!(
            c.find(Locator::Id(absent)).await.is_err(),
            "#{absent} on a mobile-money-only page"
        );
    }
    assert!(shown(&c, "panel-momo").await);
    assert_eq!(
        provider_values(&c).await,
        json!([
            ["orange_money", true],
            ["mtn_momo", false],
            ["moov_money", false],
            ["wave", false]
        ])
    );
    // Live mode without a connector: nothing to pay with, said plainly.
    let live = live_session(&app, "fr").await;
    assert_eq!(
        app.public(&live).await["payment_methods"],
        json!({"card": false, "mobile_money": []})
    );
    c.goto(&app.url(&format!("/checkout/{live}")))
        .await
        .unwrap();
    assert_eq!(
        text(&c, ".pay-title").await,
        "Aucun moyen de paiement disponible"
    );
    assert!(
        text(&c, "#no-method")
            .await
            .contains("Contactez le marchand")
    );
    assert!(c.find(Locator::Id("pay-form")).await.is_err());
    assert!(c.find(Locator::Id("pay-button")).await.is_err());
    c.close().await.unwrap();
}

/// MTN MoMo in test mode (the test processor: a phone ending 0000 pays
/// after the delay, 0001 is declined for funds): the waiting state with
/// the USSD hint, kept on a reload; a decline in place, the form usable
/// again; another operator keeps the plain processing state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn mtn_momo_asks_to_approve_on_the_phone_with_the_ussd_hint() {
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 3000).await;
    let merchant = merchant_site().await;
    let id = session(
        &app,
        &merchant,
        json!({"locale": "fr", "payment_method_types": ["mobile_money"]}),
    )
    .await;
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    let select = c.find(Locator::Id("momo-provider")).await.unwrap();
    select.select_by_value("mtn_momo").await.unwrap();
    // Declined after the wait: the reason in place, the form usable again.
    pay_by_mobile_money(&c, "0700000001").await;
    wait_shown(&c, "ussd-hint", true).await;
    let hint = text(&c, "#ussd-hint").await;
    assert!(
        hint.contains("composez *133#") && hint.contains("Approbations en attente"),
        "{hint}"
    );
    assert_eq!(pay_button_disabled(&c).await.as_deref(), Some("true"));
    assert_eq!(
        app.public(&id).await["payment_intent"]["next_action"],
        json!({"type": "approve_on_phone", "provider": "mtn_momo", "redirect_url": null})
    );
    wait_text(
        &c,
        "#form-message",
        "Le paiement mobile money a échoué. Fonds insuffisants.",
    )
    .await;
    assert!(!shown(&c, "ussd-hint").await, "the hint goes with the wait");
    assert_eq!(pay_button_disabled(&c).await.as_deref(), Some("false"));
    // Paid: the phone field is typed again, then the wait, kept on a reload.
    let phone = c.find(Locator::Id("momo-phone")).await.unwrap();
    phone.clear().await.unwrap();
    pay_by_mobile_money(&c, "+225 0700000000").await;
    wait_shown(&c, "ussd-hint", true).await;
    c.refresh().await.unwrap();
    wait_text(
        &c,
        "#form-message",
        "Validez le paiement sur votre téléphone.",
    )
    .await;
    wait_shown(&c, "ussd-hint", true).await;
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&id), "{url}");

    // Orange Money (test mode): today's processing state, no MTN hint.
    let orange = session(&app, &merchant, json!({"locale": "fr"})).await;
    c.goto(&app.url(&format!("/checkout/{orange}")))
        .await
        .unwrap();
    click(&c, "tab-momo").await;
    pay_by_mobile_money(&c, "0700000000").await;
    assert!(!shown(&c, "ussd-hint").await);
    assert!(!shown(&c, "wave-action").await);
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&orange), "{url}");
    c.close().await.unwrap();
}

/// `/checkout/{id}/return`: confirming while the payment processes, then
/// the merchant's success page; a failed payment says why and leads back
/// to the form; nothing tried goes to the form; unknown: the 404 page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn the_return_page_confirms_then_moves_on() {
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 2500).await;
    let merchant = merchant_site().await;
    // Processing, then paid.
    let id = session(&app, &merchant, json!({"locale": "fr"})).await;
    let res = app.pay(&id, &momo_with("mtn_momo", "+2250700000000")).await;
    assert_eq!(res.status(), 202);
    c.goto(&app.url(&format!("/checkout/{id}/return")))
        .await
        .unwrap();
    assert_eq!(
        text(&c, ".state-confirming h1").await,
        "Nous confirmons votre paiement…"
    );
    assert!(text(&c, "#total").await.contains("50"));
    let url = wait_url(&c, &format!("{merchant}/success")).await;
    assert!(url.ends_with(&format!("session_id={id}")), "{url}");
    // Paid already: straight on.
    c.goto(&app.url(&format!("/checkout/{id}/return")))
        .await
        .unwrap();
    wait_url(&c, &format!("{merchant}/success")).await;

    // Declined while the customer waits (English): why, and the way back.
    let failed = session(&app, &merchant, json!({"locale": "en"})).await;
    let res = app
        .pay(&failed, &momo_with("mtn_momo", "+2250700000001"))
        .await;
    assert_eq!(res.status(), 202);
    c.goto(&app.url(&format!("/checkout/{failed}/return")))
        .await
        .unwrap();
    assert_eq!(
        text(&c, ".state-confirming h1").await,
        "We are confirming your payment…"
    );
    wait_text(&c, ".state-failed h1", "The payment did not go through").await;
    assert_eq!(
        text(&c, "#return-message").await,
        "The mobile money payment failed. Insufficient funds."
    );
    click(&c, "retry-link").await;
    wait_url(&c, &app.url(&format!("/checkout/{failed}"))).await;
    assert_eq!(pay_button_disabled(&c).await.as_deref(), Some("false"));

    // Nothing tried: the form.
    let fresh = session(&app, &merchant, json!({"locale": "fr"})).await;
    c.goto(&app.url(&format!("/checkout/{fresh}/return")))
        .await
        .unwrap();
    text(&c, "#pay-button").await;
    assert_eq!(
        c.current_url().await.unwrap().as_str(),
        app.url(&format!("/checkout/{fresh}"))
    );
    // Unknown: the not-found page, 404, in the reader's language.
    c.goto(&app.url("/checkout/cs_test_doesnotexist/return"))
        .await
        .unwrap();
    assert!(text(&c, ".state-missing h1").await.len() > 5);
    let res = app
        .client
        .get(app.url("/checkout/cs_test_doesnotexist/return"))
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
    let res = app
        .client
        .get(app.url(&format!("/checkout/{id}/wave-qr.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "no Wave payment, no QR code");
    c.close().await.unwrap();
}

/// axe-core on the new states: the mobile-money-only form, MTN's wait with
/// its hint, the return page confirming and failed, the page with nothing
/// to pay with, in French and in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn axe_core_finds_no_violation_on_the_connector_states() {
    let axe = axe_source();
    let (c, _profile) = browser().await;
    let app = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 60_000).await;
    let merchant = merchant_site().await;
    let mut report = Vec::new();
    let mut check = async |c: &Client, state: &str| {
        for v in axe_violations(c, &axe).await {
            report.push(format!("[{state}] {v}"));
        }
    };
    for lang in ["fr", "en"] {
        let id = session(
            &app,
            &merchant,
            json!({"locale": lang, "payment_method_types": ["mobile_money"]}),
        )
        .await;
        c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
        text(&c, "#pay-button").await;
        check(&c, &format!("mobile money only, {lang}")).await;
        let select = c.find(Locator::Id("momo-provider")).await.unwrap();
        select.select_by_value("mtn_momo").await.unwrap();
        c.find(Locator::Id("momo-phone"))
            .await
            .unwrap()
            .send_keys("0700000000")
            .await
            .unwrap();
        click(&c, "pay-button").await;
        wait_shown(&c, "ussd-hint", true).await;
        check(&c, &format!("approve on phone, {lang}")).await;
        c.goto(&app.url(&format!("/checkout/{id}/return")))
            .await
            .unwrap();
        text(&c, ".state-confirming h1").await;
        check(&c, &format!("return, confirming, {lang}")).await;

        let live = live_session(&app, lang).await;
        c.goto(&app.url(&format!("/checkout/{live}")))
            .await
            .unwrap();
        text(&c, "#no-method").await;
        check(&c, &format!("nothing to pay with, {lang}")).await;
    }
    // A failed payment's return page (the test operator declines 0001 at once here).
    let fast = spawn_app_with(|cfg| cfg.test_momo_delay_ms = 50).await;
    for lang in ["fr", "en"] {
        let id = session(&fast, &merchant, json!({"locale": lang})).await;
        let res = fast
            .pay(&id, &momo_with("mtn_momo", "+2250700000001"))
            .await;
        assert_eq!(res.status(), 202);
        wait_intent(&fast, &id, "requires_payment_method").await;
        c.goto(&fast.url(&format!("/checkout/{id}/return")))
            .await
            .unwrap();
        text(&c, ".state-failed h1").await;
        check(&c, &format!("return, failed, {lang}")).await;
    }
    c.close().await.unwrap();
    assert!(
        report.is_empty(),
        "axe-core violations:\n{}",
        report.join("\n")
    );
}

/// A live Wave connector against the fake Wave server (webhooks to the
/// connector's notification URL): the app and the fake.
async fn wave_rig(poll_ms: u64) -> (TestApp, WaveFake) {
    let wave = WaveFake::start(WaveConfig::default());
    let base = wave.base.clone();
    let app = spawn_app_with(|cfg| {
        cfg.checkout_url = SELF_URL.into();
        cfg.wave_url = base;
        cfg.provider_timeout_ms = 2_000;
        cfg.provider_poll_ms = poll_ms;
    })
    .await;
    let body = json!({"type": "wave", "credentials": {"api_key": wave.cfg.api_key,
                                                      "webhook_secret": wave.cfg.webhook_secret}});
    let res = app
        .post_as(&app.live_key, "/api/v1/connectors", &body)
        .await;
    let status = res.status();
    let conn: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "wave connector: {conn}");
    wave.set_webhook_url(conn["notification_url"].as_str().unwrap());
    (app, wave)
}

async fn image_loaded(c: &Client, id: &str) -> bool {
    c.execute(
        "const i = document.getElementById(arguments[0]); return !!i && i.complete && i.naturalWidth > 0;",
        vec![json!(id)],
    )
    .await
    .unwrap()
        == json!(true)
}

/// Live Wave end to end: the only operator, preselected; after Pay the
/// "Pay with Wave" button (kept on a reload) and, on a wide screen, the QR
/// code; at Wave the customer pays, comes back to the return page, which
/// confirms (the webhook lost: the poller's lookup settles) and moves on.
/// Then a customer who cancels at Wave is told so and can try again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: .ci/browser-tests runs it"]
async fn wave_sends_the_customer_to_wave_and_back() {
    let axe = axe_source();
    let (c, _profile) = browser().await;
    let (app, wave) = wave_rig(100).await;
    let mut report = Vec::new();
    let mut check = async |c: &Client, state: &str| {
        for v in axe_violations(c, &axe).await {
            report.push(format!("[{state}] {v}"));
        }
    };
    let id = live_session(&app, "fr").await;
    assert_eq!(
        app.public(&id).await["payment_methods"],
        json!({"card": false, "mobile_money": ["wave"]})
    );
    c.goto(&app.url(&format!("/checkout/{id}"))).await.unwrap();
    text(&c, "#pay-button").await;
    assert_eq!(provider_values(&c).await, json!([["wave", true]]));
    assert!(c.find(Locator::Id("panel-card")).await.is_err());
    wave.drop_webhooks(true);
    pay_with(&c, "0700000000", "Terminez le paiement avec Wave.").await;
    let launch = app.public(&id).await["payment_intent"]["next_action"]["redirect_url"]
        .as_str()
        .expect("a redirect_url")
        .to_string();
    assert!(launch.starts_with(&wave.base), "{launch}");
    let link = c.find(Locator::Id("wave-link")).await.unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(launch.as_str())
    );
    assert_eq!(link.text().await.unwrap(), "Payer avec Wave");
    assert!(!shown(&c, "pay-button").await, "one button: Wave's");
    assert!(!shown(&c, "wave-qr").await, "no QR code on a phone");
    check(&c, "wave, phone, fr").await;
    // A reload keeps the way to Wave; a wide screen shows the QR code too.
    c.refresh().await.unwrap();
    wait_shown(&c, "wave-link", true).await;
    c.set_window_size(1280, 900).await.unwrap();
    wait_shown(&c, "wave-qr", true).await;
    for _ in 0..50 {
        if image_loaded(&c, "wave-qr").await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(image_loaded(&c, "wave-qr").await, "the QR code loads");
    check(&c, "wave, wide, fr").await;
    let qr = app
        .client
        .get(app.url(&format!("/checkout/{id}/wave-qr.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.status(), 200);
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
    c.set_window_size(390, 844).await.unwrap();
    // At Wave: pay; back on the return page until the lookup settles (the
    // webhook lost, Wave's lookups failing until the page is checked).
    wave.fail_next_lookups(usize::MAX);
    click(&c, "wave-link").await;
    wait_url(&c, &format!("{}/c/", wave.base)).await;
    click(&c, "pay").await;
    wait_url(&c, &app.url(&format!("/checkout/{id}/return"))).await;
    assert_eq!(
        text(&c, ".state-confirming h1").await,
        "Nous confirmons votre paiement…"
    );
    check(&c, "wave return, confirming, fr").await;
    // The poller's lookup settles it (its beat ticked here, as the API tests do).
    wave.fail_next_lookups(0);
    for _ in 0..100 {
        if app.public(&id).await["status"] == "complete" {
            break;
        }
        ikawaari::workers::tick(&app.state).await.unwrap();
        ikawaari::service::payment::poll_due(&app.state)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = wait_url(&c, "https://yoursite.com/success").await;
    assert!(url.ends_with(&id), "{url}");
    assert_eq!(app.public(&id).await["status"], "complete");

    // Cancelled at Wave (English, webhooks delivered): told on the return
    // page, and back to the form.
    wave.drop_webhooks(false);
    let en = live_session(&app, "en").await;
    c.goto(&app.url(&format!("/checkout/{en}"))).await.unwrap();
    pay_with(&c, "0700000000", "Finish the payment with Wave.").await;
    assert_eq!(text(&c, "#wave-link").await, "Pay with Wave");
    check(&c, "wave, phone, en").await;
    click(&c, "wave-link").await;
    wait_url(&c, &format!("{}/c/", wave.base)).await;
    click(&c, "cancel").await;
    wait_text(&c, ".state-failed h1", "The payment did not go through").await;
    assert_eq!(
        text(&c, "#return-message").await,
        "The mobile money payment failed. The payment was declined or cancelled."
    );
    check(&c, "wave return, cancelled, en").await;
    click(&c, "retry-link").await;
    wait_url(&c, &app.url(&format!("/checkout/{en}"))).await;
    assert_eq!(pay_button_disabled(&c).await.as_deref(), Some("false"));
    assert!(shown(&c, "pay-button").await);

    // A provider's redirect that is not a web address is never a link nor
    // a QR code (the stored URL rewritten behind the app's back).
    let odd = live_session(&app, "fr").await;
    c.goto(&app.url(&format!("/checkout/{odd}"))).await.unwrap();
    pay_with(&c, "0700000000", "Terminez le paiement avec Wave.").await;
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared("UPDATE provider_attempts SET redirect_url = 'javascript:alert(1)'")
        .await
        .unwrap();
    c.refresh().await.unwrap();
    wait_text(&c, "#form-message", "Paiement en cours…").await;
    assert!(!shown(&c, "wave-link").await);
    let href = c
        .find(Locator::Id("wave-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href, None, "no javascript: link");
    let qr = app
        .client
        .get(app.url(&format!("/checkout/{odd}/wave-qr.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.status(), 404);
    c.close().await.unwrap();
    assert!(
        report.is_empty(),
        "axe-core violations:\n{}",
        report.join("\n")
    );
}

/// Types `phone`, pays, and waits for `message`.
async fn pay_with(c: &Client, phone: &str, message: &str) {
    c.find(Locator::Id("momo-phone"))
        .await
        .unwrap()
        .send_keys(phone)
        .await
        .unwrap();
    click(c, "pay-button").await;
    wait_text(c, "#form-message", message).await;
}
