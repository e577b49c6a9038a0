//! `/l/{id}`: a payment link's public address, and its QR code (SPEC §12).
//!
//! A visit answers `303` to a checkout session's page: the one this browser
//! already has open from the link (a cookie scoped to the link's path), or
//! a new one. A link that makes no session shows a `410` page. Visits are
//! limited per client address, so a bot cannot mint sessions without bound;
//! the cookie only ever leads back to a session of this same link.
use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::i18n::{self, Lang};
use super::{VERSION, html, not_found};
use crate::AppState;
use crate::domain::{CheckoutSessionId, PaymentLinkId};
use crate::error::Error;
use crate::rest::ops::RestState;
use crate::rest::rate_limit;
use crate::service::payment_link::{self, Gone, Visit};

#[derive(Template)]
#[template(path = "link_gone.html")]
struct LinkGonePage<'a> {
    t: &'a i18n::Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
    title: &'a str,
    body: &'a str,
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// The cookie naming this browser's open session of link `id`.
fn cookie_name(id: &PaymentLinkId) -> String {
    format!("ik_{id}")
}

fn returning_session(headers: &HeaderMap, id: &PaymentLinkId) -> Option<CheckoutSessionId> {
    let name = cookie_name(id);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| CheckoutSessionId::parse(v))
}

fn gone_page(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response {
    let p = LinkGonePage {
        t: lang.strings(),
        lang: lang.code(),
        version: &VERSION,
        merchant: "Ikawaari Checkout",
        test_mode: false,
        title,
        body,
    };
    let mut res = html(status, p.render());
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn visit(
    State(state): State<AppState>,
    Extension(rest): Extension<RestState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let accept = accept_language(&headers);
    let Some(id) = PaymentLinkId::parse(&id) else {
        return not_found(i18n::negotiate(None, accept));
    };
    let client = rate_limit::client_ip(addr.ip(), &headers, &state.config.trusted_proxies);
    if let Err(Error::RateLimited { retry_after }) = rest.visit_limiter.check_address(client) {
        let lang = i18n::negotiate(None, accept);
        let t = lang.strings();
        let mut res = gone_page(
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            t.busy_title,
            t.busy_body,
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return res;
    }
    let returning = returning_session(&headers, &id);
    match payment_link::visit(&state, &id, returning.as_ref()).await {
        Ok(Visit::Session { id: session, new }) => {
            let to = format!("{}/{session}", state.config.checkout_url);
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if new {
                let secure = if state.config.checkout_url.starts_with("https://") {
                    "; Secure"
                } else {
                    ""
                };
                let cookie = format!(
                    "{}={session}; Path=/l/{id}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
                    cookie_name(&id),
                    crate::domain::payment_link::VISIT_SESSION_SECS
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    h.insert(header::SET_COOKIE, v);
                }
            }
            res
        }
        Ok(Visit::Gone { reason, locale }) => {
            let lang = i18n::negotiate(Some(&locale), accept);
            let t = lang.strings();
            let (title, body) = match reason {
                Gone::Inactive => (t.link_inactive_title, t.link_inactive_body),
                Gone::Expired => (t.link_expired_title, t.link_expired_body),
                Gone::UsedUp => (t.link_used_up_title, t.link_used_up_body),
            };
            gone_page(StatusCode::GONE, lang, title, body)
        }
        Err(Error::NotFound { .. }) => not_found(i18n::negotiate(None, accept)),
        Err(e) => e.into_response(),
    }
}

/// The link's address as an SVG QR code (the `qrcode` crate, error
/// correction M: still scannable with a corner smudged or printed small).
pub async fn qr(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = PaymentLinkId::parse(&id) else {
        return Error::not_found("payment_link", &id).into_response();
    };
    match payment_link::exists(&state, &id).await {
        Ok(true) => {}
        Ok(false) => return Error::not_found("payment_link", &id).into_response(),
        Err(e) => return e.into_response(),
    }
    let url = state.config.payment_link_url(&id);
    let code = match qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
    {
        Ok(c) => c,
        Err(e) => return Error::Internal(format!("qr: {e}")).into_response(),
    };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response()
}
