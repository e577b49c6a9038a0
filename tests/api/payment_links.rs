//! Payment links (SPEC §12) through HTTP: the REST object, the public visit
//! (cookie, 410 pages, rate limit), the QR code decoded, custom amounts, the
//! completed-sessions limit under a race, and GraphQL.
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::helpers::*;

fn link_body() -> Value {
    json!({"line_items": [{"name": "Pagne wax", "amount": 15000, "currency": "XOF", "quantity": 2}],
           "metadata": {"canal": "whatsapp"},
           "after_completion": {"type": "hosted_confirmation",
                                "hosted_confirmation": {"custom_message": "Merci ! Livraison sous 48 h."}}})
}

async fn create_link(app: &TestApp, body: &Value) -> Value {
    let res = app.post("/api/v1/payment_links", body).await;
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert_eq!(status, 200, "create link: {v}");
    v
}

/// A browser that follows nothing and keeps no cookies: each test says
/// which cookie it sends.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

struct Visit {
    status: u16,
    session: Option<String>,
    cookie: Option<String>,
    body: String,
}

async fn visit(app: &TestApp, link: &str, cookie: Option<&str>, lang: &str) -> Visit {
    let mut req = browser()
        .get(app.url(&format!("/l/{link}")))
        .header("accept-language", lang);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("visit");
    let status = res.status().as_u16();
    let session = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .map(str::to_string);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Visit {
        status,
        session,
        cookie,
        body: res.text().await.expect("body"),
    }
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_link_is_created_read_listed_updated_and_its_items_paged() {
    let app = spawn_app().await;
    let link = create_link(&app, &link_body()).await;
    let id = link["id"].as_str().unwrap();
    assert!(id.starts_with("plink_"), "{link}");
    assert_eq!(link["object"], "payment_link");
    assert_eq!(link["url"], format!("http://checkout.test/l/{id}"));
    assert_eq!(link["active"], true);
    assert_eq!(link["currency"], "XOF");
    assert_eq!(link["line_items"]["data"][0]["amount_total"], 30000);
    assert_eq!(link["after_completion"]["type"], "hosted_confirmation");
    assert_eq!(link["restrictions"], Value::Null);
    assert_eq!(link["completed_sessions"], 0);
    assert_eq!(link["livemode"], false);

    let got: Value = get_json(&app, &format!("/api/v1/payment_links/{id}")).await;
    assert_eq!(got, link);

    let other = create_link(&app, &link_body()).await;
    let off = app
        .post(
            &format!("/api/v1/payment_links/{}", other["id"].as_str().unwrap()),
            &json!({"active": false, "metadata": {"k": "v"}, "restrictions": {"completed_sessions": {"limit": 5}}}),
        )
        .await;
    assert_eq!(off.status(), 200);
    let off: Value = off.json().await.unwrap();
    assert_eq!(off["active"], false);
    assert_eq!(off["metadata"], json!({"k": "v"}));
    assert_eq!(off["restrictions"]["completed_sessions"]["limit"], 5);

    let all: Value = get_json(&app, "/api/v1/payment_links").await;
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![other["id"].as_str().unwrap(), id], "newest first");
    let active: Value = get_json(&app, "/api/v1/payment_links?active=true").await;
    assert_eq!(active["data"].as_array().unwrap().len(), 1);
    assert_eq!(active["data"][0]["id"], id);
    let page: Value = get_json(
        &app,
        &format!(
            "/api/v1/payment_links?limit=1&starting_after={}",
            other["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(page["data"][0]["id"], id);
    assert_eq!(page["has_more"], false);
    let newer = get_json(
        &app,
        &format!("/api/v1/payment_links?limit=1&ending_before={id}"),
    )
    .await;
    assert_eq!(newer["data"][0]["id"], other["id"], "{newer}");
    assert_eq!(newer["has_more"], false);

    // Line items, paged.
    let many = json!({"line_items": (0..3).map(|i| json!({"name": format!("Article {i}"), "amount": 100 + i, "currency": "XOF"})).collect::<Vec<_>>()});
    let many = create_link(&app, &many).await;
    let mid = many["id"].as_str().unwrap();
    let p1: Value = get_json(
        &app,
        &format!("/api/v1/payment_links/{mid}/line_items?limit=2"),
    )
    .await;
    assert_eq!(p1["data"].as_array().unwrap().len(), 2);
    assert_eq!(p1["has_more"], true);
    let last = p1["data"][1]["id"].as_str().unwrap();
    let p2: Value = get_json(
        &app,
        &format!("/api/v1/payment_links/{mid}/line_items?starting_after={last}"),
    )
    .await;
    assert_eq!(p2["data"][0]["name"], "Article 2");
    assert_eq!(p2["has_more"], false);
}

#[tokio::test]
async fn a_bad_link_gets_every_violated_field_and_changes_nothing() {
    let app = spawn_app().await;
    for (body, code, param) in [
        (json!({"line_items": []}), "parameter_invalid", "line_items"),
        (json!({}), "parameter_missing", "line_items"),
        (
            json!({"line_items": [{"name": "A", "currency": "XOF"}]}),
            "parameter_invalid",
            "line_items[0].amount",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "custom_amount": {}, "currency": "XOF"}]}),
            "parameter_invalid",
            "line_items[0].custom_amount",
        ),
        (
            json!({"line_items": [{"name": "A", "custom_amount": {"minimum": 500, "maximum": 100}, "currency": "XOF"}]}),
            "parameter_invalid",
            "line_items[0].custom_amount.minimum",
        ),
        (
            json!({"line_items": [{"name": "A", "custom_amount": {"preset": 50, "minimum": 100}, "currency": "XOF"}]}),
            "parameter_invalid",
            "line_items[0].custom_amount.preset",
        ),
        (
            json!({"line_items": [{"name": "A", "custom_amount": {}, "currency": "XOF", "quantity": 2}]}),
            "parameter_invalid",
            "line_items[0].quantity",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}, {"name": "B", "amount": 5, "currency": "EUR"}]}),
            "parameter_invalid",
            "line_items[1].currency",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}], "after_completion": {"type": "redirect"}}),
            "parameter_missing",
            "after_completion.redirect.url",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}], "restrictions": {"completed_sessions": {"limit": 0}}}),
            "parameter_invalid",
            "restrictions.completed_sessions.limit",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}], "expires_at": 1}),
            "parameter_invalid",
            "expires_at",
        ),
        (
            json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}], "colour": "red"}),
            "parameter_unknown",
            "colour",
        ),
    ] {
        let res = app.post("/api/v1/payment_links", &body).await;
        assert_error(res, 400, code, Some(param)).await;
    }
    let all: Value = get_json(&app, "/api/v1/payment_links").await;
    assert_eq!(all["data"], json!([]), "nothing was created");
    // A live link redirects to https only.
    let res = app
        .post_as(
            &app.live_key,
            "/api/v1/payment_links",
            &json!({"line_items": [{"name": "A", "amount": 5, "currency": "XOF"}],
                    "after_completion": {"type": "redirect", "redirect": {"url": "http://shop.example/merci"}}}),
        )
        .await;
    assert_error(
        res,
        400,
        "parameter_invalid",
        Some("after_completion.redirect.url"),
    )
    .await;
}

#[tokio::test]
async fn links_keep_to_their_merchant_mode_and_scopes() {
    let app = spawn_app().await;
    let link = create_link(&app, &link_body()).await;
    let id = link["id"].as_str().unwrap();
    let res = app
        .get_as(&app.live_key, &format!("/api/v1/payment_links/{id}"))
        .await;
    assert_error(res, 404, "resource_missing", None).await;
    let read_only = app
        .issue(
            false,
            ikawaari::service::credentials::TokenKind::SecretKey,
            &[ikawaari::domain::principal::Scope::Read],
        )
        .await;
    let res = app
        .post_as(&read_only, "/api/v1/payment_links", &link_body())
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_as(
            &read_only,
            &format!("/api/v1/payment_links/{id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get_as(&read_only, &format!("/api/v1/payment_links/{id}"))
            .await
            .status(),
        200
    );
    let res = app
        .client
        .get(app.url("/api/v1/payment_links"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_visit_makes_a_session_and_a_returning_browser_gets_the_same_one() {
    let app = spawn_app().await;
    let link = create_link(&app, &link_body()).await;
    let id = link["id"].as_str().unwrap();
    let first = visit(&app, id, None, "fr").await;
    assert_eq!(first.status, 303, "{}", first.body);
    let sid = first.session.clone().expect("location");
    assert!(sid.starts_with("cs_test_"), "{sid}");
    let set = first.cookie.clone().expect("cookie");
    for flag in [
        "HttpOnly",
        "SameSite=Lax",
        &format!("Path=/l/{id}"),
        "Max-Age=3600",
    ] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    let again = visit(&app, id, Some(&pair(&set)), "fr").await;
    assert_eq!(again.status, 303);
    assert_eq!(
        again.session.as_deref(),
        Some(sid.as_str()),
        "same browser, same session"
    );
    assert!(again.cookie.is_none());
    let other = visit(&app, id, None, "fr").await;
    assert_ne!(
        other.session.as_deref(),
        Some(sid.as_str()),
        "another visitor, another session"
    );
    // A cookie naming a session that is not this link's leads to a new one.
    let foreign = app.seed_session().await;
    let forged = visit(&app, id, Some(&format!("ik_{id}={foreign}")), "fr").await;
    assert_eq!(forged.status, 303);
    assert_ne!(forged.session.as_deref(), Some(foreign.as_str()));

    let s: Value = get_json(&app, &format!("/api/v1/checkout/sessions/{sid}")).await;
    assert_eq!(s["payment_link"], id);
    assert_eq!(s["metadata"], json!({"canal": "whatsapp"}));
    assert_eq!(s["amount_total"], 30000);
    assert_eq!(s["mode"], "payment");
    let open_for = s["expires_at"].as_i64().unwrap() - s["created"].as_i64().unwrap();
    assert_eq!(open_for, 3600);
    let listed: Value = get_json(
        &app,
        &format!("/api/v1/checkout/sessions?payment_link={id}"),
    )
    .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["payment_link"] == id)
    );
    let res = app.get("/api/v1/checkout/sessions?payment_link=nope").await;
    assert_error(res, 400, "parameter_invalid", Some("payment_link")).await;
    // An open session's cookie, once the session is paid, leads to a new one.
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    let after_paid = visit(&app, id, Some(&pair(&set)), "fr").await;
    assert_ne!(after_paid.session.as_deref(), Some(sid.as_str()));
    // Unknown links: a 404 page.
    let unknown = visit(&app, "plink_doesnotexist000000", None, "fr").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn inactive_expired_and_used_up_links_show_a_410_page_in_the_customer_s_language() {
    let app = spawn_app().await;
    let off = create_link(&app, &link_body()).await;
    let off_id = off["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payment_links/{off_id}"),
        &json!({"active": false}),
    )
    .await;
    let fr = visit(&app, off_id, None, "fr-CI,fr;q=0.9").await;
    assert_eq!(fr.status, 410);
    assert!(
        fr.body.contains("n'est plus actif") || fr.body.contains("n&#39;est plus actif"),
        "{}",
        fr.body
    );
    let en = visit(&app, off_id, None, "en-GB,en;q=0.9").await;
    assert_eq!(en.status, 410);
    assert!(en.body.contains("no longer active"), "{}", en.body);

    let now = app.state.clock.now();
    let mut soon = link_body();
    soon["expires_at"] = json!(now + 1);
    let soon = create_link(&app, &soon).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = visit(&app, soon["id"].as_str().unwrap(), None, "en").await;
    assert_eq!(expired.status, 410);
    assert!(expired.body.contains("has expired"), "{}", expired.body);

    let mut once = link_body();
    once["restrictions"] = json!({"completed_sessions": {"limit": 1}});
    let once = create_link(&app, &once).await;
    let once_id = once["id"].as_str().unwrap();
    let v = visit(&app, once_id, None, "fr").await;
    let sid = v.session.unwrap();
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    let used = visit(&app, once_id, None, "fr").await;
    assert_eq!(used.status, 410);
    assert!(used.body.contains("épuisé"), "{}", used.body);
    let got = get_json(&app, &format!("/api/v1/payment_links/{once_id}")).await;
    assert_eq!(
        got["restrictions"]["completed_sessions"],
        json!({"count": 1, "limit": 1})
    );
    assert_eq!(got["completed_sessions"], 1);
    assert_eq!(got["amount_collected"], 30000);
}

#[tokio::test]
async fn the_last_allowed_session_goes_to_one_customer_however_they_race() {
    let app = spawn_app().await;
    let mut body = link_body();
    body["restrictions"] = json!({"completed_sessions": {"limit": 1}});
    let link = create_link(&app, &body).await;
    let id = link["id"].as_str().unwrap();
    for round in 0..3 {
        let mut sessions = Vec::new();
        for _ in 0..4 {
            let v = visit(&app, id, None, "fr").await;
            if v.status == 410 {
                break;
            }
            sessions.push(v.session.expect("session"));
        }
        if round > 0 {
            assert!(sessions.is_empty(), "used up: no new session");
            continue;
        }
        let body = card("4242424242424242");
        let pays = sessions.iter().map(|s| app.pay(s, &body));
        let answers = futures_util::future::join_all(pays).await;
        let mut paid = 0;
        for res in answers {
            match res.status().as_u16() {
                200 => paid += 1,
                409 => {
                    let v: Value = res.json().await.unwrap();
                    assert_eq!(v["error"]["code"], "payment_link_used_up", "{v}");
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(paid, 1, "exactly one payment");
    }
    let got: Value = get_json(&app, &format!("/api/v1/payment_links/{id}")).await;
    assert_eq!(got["completed_sessions"], 1);
    let complete: Value = get_json(
        &app,
        &format!("/api/v1/checkout/sessions?payment_link={id}&status=complete"),
    )
    .await;
    assert_eq!(complete["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_declined_attempt_gives_its_slot_back() {
    let app = spawn_app().await;
    let mut body = link_body();
    body["restrictions"] = json!({"completed_sessions": {"limit": 1}});
    let link = create_link(&app, &body).await;
    let id = link["id"].as_str().unwrap();
    let a = visit(&app, id, None, "fr").await.session.unwrap();
    let b = visit(&app, id, None, "fr").await.session.unwrap();
    assert_eq!(app.pay(&a, &card("4000000000000002")).await.status(), 402);
    assert_eq!(app.pay(&b, &card("4242424242424242")).await.status(), 200);
    let res = app.pay(&a, &card("4242424242424242")).await;
    assert_error(res, 409, "payment_link_used_up", None).await;
    // A mobile-money payment that fails later gives its slot back too.
    let mut two = link_body();
    two["restrictions"] = json!({"completed_sessions": {"limit": 1}});
    let two = create_link(&app, &two).await;
    let tid = two["id"].as_str().unwrap();
    let c = visit(&app, tid, None, "fr").await.session.unwrap();
    let res = app.pay(&c, &momo("+2250700000000")).await;
    assert_eq!(res.status(), 202);
    let failed = app
        .post(
            &format!("/api/v1/test_helpers/checkout/sessions/{c}/fail"),
            &json!({}),
        )
        .await;
    assert_eq!(failed.status(), 200);
    assert_eq!(
        visit(&app, tid, None, "fr").await.status,
        303,
        "slot given back"
    );
}

#[tokio::test]
async fn a_custom_amount_is_typed_checked_and_becomes_the_session_s_total() {
    let app = spawn_app().await;
    let link = create_link(
        &app,
        &json!({"line_items": [{"name": "Cotisation tontine", "currency": "XOF",
                                "custom_amount": {"minimum": 500, "maximum": 100000, "preset": 2000}}]}),
    )
    .await;
    assert_eq!(link["line_items"]["data"][0]["amount"], Value::Null);
    assert_eq!(
        link["line_items"]["data"][0]["custom_amount"],
        json!({"minimum": 500, "maximum": 100000, "preset": 2000})
    );
    let id = link["id"].as_str().unwrap();
    let sid = visit(&app, id, None, "fr").await.session.unwrap();
    let public = app.public(&sid).await;
    assert_eq!(
        public["custom_amount"],
        json!({"minimum": 500, "maximum": 100000, "preset": 2000})
    );
    assert_eq!(public["amount_total"], 2000);
    let page = app
        .client
        .get(app.url(&format!("/checkout/{sid}")))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"custom-amount\""), "{html}");
    assert!(
        html.contains("Entre 500\u{a0}F CFA et 100\u{202f}000\u{a0}F CFA"),
        "{html}"
    );

    let res = app.pay(&sid, &card("4242424242424242")).await;
    assert_error(res, 400, "parameter_missing", Some("amount")).await;
    let mut pay = card("4242424242424242");
    pay["amount"] = json!(499);
    assert_error(
        app.pay(&sid, &pay).await,
        400,
        "parameter_invalid",
        Some("amount"),
    )
    .await;
    pay["amount"] = json!(100001);
    assert_error(
        app.pay(&sid, &pay).await,
        400,
        "parameter_invalid",
        Some("amount"),
    )
    .await;
    assert_eq!(
        app.public(&sid).await["amount_total"],
        2000,
        "nothing changed"
    );
    pay["amount"] = json!(25000);
    let paid = app.pay(&sid, &pay).await;
    assert_eq!(paid.status(), 200);
    let s: Value = get_json(&app, &format!("/api/v1/checkout/sessions/{sid}")).await;
    assert_eq!(s["amount_total"], 25000);
    assert_eq!(s["amount_subtotal"], 25000);
    assert_eq!(s["line_items"]["data"][0]["amount"], 25000);
    let pi: Value = get_json(
        &app,
        &format!(
            "/api/v1/payment_intents/{}",
            s["payment_intent"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(pi["amount"], 25000);
    // Events, refunds and the link's totals use it.
    let events: Value = get_json(
        &app,
        &format!("/api/v1/events?object_id={sid}&type=checkout.session.completed"),
    )
    .await;
    assert_eq!(
        events["data"][0]["data"]["object"]["amount_total"], 25000,
        "{events}"
    );
    let over = app
        .post(
            "/api/v1/refunds",
            &json!({"payment_intent": pi["id"], "amount": 25001}),
        )
        .await;
    assert_eq!(over.status(), 400);
    let refund = app
        .post(
            "/api/v1/refunds",
            &json!({"payment_intent": pi["id"], "amount": 10000}),
        )
        .await;
    assert_eq!(refund.status(), 200);
    let got: Value = get_json(&app, &format!("/api/v1/payment_links/{id}")).await;
    assert_eq!(got["amount_collected"], 25000);
    // An amount on any other session stays refused.
    let plain = app.seed_session().await;
    assert_error(
        app.pay(&plain, &pay).await,
        400,
        "parameter_unknown",
        Some("amount"),
    )
    .await;
}

#[tokio::test]
async fn after_completion_redirects_or_shows_the_merchant_s_message() {
    let app = spawn_app().await;
    let hosted = create_link(&app, &link_body()).await;
    let sid = visit(&app, hosted["id"].as_str().unwrap(), None, "fr")
        .await
        .session
        .unwrap();
    let paid: Value = app
        .pay(&sid, &card("4242424242424242"))
        .await
        .json()
        .await
        .unwrap();
    let to = paid["redirect_url"].as_str().unwrap();
    assert_eq!(to, format!("http://checkout.test/checkout/{sid}"));
    let receipt = app
        .client
        .get(app.url(&format!("/checkout/{sid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        receipt.contains("Merci ! Livraison sous 48 h."),
        "{receipt}"
    );
    assert!(
        !receipt.contains("continue-link"),
        "no way back to a merchant site"
    );

    let redirect = create_link(
        &app,
        &json!({"line_items": [{"name": "A", "amount": 1000, "currency": "XOF"}],
                "after_completion": {"type": "redirect", "redirect": {"url": "https://shop.example/merci?s={CHECKOUT_SESSION_ID}"}}}),
    )
    .await;
    let sid = visit(&app, redirect["id"].as_str().unwrap(), None, "fr")
        .await
        .session
        .unwrap();
    let paid: Value = app
        .pay(&sid, &card("4242424242424242"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        paid["redirect_url"],
        format!("https://shop.example/merci?s={sid}")
    );
}

/// The QR code, rendered by a real SVG renderer (resvg) and decoded (rqrr).
#[tokio::test]
async fn the_qr_code_decodes_to_the_link() {
    let app = spawn_app().await;
    let link = create_link(&app, &link_body()).await;
    let id = link["id"].as_str().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/l/{id}/qr.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).expect("svg");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("pixmap");
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| data[(y * w + x) * 4]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (_, content) = grids[0].decode().expect("decodes");
    assert_eq!(content, link["url"].as_str().unwrap());
    let missing = app
        .client
        .get(app.url("/l/plink_nope00000000000000/qr.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn visits_are_limited_per_client_address() {
    let app = spawn_app_with(|c| c.pay_rate_limit = 3).await;
    let link = create_link(&app, &link_body()).await;
    let id = link["id"].as_str().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(visit(&app, id, None, "fr").await.status);
    }
    assert_eq!(&statuses[..3], &[303, 303, 303]);
    assert_eq!(&statuses[3..], &[429, 429], "a bot mints no more sessions");
    let res = browser()
        .get(app.url(&format!("/l/{id}")))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("retry-after").is_some());
    let made: Value = get_json(
        &app,
        &format!("/api/v1/checkout/sessions?payment_link={id}"),
    )
    .await;
    assert_eq!(made["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn graphql_creates_updates_and_reads_links_with_their_sessions_and_totals() {
    let app = spawn_app().await;
    let created = app
        .graphql(
            r#"mutation { createPaymentLink(input: {lineItems: [{name: "Sac", amount: 12000, currency: "XOF"}], completedSessionsLimit: 10}) { id url active completedSessionsLimit } }"#,
            json!({}),
        )
        .await;
    let id = created["data"]["createPaymentLink"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        created["data"]["createPaymentLink"]["completedSessionsLimit"],
        10
    );
    let sid = visit(&app, &id, None, "fr").await.session.unwrap();
    assert_eq!(app.pay(&sid, &card("4242424242424242")).await.status(), 200);
    visit(&app, &id, None, "fr").await;
    let read = app
        .graphql(
            "query($id: ID!) { paymentLink(id: $id) { id completedSessions amountCollected sessions(first: 10) { totalCount nodes { id status } } } paymentLinks(first: 5) { nodes { id } } }",
            json!({"id": id}),
        )
        .await;
    let l = &read["data"]["paymentLink"];
    assert_eq!(l["completedSessions"], 1, "{read}");
    assert_eq!(l["amountCollected"], 12000);
    assert_eq!(l["sessions"]["totalCount"], 2);
    assert_eq!(read["data"]["paymentLinks"]["nodes"][0]["id"], id.as_str());
    let filtered = app
        .graphql(
            "query($id: ID!) { checkoutSessions(first: 10, filter: {paymentLink: $id, status: COMPLETE}) { nodes { id paymentLink } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        filtered["data"]["checkoutSessions"]["nodes"][0]["id"],
        sid.as_str()
    );
    assert_eq!(
        filtered["data"]["checkoutSessions"]["nodes"][0]["paymentLink"],
        id.as_str()
    );
    let updated = app
        .graphql(
            "mutation($id: ID!) { updatePaymentLink(id: $id, input: {active: false}) { active } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(updated["data"]["updatePaymentLink"]["active"], false);
    let v = visit(&app, &id, None, "fr").await;
    assert_eq!(v.status, 410, "{}", v.body);
    let bad = app
        .graphql(
            r#"mutation { createPaymentLink(input: {lineItems: [{name: "A", currency: "XOF"}]}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "parameter_invalid",
        "{bad}"
    );
}

#[tokio::test]
async fn a_retried_create_with_its_idempotency_key_makes_one_link() {
    let app = spawn_app().await;
    let send = || {
        app.client
            .post(app.url("/api/v1/payment_links"))
            .bearer_auth(&app.key)
            .header("idempotency-key", "link-once-42")
            .json(&link_body())
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"], "the same link, replayed");
    let all = get_json(&app, "/api/v1/payment_links").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    // The same key with another body is refused.
    let other = app
        .client
        .post(app.url("/api/v1/payment_links"))
        .bearer_auth(&app.key)
        .header("idempotency-key", "link-once-42")
        .json(&json!({"line_items": [{"name": "B", "amount": 1, "currency": "XOF"}]}))
        .send()
        .await
        .unwrap();
    assert_error(other, 400, "idempotency_key_mismatch", None).await;
}

#[tokio::test]
async fn the_test_helper_pays_a_link_s_session_within_its_limit() {
    let app = spawn_app().await;
    let link = create_link(
        &app,
        &json!({"line_items": [{"name": "Don", "currency": "XOF", "custom_amount": {"minimum": 700}}],
                "restrictions": {"completed_sessions": {"limit": 1}}}),
    )
    .await;
    let id = link["id"].as_str().unwrap();
    let a = visit(&app, id, None, "fr").await.session.unwrap();
    let b = visit(&app, id, None, "fr").await.session.unwrap();
    let helper = |s: &str, what: &str| format!("/api/v1/test_helpers/checkout/sessions/{s}/{what}");
    // A helper failure takes and gives back the slot: nobody else's.
    assert_eq!(
        app.post(&helper(&a, "fail"), &json!({})).await.status(),
        200
    );
    let paid = app.post(&helper(&a, "succeed"), &json!({})).await;
    assert_eq!(paid.status(), 200);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["amount_total"], 700, "the minimum of a custom amount");
    let res = app.post(&helper(&b, "succeed"), &json!({})).await;
    assert_error(res, 409, "payment_link_used_up", None).await;
    let got = get_json(&app, &format!("/api/v1/payment_links/{id}")).await;
    assert_eq!(got["completed_sessions"], 1);
    assert_eq!(got["amount_collected"], 700);
}
