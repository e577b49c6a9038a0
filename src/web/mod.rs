//! The hosted checkout page (SPEC §8): server-rendered with askama (templates
//! compiled into the binary and type-checked at build time, HTML-escaped by
//! default), one small script and one stylesheet embedded in the binary, a
//! strict Content-Security-Policy. No CDN, no build step.
pub mod format;
pub mod i18n;
mod links;
mod pending;

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use self::i18n::{Lang, Strings};
use crate::AppState;
use crate::domain::return_url::resolve;
use crate::domain::{CheckoutSessionId, Provider, SessionStatus};
use crate::error::Error;
use crate::service::checkout::{self, PublicView};
use crate::service::stored;

const SCRIPT: &str = include_str!("static/checkout.js");
const STYLE: &str = include_str!("static/checkout.css");
/// A favicon, so no browser console shows a 404 for it.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#0b6e4f\"/><path d=\"M9 17l5 5 9-11\" fill=\"none\" stroke=\"#fff\" stroke-width=\"3.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg>";

/// Changes whenever an asset changes: assets are cached for a year.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    h.update(SCRIPT);
    h.update(STYLE);
    hex::encode(&h.finalize()[..6])
});

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout/{id}", get(page))
        .route("/checkout/{id}/complete", get(complete))
        .route("/checkout/{id}/return", get(pending::return_page))
        .route("/checkout/{id}/wave-qr.svg", get(pending::wave_qr))
        .route("/checkout/assets/{file}", get(asset))
        .route("/l/{id}", get(links::visit))
        .route("/l/{id}/qr.svg", get(links::qr))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Strict headers for everything under `/checkout` (GraphiQL and Swagger UI keep their own).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

struct ItemView {
    name: String,
    description: Option<String>,
    quantity: i64,
    unit: String,
    line_total: String,
    image: Option<String>,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    t: &'a Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
    session_id: &'a str,
    items: Vec<ItemView>,
    total: String,
    interval: Option<String>,
    card: bool,
    momo: bool,
    /// The operators this session can be paid with, in the select's order.
    providers: Vec<ProviderOption>,
    cancel_url: Option<&'a str>,
    strings_json: String,
    custom: Option<CustomAmountView>,
}

struct ProviderOption {
    value: &'static str,
    label: &'static str,
}

fn provider_options(providers: &[Provider]) -> Vec<ProviderOption> {
    providers
        .iter()
        .map(|p| ProviderOption {
            value: p.as_str(),
            label: match p {
                Provider::OrangeMoney => "Orange Money",
                Provider::MtnMomo => "MTN MoMo",
                Provider::MoovMoney => "Moov Money",
                Provider::Wave => "Wave",
            },
        })
        .collect()
}

/// A payment link's custom amount on the form: bounds, and how to write it.
struct CustomAmountView {
    minimum: i64,
    maximum: i64,
    exp: u32,
    group: char,
    decimal: char,
    prefix: String,
    suffix: String,
    value: String,
    hint: String,
}

fn custom_amount(view: &PublicView, lang: Lang) -> Result<Option<CustomAmountView>, Error> {
    let Some(c) = stored::custom_amount(&view.session)? else {
        return Ok(None);
    };
    let currency = view.session.currency;
    let show =
        |minor: i64| crate::domain::Amount::new(minor).map(|a| format::amount(a, currency, lang));
    let p = format::parts(currency, lang);
    let hint = lang
        .strings()
        .amount_between
        .replace("{min}", &show(c.bounds.minimum).unwrap_or_default())
        .replace("{max}", &show(c.bounds.maximum).unwrap_or_default());
    Ok(Some(CustomAmountView {
        minimum: c.bounds.minimum,
        maximum: c.bounds.maximum,
        exp: p.exp,
        group: p.group,
        decimal: p.decimal,
        prefix: p.prefix,
        suffix: p.suffix,
        value: c
            .bounds
            .preset
            .and_then(crate::domain::Amount::new)
            .map(|a| format::number(a, currency, lang))
            .unwrap_or_default(),
        hint,
    }))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    t: &'a Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
    items: Vec<ItemView>,
    total: String,
    interval: Option<String>,
    continue_url: Option<String>,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "expired.html")]
struct ExpiredPage<'a> {
    t: &'a Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
    cancel_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    t: &'a Strings,
    lang: &'a str,
    version: &'a str,
    merchant: &'a str,
    test_mode: bool,
}

fn html(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => Error::Internal(format!("template: {e}")).into_response(),
    }
}

fn items(v: &PublicView, lang: Lang) -> Result<Vec<ItemView>, Error> {
    v.items
        .iter()
        .map(|i| {
            Ok(ItemView {
                name: i.name.clone(),
                description: i.description.clone(),
                quantity: i.quantity,
                unit: format::amount(i.amount, i.currency, lang),
                line_total: format::amount(i.amount_total, i.currency, lang),
                image: stored::images(i)?.into_iter().next(),
            })
        })
        .collect()
}

fn interval(v: &PublicView, lang: Lang) -> Option<String> {
    let first = v.items.first()?;
    let iv = first.recurring_interval?;
    Some(format::interval(
        iv,
        first.recurring_interval_count.unwrap_or(1),
        lang,
    ))
}

/// JSON for a `<script type="application/json">` block: `<` escaped so no
/// string can close the element.
fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

async fn page(
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
            // A paid session of a payment link: its confirmation message, or
            // the merchant's redirect as usual.
            let confirmation = match (&view.session.payment_link_id, view.status) {
                (Some(link), SessionStatus::Complete) => {
                    match crate::service::payment_link::confirmation(&state, link).await {
                        Ok(c) => c,
                        Err(e) => return e.into_response(),
                    }
                }
                _ => None,
            };
            let lang = i18n::negotiate(Some(&view.session.locale), accept);
            render(&view, lang, confirmation)
        }
        Err(Error::NotFound { .. }) => not_found(i18n::negotiate(None, accept)),
        Err(e) => e.into_response(),
    }
}

fn not_found(lang: Lang) -> Response {
    let p = NotFoundPage {
        t: lang.strings(),
        lang: lang.code(),
        version: &VERSION,
        merchant: "Ikawaari Checkout",
        test_mode: false,
    };
    html(StatusCode::NOT_FOUND, p.render())
}

/// The page for the session's state: expired, receipt, or the payment form.
/// `confirmation`: a payment link's confirmation page (with its message)
/// instead of the way back to the merchant.
fn render(view: &PublicView, lang: Lang, confirmation: Option<Option<String>>) -> Response {
    let t = lang.strings();
    let s = &view.session;
    let item_views = match items(view, lang) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let total = format::amount(s.amount_total, s.currency, lang);
    let (merchant, test_mode) = (view.merchant_name.as_str(), !s.livemode);
    match view.status {
        SessionStatus::Expired => {
            let p = ExpiredPage {
                t,
                lang: lang.code(),
                version: &VERSION,
                merchant,
                test_mode,
                cancel_url: s.cancel_url.as_deref(),
            };
            html(StatusCode::GONE, p.render())
        }
        SessionStatus::Complete => {
            let p = ReceiptPage {
                t,
                lang: lang.code(),
                version: &VERSION,
                merchant,
                test_mode,
                items: item_views,
                total,
                interval: interval(view, lang),
                continue_url: match confirmation {
                    Some(_) => None,
                    None => Some(resolve(&s.success_url, &s.id)),
                },
                message: confirmation.flatten(),
            };
            html(StatusCode::OK, p.render())
        }
        SessionStatus::Open => {
            let custom = match custom_amount(view, lang) {
                Ok(c) => c,
                Err(e) => return e.into_response(),
            };
            let p = CheckoutPage {
                t,
                lang: lang.code(),
                version: &VERSION,
                merchant,
                test_mode,
                session_id: &s.id,
                items: item_views,
                total,
                interval: interval(view, lang),
                card: view.methods.card,
                momo: !view.methods.mobile_money.is_empty(),
                providers: provider_options(&view.methods.mobile_money),
                cancel_url: s.cancel_url.as_deref(),
                strings_json: script_json(&t.js),
                custom,
            };
            html(StatusCode::OK, p.render())
        }
    }
}

/// Where the page sends the customer once an asynchronous payment settled:
/// the merchant's success URL for a paid session, the page otherwise.
async fn complete(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(typed) = CheckoutSessionId::parse(&id) else {
        return Redirect::to(&format!("/checkout/{}", id_chars(&id))).into_response();
    };
    match checkout::public_view(&state, &typed).await {
        Ok(v) if v.status == SessionStatus::Complete => {
            match location(&resolve(&v.session.success_url, &v.session.id)) {
                Some(to) => Redirect::to(&to).into_response(),
                None => Redirect::to(&format!("/checkout/{}", v.session.id)).into_response(),
            }
        }
        Ok(v) => Redirect::to(&format!("/checkout/{}", v.session.id)).into_response(),
        Err(_) => Redirect::to(&format!("/checkout/{}", id_chars(&id))).into_response(),
    }
}

/// `url` as a `Location` value (`Redirect::to` panics on CR or LF, and
/// passes other bytes through raw): as stored when it is printable ASCII,
/// else as the URL parser serializes it (non-ASCII percent-encoded, the
/// host in punycode, tabs and newlines dropped), else `None`. Create
/// refuses control characters; sessions stored before it did still redirect.
fn location(url: &str) -> Option<String> {
    let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if printable(url) {
        return Some(url.to_string());
    }
    let u = url::Url::parse(url).ok()?;
    printable(u.as_str()).then(|| u.into())
}

/// Keeps only the characters an id can have, so a redirect cannot carry anything else.
fn id_chars(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "checkout.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "checkout.css" => (STYLE, "text/css; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return Error::RouteNotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
