//! Wave Checkout (`../shared/processors.md` A3, SPEC §11): the customer is
//! sent to Wave (`wave_launch_url`), Wave confirms with a signed webhook;
//! the checkout session's read decides. The attempt id is Wave's
//! `client_reference`: after an ambiguous create, a search by it tells
//! whether Wave has the session (never a second one for one attempt).
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{self, Answer};
use super::{
    Attempt, Charge, ConnError, Connector, Hint, HintAbout, Inbound, Initiated, Observed, Outcome,
    RefundOutcome, RefundRequest, Refunds, Rejected, Reported, decline, format_amount,
};

const PROVIDER: &str = "wave";

pub const DEFAULT_URL: &str = "https://api.wave.com";

/// How far a webhook's `t` may be from our clock (Wave's documentation).
const WINDOW_SECS: u64 = 300;

/// A merchant's Wave credentials (sealed at rest).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub api_key: String,
    pub webhook_secret: String,
}

pub struct Wave {
    base: String,
    creds: Credentials,
    timeout: Duration,
}

impl Wave {
    pub fn new(base: &str, creds: Credentials, timeout: Duration) -> Wave {
        Wave {
            base: base.trim_end_matches('/').to_string(),
            creds,
            timeout,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        http::client(self.timeout)
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.creds.api_key)
    }

    /// Checks the API key with an authenticated read (a search that finds
    /// nothing): `Ok(Err(words))` when Wave refuses it.
    pub async fn check(&self) -> Result<Result<(), String>, ConnError> {
        let req = self
            .req(reqwest::Method::GET, "/v1/checkout/sessions/search")
            .query(&[("client_reference", "ikawaari-credentials-check")]);
        let a = http::send(PROVIDER, "check", req).await?;
        match a.status {
            200 => Ok(Ok(())),
            400..=499 => Ok(Err(a.words())),
            s => Err(ConnError::Ambiguous(format!("check: HTTP {s}"))),
        }
    }

    async fn session(&self, id: &str) -> Result<Option<serde_json::Value>, ConnError> {
        let path = format!("/v1/checkout/sessions/{}", enc(id));
        let a = http::send(PROVIDER, "session", self.req(reqwest::Method::GET, &path)).await?;
        match a.status {
            200 => a
                .json()
                .map(Some)
                .ok_or_else(|| ConnError::Ambiguous("session: unreadable".into())),
            404 => Ok(None),
            s => Err(ConnError::Ambiguous(format!("session: HTTP {s}"))),
        }
    }

    async fn by_reference(&self, reference: &str) -> Result<Option<serde_json::Value>, ConnError> {
        let req = self
            .req(reqwest::Method::GET, "/v1/checkout/sessions/search")
            .query(&[("client_reference", reference)]);
        let a = http::send(PROVIDER, "search", req).await?;
        if a.status != 200 {
            return Err(ConnError::Ambiguous(format!("search: HTTP {}", a.status)));
        }
        let v = a
            .json()
            .ok_or_else(|| ConnError::Ambiguous("search: unreadable".into()))?;
        Ok(v.get("result")
            .and_then(|r| r.as_array())
            .and_then(|r| {
                r.iter()
                    .find(|s| s.get("client_reference").and_then(|c| c.as_str()) == Some(reference))
            })
            .cloned())
    }
}

/// A path segment: Wave's ids are `cos-…`; anything else is escaped.
fn enc(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

fn str_field(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

/// A Wave checkout session → where our attempt stands.
fn observe(v: &serde_json::Value) -> Observed {
    let outcome = match (
        v.get("payment_status").and_then(|s| s.as_str()),
        v.get("checkout_status").and_then(|s| s.as_str()),
    ) {
        (Some("succeeded"), _) => Outcome::Succeeded,
        (Some("cancelled"), _) => Outcome::Declined(decline(
            "card_declined",
            Some("customer_declined"),
            "The Wave payment was cancelled.",
        )),
        (_, Some("expired")) => Outcome::Declined(decline(
            "card_declined",
            Some("expired_authorization"),
            "The Wave payment was not completed in time.",
        )),
        _ => Outcome::Processing,
    };
    let currency = str_field(v, "currency").unwrap_or_default();
    let amount = entity::currency::Currency::parse(&currency)
        .and_then(|c| super::parse_amount(&str_field(v, "amount")?, c));
    Observed {
        outcome,
        reported: Some(Reported {
            amount,
            currency,
            reference: str_field(v, "client_reference").unwrap_or_default(),
        }),
        provider_id: str_field(v, "id"),
        redirect_url: str_field(v, "wave_launch_url"),
    }
}

/// `Wave-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `t` and the
/// raw body (no separator): any `v1` matching, in constant time
/// (`ring::hmac::verify`), with `t` within five minutes of `now`.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), Rejected> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok().map(|n| (n, v)),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let (t, raw_t) = t.ok_or(Rejected("Wave-Signature has no timestamp"))?;
    if now.abs_diff(t) > WINDOW_SECS {
        return Err(Rejected(
            "Wave-Signature timestamp outside the 5-minute window",
        ));
    }
    // Signed as sent: the timestamp's own text, then the raw body.
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = raw_t.as_bytes().to_vec();
    msg.extend_from_slice(body);
    if sigs
        .iter()
        .any(|s| ring::hmac::verify(&key, &msg, s).is_ok())
    {
        Ok(())
    } else {
        Err(Rejected("no Wave-Signature v1 matches"))
    }
}

fn refused(a: &Answer) -> ConnError {
    tracing::error!(provider = PROVIDER, words = %a.words(), "Wave refused the request");
    ConnError::Refused(decline(
        "card_declined",
        Some("processing_error"),
        "The Wave payment could not be processed.",
    ))
}

#[async_trait::async_trait]
impl Connector for Wave {
    async fn initiate(&self, a: &Attempt<'_>, charge: Charge<'_>) -> Result<Initiated, ConnError> {
        let Charge::MobileMoney { phone, .. } = charge else {
            return Err(ConnError::Refused(decline(
                "card_declined",
                Some("processing_error"),
                "Wave takes mobile money only.",
            )));
        };
        let mut body = serde_json::json!({
            "amount": format_amount(a.amount, a.currency),
            "currency": a.currency.code(),
            "client_reference": a.reference,
            "success_url": a.return_url,
            "error_url": a.return_url,
        });
        if !phone.is_empty() {
            body["restrict_payer_mobile"] = phone.into();
        }
        let req = self
            .req(reqwest::Method::POST, "/v1/checkout/sessions")
            .json(&body);
        let answer = http::send(PROVIDER, "create", req).await?;
        match answer.status {
            200 | 201 => {
                let v = answer
                    .json()
                    .ok_or_else(|| ConnError::Ambiguous("create: unreadable answer".into()))?;
                let o = observe(&v);
                Ok(Initiated {
                    outcome: Outcome::Processing,
                    provider_id: o.provider_id,
                    redirect_url: o.redirect_url,
                })
            }
            400..=499 => Err(refused(&answer)),
            s => Err(ConnError::Ambiguous(format!("create: HTTP {s}"))),
        }
    }

    async fn lookup(&self, a: &Attempt<'_>) -> Result<Option<Observed>, ConnError> {
        let found = match a.provider_id {
            Some(id) => self.session(id).await?,
            None => self.by_reference(a.reference).await?,
        };
        Ok(found.as_ref().map(observe))
    }

    fn verify_notification(&self, n: &Inbound<'_>) -> Result<Hint, Rejected> {
        let header = n
            .headers
            .get("wave-signature")
            .and_then(|h| h.to_str().ok())
            .ok_or(Rejected("no Wave-Signature header"))?;
        verify_signature(&self.creds.webhook_secret, header, n.body, n.now)?;
        let v: serde_json::Value =
            serde_json::from_slice(n.body).map_err(|_| Rejected("the body is not JSON"))?;
        // Signed events about other things (`test.test_event`,
        // `merchant.payment_received`, `b2b.*`) are acknowledged, unused.
        let about = v
            .get("data")
            .and_then(|d| str_field(d, "client_reference"))
            .map_or(HintAbout::Nothing, HintAbout::Reference);
        Ok(Hint {
            event_id: str_field(&v, "id"),
            about,
        })
    }

    async fn cancel(&self, a: &Attempt<'_>) -> Result<bool, ConnError> {
        let Some(id) = a.provider_id else {
            return Ok(false);
        };
        let path = format!("/v1/checkout/sessions/{}/expire", enc(id));
        let answer = http::send(PROVIDER, "expire", self.req(reqwest::Method::POST, &path)).await?;
        match answer.status {
            // 409: no longer open (paid meanwhile): the lookup says how.
            200..=299 | 409 => Ok(true),
            s => Err(ConnError::Ambiguous(format!("expire: HTTP {s}"))),
        }
    }

    fn refunds(&self) -> Refunds {
        Refunds::Full
    }

    async fn refund(&self, r: &RefundRequest<'_>) -> Result<RefundOutcome, ConnError> {
        let Some(id) = r.payment.provider_id else {
            return Ok(RefundOutcome::Failed("unknown_payment".into()));
        };
        let path = format!("/v1/checkout/sessions/{}/refund", enc(id));
        let a = http::send(PROVIDER, "refund", self.req(reqwest::Method::POST, &path)).await?;
        match a.status {
            200..=299 => Ok(RefundOutcome::Succeeded),
            400..=499 => Ok(RefundOutcome::Failed(
                a.code().unwrap_or_else(|| "refused".into()),
            )),
            s => Err(ConnError::Ambiguous(format!("refund: HTTP {s}"))),
        }
    }

    async fn refund_status(
        &self,
        r: &RefundRequest<'_>,
    ) -> Result<Option<RefundOutcome>, ConnError> {
        // Wave answers a refund at once; after an unknown answer the
        // session says whether it was refunded.
        let Some(id) = r.payment.provider_id else {
            return Ok(None);
        };
        let s = self.session(id).await?;
        let refunded = s.as_ref().is_some_and(|v| {
            v.get("payment_status").and_then(|p| p.as_str()) == Some("refunded")
                || v.get("refunded").and_then(|p| p.as_bool()) == Some(true)
        });
        Ok(refunded.then_some(RefundOutcome::Succeeded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let mut msg = t.to_string().into_bytes();
        msg.extend_from_slice(body);
        hex::encode(ring::hmac::sign(&key, &msg).as_ref())
    }

    #[test]
    fn a_wave_signature_is_checked_with_its_window_and_any_v1() {
        let body = br#"{"id":"EV_1"}"#;
        let now = 1_800_000_000;
        let good = sign("s3cret", now, body);
        let ok = |h: &str, at| verify_signature("s3cret", h, body, at);
        assert!(ok(&format!("t={now},v1={good}"), now).is_ok());
        assert!(ok(&format!("t={now},v1=00ff,v1={good}"), now + 299).is_ok());
        assert!(ok(&format!("t={now},v1={good}"), now + 301).is_err());
        assert!(ok(&format!("t={now},v1={good}"), now - 301).is_err());
        assert!(ok(&format!("t={},v1={good}", now + 1), now).is_err());
        assert!(ok(&format!("v1={good}"), now).is_err());
        assert!(ok(&format!("t={},v1={good}", i64::MIN), now).is_err());
        assert!(ok(&format!("t={now},v1={}", sign("other", now, body)), now).is_err());
        // A dot between t and the body is Stripe's scheme, not Wave's.
        let dotted = sign("s3cret", now, &[b".".as_slice(), body].concat());
        assert!(ok(&format!("t={now},v1={dotted}"), now).is_err());
    }
}
