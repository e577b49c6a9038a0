//! Connectors when things go wrong (SPEC §11 "Ambiguity handled like
//! money"): lost notifications, ambiguous initiating calls, forged, stale
//! and duplicate webhooks, amount mismatches, an expired token, a provider
//! that never answers, one that cannot be reached, a crash between the
//! provider's `202` and our commit, and refunds through the providers.
use std::time::Duration;

use serde_json::{Value, json};

use crate::connectors::*;
use crate::fakes::mtn::{self, COLLECTION, MtnConfig};
use crate::helpers::*;

async fn pay_mtn(rig: &Rig, payer: &str) -> (String, String) {
    let (session, intent) = live_session(&rig.app, 50_000).await;
    let res = rig
        .app
        .pay(&session, &pay_body("mtn_momo", &mtn_phone(payer)))
        .await;
    // 202 processing; 200 when MTN's callback settled it before the answer.
    let status = res.status().as_u16();
    assert!(
        status == 202 || status == 200,
        "{}",
        res.text().await.unwrap()
    );
    (session, intent)
}

/// Pays with Wave: (session, Wave's checkout session id, if the pay got it).
async fn pay_wave(rig: &Rig) -> (String, Option<String>) {
    let (session, _) = live_session(&rig.app, 50_000).await;
    let res = rig
        .app
        .pay(&session, &pay_body("wave", "+2250700000000"))
        .await;
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    let cos = v["redirect_url"]
        .as_str()
        .map(|u| u.rsplit('/').next().unwrap().to_string());
    (session, cos)
}

#[tokio::test]
async fn a_lost_mtn_callback_never_loses_the_payment() {
    let rig = rig().await;
    rig.mtn.drop_callbacks(true);
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(v["status"], "complete", "{v}");
    assert!(rig.mtn.callbacks_sent().is_empty());
}

#[tokio::test]
async fn a_lost_wave_webhook_never_loses_the_payment() {
    let rig = rig().await;
    rig.wave.drop_webhooks(true);
    let (session, cos) = pay_wave(&rig).await;
    rig.wave.pay(&cos.unwrap()).await.unwrap();
    assert_eq!(rig.app.public(&session).await["status"], "open");
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(v["status"], "complete", "{v}");
}

/// The one reference MTN saw for the session's only attempt.
fn only_reference(rig: &Rig) -> String {
    let refs: std::collections::BTreeSet<String> = rig
        .mtn
        .requests()
        .into_iter()
        .map(|r| r.reference)
        .collect();
    assert_eq!(refs.len(), 1, "one reference per attempt: {refs:?}");
    refs.into_iter().next().unwrap()
}

#[tokio::test]
async fn mtn_ambiguous_calls_keep_one_reference_and_the_lookup_decides() {
    // A 5xx before MTN stored it: the lookup says 404, it is resent once
    // with the same reference.
    let rig = rig().await;
    rig.mtn.fail_next_request_to_pay(1);
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
    let r = only_reference(&rig);
    assert_eq!(
        rig.mtn.request_to_pay_calls(&r),
        2,
        "sent, then resent once"
    );

    // Received, then a 5xx: the lookup finds it; never sent again.
    let rig = rig_with(MtnConfig::default(), |_| {}).await;
    rig.mtn.receive_then_fail_next_request_to_pay();
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
    assert_eq!(rig.mtn.request_to_pay_calls(&only_reference(&rig)), 1);

    // An answer later than our timeout: processing, the lookup decides.
    let rig = rig_with(MtnConfig::default(), |_| {}).await;
    rig.mtn
        .delay_next_request_to_pay(Duration::from_millis(1_500));
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
    assert_eq!(rig.mtn.request_to_pay_calls(&only_reference(&rig)), 1);
}

#[tokio::test]
async fn wave_ambiguous_creates_make_one_wave_session_per_attempt() {
    for fault in ["fail", "receive_then_fail", "delay"] {
        let rig = rig().await;
        match fault {
            "fail" => rig.wave.fail_next_create(1),
            "receive_then_fail" => rig.wave.receive_then_fail_next_create(),
            _ => rig.wave.delay_next_create(Duration::from_millis(1_500)),
        }
        let (session, cos) = pay_wave(&rig).await;
        assert_eq!(cos, None, "{fault}: no launch URL from an unknown answer");
        // The poller learns (or makes, once the first call can no longer
        // arrive: 4 × the 1 s timeout) the Wave session.
        let mut url = Value::Null;
        for _ in 0..120 {
            crate::connectors::sweep(&rig.app).await;
            url = rig.app.public(&session).await["payment_intent"]["next_action"]["redirect_url"]
                .clone();
            if url.is_string() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let cos = url
            .as_str()
            .expect(fault)
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let at_wave = rig.wave.session(&cos).unwrap();
        let reference = at_wave["client_reference"].as_str().unwrap();
        let same: Vec<Value> = rig
            .wave
            .sessions()
            .into_iter()
            .filter(|s| s["client_reference"] == reference)
            .collect();
        assert_eq!(same.len(), 1, "{fault}: one Wave session per attempt");
        rig.wave.pay(&cos).await.unwrap();
        assert_eq!(
            rig.app.public(&session).await["status"],
            "complete",
            "{fault}"
        );
    }
}

#[tokio::test]
async fn a_mismatched_amount_is_never_applied() {
    let rig = rig().await;
    rig.mtn.report_amount(Some("1".into()));
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    rig.mtn.wait_callbacks(1, Duration::from_secs(5)).await;
    for _ in 0..5 {
        crate::connectors::sweep(&rig.app).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let v = rig.app.public(&session).await;
    assert_eq!(v["payment_intent"]["status"], "processing", "{v}");
    let metrics = rig
        .app
        .client
        .get(rig.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let n: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ikawaari_provider_mismatches_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(n >= 1, "{metrics}");
    // The provider's record corrected: the next lookup settles it.
    rig.mtn.report_amount(None);
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );

    let rig = rig_with(MtnConfig::default(), |_| {}).await;
    rig.wave.report_amount(Some("49999".into()));
    let (session, cos) = pay_wave(&rig).await;
    rig.wave.pay(&cos.unwrap()).await.unwrap();
    let v = rig.app.public(&session).await;
    assert_eq!(v["payment_intent"]["status"], "processing", "{v}");
}

#[tokio::test]
async fn an_expired_mtn_token_is_refreshed_once() {
    let rig = rig().await;
    let before = rig.mtn.token_requests(COLLECTION);
    let (s1, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    let (s2, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        rig.mtn.token_requests(COLLECTION) - before,
        1,
        "the token is cached between payments"
    );
    rig.mtn.expire_tokens();
    let (s3, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        rig.mtn.token_requests(COLLECTION) - before,
        2,
        "one refresh"
    );
    for s in [s1, s2, s3] {
        assert_eq!(settle_by_polling(&rig.app, &s).await["status"], "complete");
    }
}

#[tokio::test]
async fn forged_stale_and_duplicate_wave_webhooks_change_nothing() {
    let rig = rig().await;
    let (session, cos) = pay_wave(&rig).await;
    let cos = cos.unwrap();
    rig.wave.drop_webhooks(true);
    rig.wave.pay(&cos).await.unwrap();
    rig.wave.drop_webhooks(false);
    for knob in ["forge", "stale"] {
        rig.wave.forge_signatures(knob == "forge");
        rig.wave.stale_timestamps(knob == "stale");
        let (_, status) = rig
            .wave
            .send_event(crate::fakes::wave::COMPLETED, &cos)
            .await;
        assert_eq!(status, 400, "{knob}");
        let v = rig.app.public(&session).await;
        assert_eq!(v["payment_intent"]["status"], "processing", "{knob}: {v}");
    }
    rig.wave.forge_signatures(false);
    rig.wave.stale_timestamps(false);
    // A second, rotated-in secret signs first: any matching v1 will do.
    rig.wave
        .extra_signature(Some("wave_ci_WHS_the_next_secret".into()));
    let (event, status) = rig
        .wave
        .send_event(crate::fakes::wave::COMPLETED, &cos)
        .await;
    assert_eq!(status, 200);
    assert_eq!(rig.app.public(&session).await["status"], "complete");
    assert_eq!(
        rig.wave.resend(&event).await,
        200,
        "a duplicate: 200, no-op"
    );
    let events = event_types(&rig.app, &rig.app.live_key, &[&session]).await;
    assert_eq!(
        events
            .iter()
            .filter(|t| *t == "checkout.session.completed")
            .count(),
        1
    );
    // An unknown connector, or a body that names nothing.
    let res = rig
        .app
        .client
        .post(rig.app.url("/api/providers/wave/conn_unknown"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "resource_missing", None).await;
}

#[tokio::test]
async fn a_provider_that_never_answers_ends_failed_after_ten_minutes() {
    let rig = rig().await;
    let (session, _) = pay_mtn(&rig, mtn::PAYER_DELAYED).await;
    for _ in 0..3 {
        crate::connectors::sweep(&rig.app).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        rig.app.public(&session).await["payment_intent"]["status"],
        "processing"
    );
    rig.app.state.clock.advance(601);
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(v["payment_intent"]["status"], "requires_payment_method");
    assert_eq!(
        v["payment_intent"]["last_payment_error"]["decline_code"],
        "expired_authorization"
    );
}

#[tokio::test]
async fn an_unreachable_provider_answers_503_and_the_session_stays_open() {
    let rig = rig().await;
    let Rig { app, mtn, wave, .. } = rig;
    drop(mtn);
    drop(wave);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for provider in ["mtn_momo", "wave"] {
        let (session, intent) = live_session(&app, 1_000).await;
        let res = app
            .pay(&session, &pay_body(provider, "+2250700000000"))
            .await;
        assert_error(res, 503, "processor_unavailable", None).await;
        let v = app.public(&session).await;
        assert_eq!(v["status"], "open");
        assert_eq!(v["payment_intent"]["status"], "requires_payment_method");
        let i: Value = app
            .get_as(&app.live_key, &format!("/api/v1/payment_intents/{intent}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(i["status"], "requires_payment_method", "{i}");
    }
}

async fn refund(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_as(&app.live_key, "/api/v1/refunds", &body).await
}

#[tokio::test]
async fn refunds_go_back_through_the_provider_the_payment_went_through() {
    let rig = rig().await;
    // MTN: through Disbursement, pending until its status says so.
    let (session, intent) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
    let r: Value = refund(
        &rig.app,
        json!({"payment_intent": intent, "amount": 20_000}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["status"], "pending", "{r}");
    let sent = rig.mtn.refunds();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["amount"], "20000");
    assert_eq!(sent[0].body["referenceIdToRefund"], only_reference_of(&rig));
    let id = r["id"].as_str().unwrap();
    let mut now = Value::Null;
    for _ in 0..30 {
        rig.app.state.clock.advance(6);
        crate::connectors::sweep(&rig.app).await;
        now = rig
            .app
            .get_as(&rig.app.live_key, &format!("/api/v1/refunds/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if now["status"] != "pending" {
            break;
        }
    }
    assert_eq!(now["status"], "succeeded", "{now}");

    // Wave: the whole payment only.
    let (session, cos) = pay_wave(&rig).await;
    rig.wave.pay(&cos.clone().unwrap()).await.unwrap();
    let intent = rig.app.public(&session).await;
    assert_eq!(intent["status"], "complete");
    let pi = intents_of(&rig.app, &session).await;
    let res = refund(&rig.app, json!({"payment_intent": pi, "amount": 100})).await;
    assert_error(res, 400, "refund_unsupported", None).await;
    let r: Value = refund(&rig.app, json!({"payment_intent": pi}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(rig.wave.is_refunded(&cos.unwrap()));

    // MTN without Disbursement credentials: no refund, said before anything.
    let rig = rig_with(
        MtnConfig {
            disbursement: None,
            ..MtnConfig::default()
        },
        |_| {},
    )
    .await;
    let (session, intent) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
    let res = refund(&rig.app, json!({"payment_intent": intent})).await;
    assert_error(res, 400, "refund_unsupported", None).await;
    let i: Value = rig
        .app
        .get_as(
            &rig.app.live_key,
            &format!("/api/v1/payment_intents/{intent}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(i["amount_refunded"], 0);
}

fn only_reference_of(rig: &Rig) -> String {
    only_reference(rig)
}

async fn intents_of(app: &TestApp, session: &str) -> String {
    let s: Value = app
        .get_as(
            &app.live_key,
            &format!("/api/v1/checkout/sessions/{session}"),
        )
        .await
        .json()
        .await
        .unwrap();
    s["payment_intent"].as_str().unwrap().to_string()
}

async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name}: {text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn at_ten_minutes_wave_ends_its_session_before_the_payment_is_failed() {
    let rig = rig().await;
    let (session, cos) = pay_wave(&rig).await;
    let cos = cos.unwrap();
    rig.app.state.clock.advance(601);
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(
        v["payment_intent"]["last_payment_error"]["decline_code"], "expired_authorization",
        "{v}"
    );
    let at_wave = rig.wave.session(&cos).unwrap();
    assert_eq!(
        at_wave["checkout_status"], "expired",
        "ended at Wave first: it can no longer take the money"
    );
    // A payment made at Wave before that ending succeeds, however late.
    let (session, cos) = pay_wave(&rig).await;
    rig.wave.drop_webhooks(true);
    rig.wave.pay(&cos.unwrap()).await.unwrap();
    rig.app.state.clock.advance(601);
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(v["status"], "complete", "{v}");
}

#[tokio::test]
async fn a_provider_that_cannot_be_asked_is_never_failed_on_a_guess() {
    let rig = rig().await;
    rig.mtn.drop_callbacks(true);
    let (session, _) = pay_mtn(&rig, mtn::PAYER_SUCCESS).await;
    rig.mtn.fail_next_lookups(1_000);
    rig.app.state.clock.advance(601);
    for _ in 0..5 {
        sweep(&rig.app).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let v = rig.app.public(&session).await;
    assert_eq!(v["payment_intent"]["status"], "processing", "{v}");
    rig.mtn.fail_next_lookups(0);
    assert_eq!(
        settle_by_polling(&rig.app, &session).await["status"],
        "complete"
    );
}

#[tokio::test]
async fn a_success_after_the_attempt_ended_is_raised_not_lost() {
    let rig = rig().await;
    let (session, _) = pay_mtn(&rig, mtn::PAYER_DELAYED).await;
    rig.app.state.clock.advance(601);
    let v = settle_by_polling(&rig.app, &session).await;
    assert_eq!(v["payment_intent"]["status"], "requires_payment_method");
    let before = metric(&rig.app, "ikawaari_provider_late_successes_total").await;
    // MTN says, too late, that the customer approved.
    let reference = rig.mtn.requests()[0].reference.clone();
    rig.mtn.set_final(&reference, "SUCCESSFUL", None);
    rig.mtn.wait_callbacks(1, Duration::from_secs(5)).await;
    let after = metric(&rig.app, "ikawaari_provider_late_successes_total").await;
    assert!(after > before, "raised: {before} → {after}");
    let v = rig.app.public(&session).await;
    assert_eq!(
        v["status"], "open",
        "never applied to the ended attempt: {v}"
    );
}

#[tokio::test]
async fn signed_wave_events_about_other_things_are_acknowledged() {
    let rig = rig().await;
    let url = rig.wave_connector["notification_url"].as_str().unwrap();
    let body = r#"{"id":"EV_test","type":"test.test_event","data":{}}"#;
    let t = crate::fakes::unix_now();
    let res = rig
        .app
        .client
        .post(url)
        .header("Wave-Signature", rig.wave.signed(body, t))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = rig
        .app
        .client
        .post(url)
        .header("Wave-Signature", rig.wave.signed(body, t - 301))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "stale");
}
