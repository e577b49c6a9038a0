//! A payment that waits for its provider (SPEC §11): the page Wave sends
//! the customer back to (`/checkout/{id}/return`), and Wave's payment page
//! as a QR code to scan with the phone (`/checkout/{id}/wave-qr.svg`).
//!
//! The return page shows the processing state while the intent is
//! processing (the script polls the public view, then reloads or goes to
//! `/complete`); every other state is decided here, so a reload always
//! lands on a page that no longer polls.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{self, Lang, Strings};
use super::{ItemView, VERSION, html, interval, items, not_found, render};
use crate::AppState;
use crate::domain::{CheckoutSessionId, IntentStatus, SessionStatus};
use crate::error::Error;
use crate::service::checkout::{self, PublicView};
use crate::service::stored;
use crate::service::views::NextAction;

#[derive(Template)]
#[template(path = "return.html")]
struct ReturnPage<'a> {
    t: &'a Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
    session_id: &'a str,
    items: Vec<ItemView>,
    total: String,
    interval: Option<String>,
    /// Why the payment failed; `None` while it is being confirmed.
    failure: Option<String>,
}

pub async fn return_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let Some(id) = CheckoutSessionId::parse(&id) else {
        return not_found(i18n::negotiate(None, accept));
    };
    match checkout::public_view(&state, &id).await {
        Ok(view) => {
            let lang = i18n::negotiate(Some(&view.session.locale), accept);
            returned(&view, lang)
        }
        Err(Error::NotFound { .. }) => not_found(i18n::negotiate(None, accept)),
        Err(e) => e.into_response(),
    }
}

/// The page for a customer back from the provider, by the session's state.
fn returned(view: &PublicView, lang: Lang) -> Response {
    let s = &view.session;
    let to_page = || Redirect::to(&format!("/checkout/{}", s.id)).into_response();
    let failure = match (view.status, view.intent.status) {
        (SessionStatus::Complete, _) => {
            return Redirect::to(&format!("/checkout/{}/complete", s.id)).into_response();
        }
        // The expired page, as the checkout page shows it.
        (SessionStatus::Expired, _) => return render(view, lang, None),
        (SessionStatus::Open, IntentStatus::Processing) => None,
        (SessionStatus::Open, IntentStatus::RequiresPaymentMethod) => {
            match stored::last_payment_error(&view.intent) {
                Ok(Some(e)) => Some(lang.strings().js.momo_decline(e.decline_code.as_deref())),
                // Nothing was tried: the form.
                Ok(None) => return to_page(),
                Err(e) => return e.into_response(),
            }
        }
        // Nothing left to confirm here: the checkout page says what happened.
        (SessionStatus::Open, IntentStatus::Succeeded | IntentStatus::Canceled) => {
            return to_page();
        }
    };
    let t = lang.strings();
    let item_views = match items(view, lang) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let p = ReturnPage {
        t,
        lang: lang.code(),
        version: &VERSION,
        merchant: &view.merchant_name,
        test_mode: !s.livemode,
        session_id: &s.id,
        items: item_views,
        total: super::format::amount(s.amount_total, s.currency, lang),
        interval: interval(view, lang),
        failure,
    };
    html(StatusCode::OK, p.render())
}

/// Only a web address may become a link or a QR code (never `javascript:`).
pub(super) fn web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
}

/// The session's current Wave payment page as an SVG QR code; `404` when
/// the session waits for no redirect.
pub async fn wave_qr(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(typed) = CheckoutSessionId::parse(&id) else {
        return Error::not_found("checkout_session", &id).into_response();
    };
    let url = match checkout::public_view(&state, &typed).await {
        Ok(v) => match v.next_action {
            Some(NextAction::Redirect { url }) if web_url(&url) => url,
            _ => return Error::RouteNotFound.into_response(),
        },
        Err(e) => return e.into_response(),
    };
    let code = match qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
    {
        Ok(c) => c,
        Err(e) => return Error::Internal(format!("qr: {e}")).into_response(),
    };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // No cache header: the security layer's `no-store` (a new attempt has a new URL).
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

#[cfg(test)]
mod tests {
    use super::web_url;

    #[test]
    fn only_web_addresses_are_links() {
        assert!(web_url("https://pay.wave.com/c/cos-18qq?a=1"));
        assert!(web_url("http://127.0.0.1:9000/c/1"));
        assert!(!web_url("javascript:alert(1)"));
        assert!(!web_url("JavaScript:alert(1)"));
        assert!(!web_url("data:text/html,hi"));
        assert!(!web_url("/relative"));
    }
}
