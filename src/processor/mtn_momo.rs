//! MTN MoMo Open API, Collection (a push to the payer's phone) and, for
//! refunds, Disbursement (`../shared/processors.md` A1, SPEC §11).
//!
//! The attempt's `X-Reference-Id` (a UUIDv4 stored before the call) is the
//! transaction's id at MTN: a resend uses it again (MTN answers `409` when
//! it already has it). The callback is unsigned and sent once: it only
//! names the intent (`externalId`); the status read decides.
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::http::{self, Answer};
use super::token::TokenCache;
use super::{
    Attempt, Charge, ConnError, Connector, Hint, HintAbout, Inbound, Initiated, Observed, Outcome,
    RefundOutcome, RefundRequest, Refunds, Rejected, Reported, decline, format_amount,
};
use crate::error::Decline;

const PROVIDER: &str = "mtn_momo";

/// MTN's production host; the sandbox's is used in test mode.
pub const PRODUCTION_URL: &str = "https://proxy.momoapi.mtn.com";
pub const SANDBOX_URL: &str = "https://sandbox.momodeveloper.mtn.com";

/// One MTN product's access (Collection, Disbursement).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub subscription_key: String,
    pub api_user: String,
    pub api_key: String,
}

/// A merchant's MTN credentials (sealed at rest).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub subscription_key: String,
    pub api_user: String,
    pub api_key: String,
    pub target_environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disbursement: Option<Product>,
}

pub struct MtnMomo {
    base: String,
    creds: Credentials,
    timeout: Duration,
    collection: TokenCache,
    disbursement: TokenCache,
}

#[derive(Clone, Copy)]
enum Which {
    Collection,
    Disbursement,
}

impl Which {
    fn path(self) -> &'static str {
        match self {
            Which::Collection => "collection",
            Which::Disbursement => "disbursement",
        }
    }
}

impl MtnMomo {
    pub fn new(base: &str, creds: Credentials, timeout: Duration) -> MtnMomo {
        MtnMomo {
            base: base.trim_end_matches('/').to_string(),
            creds,
            timeout,
            collection: TokenCache::default(),
            disbursement: TokenCache::default(),
        }
    }

    fn product(&self, which: Which) -> Option<Product> {
        match which {
            Which::Collection => Some(Product {
                subscription_key: self.creds.subscription_key.clone(),
                api_user: self.creds.api_user.clone(),
                api_key: self.creds.api_key.clone(),
            }),
            Which::Disbursement => self.creds.disbursement.clone(),
        }
    }

    fn cache(&self, which: Which) -> &TokenCache {
        match which {
            Which::Collection => &self.collection,
            Which::Disbursement => &self.disbursement,
        }
    }

    /// `POST /{product}/token/`: `Ok(Err(words))` when MTN refuses the credentials.
    async fn fetch_token(&self, which: Which) -> Result<Result<String, String>, ConnError> {
        let Some(p) = self.product(which) else {
            return Ok(Err("no disbursement credentials".into()));
        };
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", p.api_user, p.api_key));
        let req = http::client(self.timeout)
            .post(format!("{}/{}/token/", self.base, which.path()))
            .header("Authorization", format!("Basic {basic}"))
            .header("Ocp-Apim-Subscription-Key", &p.subscription_key)
            .header("Content-Length", "0");
        let a = http::send(PROVIDER, "token", req).await?;
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            expires_in: Option<u64>,
        }
        match a.status {
            200 => match serde_json::from_slice::<Token>(&a.body) {
                Ok(t) => {
                    self.cache(which)
                        .put(t.access_token.clone(), t.expires_in.unwrap_or(3600));
                    Ok(Ok(t.access_token))
                }
                Err(_) => Err(ConnError::Ambiguous("token: unreadable answer".into())),
            },
            400..=499 => Ok(Err(a.words())),
            _ => Err(ConnError::Ambiguous(format!("token: HTTP {}", a.status))),
        }
    }

    async fn token(&self, which: Which) -> Result<String, ConnError> {
        if let Some(t) = self.cache(which).get() {
            return Ok(t);
        }
        self.fetch_token(which).await?.map_err(|words| {
            tracing::error!(
                provider = PROVIDER,
                "MTN refused the connector's credentials"
            );
            ConnError::Refused(config_decline(&words))
        })
    }

    /// Checks the credentials with MTN (a token per configured product):
    /// `Ok(Err(words))` when MTN refuses them.
    pub async fn check(&self) -> Result<Result<(), String>, ConnError> {
        if let Err(w) = self.fetch_token(Which::Collection).await? {
            return Ok(Err(w));
        }
        if self.creds.disbursement.is_some()
            && let Err(w) = self.fetch_token(Which::Disbursement).await?
        {
            return Ok(Err(format!("disbursement: {w}")));
        }
        Ok(Ok(()))
    }

    /// One authenticated call; a `401` forces one token refresh and a retry
    /// (a `401` means MTN did not accept the request: the retry is safe).
    async fn call(
        &self,
        which: Which,
        operation: &'static str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ConnError> {
        let token = self.token(which).await?;
        let first = http::send(PROVIDER, operation, build(&token)).await?;
        if first.status != 401 {
            return Ok(first);
        }
        self.cache(which).clear();
        let token = self.token(which).await?;
        http::send(PROVIDER, operation, build(&token)).await
    }

    /// A status read (`GET …/{reference}`): its JSON, `None` for MTN's
    /// `404` (it never got that reference).
    async fn status(
        &self,
        which: Which,
        operation: &'static str,
        path: &str,
    ) -> Result<Option<serde_json::Value>, ConnError> {
        let answer = self
            .call(which, operation, |token| {
                self.authed(which, reqwest::Method::GET, path, token)
            })
            .await?;
        match answer.status {
            200 => answer
                .json()
                .map(Some)
                .ok_or_else(|| ConnError::Ambiguous(format!("{operation}: unreadable answer"))),
            404 => Ok(None),
            s => Err(ConnError::Ambiguous(format!("{operation}: HTTP {s}"))),
        }
    }

    fn authed(
        &self,
        which: Which,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        let key = match which {
            Which::Collection => self.creds.subscription_key.as_str(),
            Which::Disbursement => self
                .creds
                .disbursement
                .as_ref()
                .map_or("", |d| d.subscription_key.as_str()),
        };
        http::client(self.timeout)
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Ocp-Apim-Subscription-Key", key)
            .header("X-Target-Environment", &self.creds.target_environment)
    }
}

/// MTN's notes: at most 160 characters, no apostrophes (SPEC §11).
fn note(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '\'' && *c != '’' && !c.is_control())
        .take(160)
        .collect()
}

/// A decline for a request MTN refused because of our configuration.
fn config_decline(words: &str) -> Decline {
    tracing::error!(provider = PROVIDER, words, "MTN refused the request");
    decline(
        "card_declined",
        Some("processing_error"),
        "The mobile money payment could not be processed.",
    )
}

/// MTN's `reason` → our decline (processors.md B2).
fn reason_decline(reason: &str) -> Decline {
    let (code, message) = match reason {
        "NOT_ENOUGH_FUNDS" => (
            "insufficient_funds",
            "The mobile money account has insufficient funds.",
        ),
        "APPROVAL_REJECTED" => ("customer_declined", "The payment was refused on the phone."),
        "EXPIRED" | "COULD_NOT_PERFORM_TRANSACTION" => (
            "expired_authorization",
            "The payment was not approved in time.",
        ),
        "PAYER_NOT_FOUND" => (
            "invalid_account",
            "No mobile money account was found for this number.",
        ),
        "INVALID_CURRENCY" | "NOT_ALLOWED_TARGET_ENVIRONMENT" | "INVALID_CALLBACK_URL_HOST" => {
            tracing::error!(
                provider = PROVIDER,
                reason,
                "MTN refused the payment because of the connector's configuration"
            );
            (
                "processing_error",
                "The mobile money payment could not be processed.",
            )
        }
        "INTERNAL_PROCESSING_ERROR" | "SERVICE_UNAVAILABLE" => (
            "processing_error",
            "The mobile money payment could not be processed.",
        ),
        _ => ("generic_decline", "The mobile money payment was declined."),
    };
    decline("card_declined", Some(code), message)
}

/// `reason` is a string in MTN's answers, an object `{code, message}` in
/// some older ones.
fn reason_of(v: &serde_json::Value) -> String {
    match v.get("reason") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(o) => o
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string(),
        None => String::new(),
    }
}

fn str_field(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

#[async_trait::async_trait]
impl Connector for MtnMomo {
    async fn initiate(&self, a: &Attempt<'_>, charge: Charge<'_>) -> Result<Initiated, ConnError> {
        let Charge::MobileMoney { phone, .. } = charge else {
            return Err(ConnError::Refused(decline(
                "card_declined",
                Some("processing_error"),
                "MTN MoMo takes mobile money only.",
            )));
        };
        let body = serde_json::json!({
            "amount": format_amount(a.amount, a.currency),
            "currency": a.currency.code(),
            "externalId": a.intent_id,
            "payer": {"partyIdType": "MSISDN", "partyId": phone.trim_start_matches('+')},
            "payerMessage": note(a.statement),
            "payeeNote": note(a.intent_id),
        });
        let answer = self
            .call(Which::Collection, "requesttopay", |token| {
                self.authed(
                    Which::Collection,
                    reqwest::Method::POST,
                    "/collection/v1_0/requesttopay",
                    token,
                )
                .header("X-Reference-Id", a.reference)
                .header("X-Callback-Url", a.notification_url)
                .json(&body)
            })
            .await?;
        let processing = Initiated {
            outcome: Outcome::Processing,
            provider_id: Some(a.reference.to_string()),
            redirect_url: None,
        };
        match answer.status {
            202 => Ok(processing),
            // It already has this reference (a resend after an ambiguous
            // call): the status read decides.
            409 => Ok(processing),
            400..=499 => Err(ConnError::Refused(config_decline(&answer.words()))),
            s => Err(ConnError::Ambiguous(format!("requesttopay: HTTP {s}"))),
        }
    }

    async fn lookup(&self, a: &Attempt<'_>) -> Result<Option<Observed>, ConnError> {
        let path = format!("/collection/v1_0/requesttopay/{}", a.reference);
        let Some(v) = self
            .status(Which::Collection, "requesttopay status", &path)
            .await?
        else {
            return Ok(None);
        };
        let currency = str_field(&v, "currency").unwrap_or_default();
        let amount = entity::currency::Currency::parse(&currency)
            .and_then(|c| super::parse_amount(&str_field(&v, "amount")?, c));
        let outcome = match v.get("status").and_then(|s| s.as_str()) {
            Some("SUCCESSFUL") => Outcome::Succeeded,
            Some("FAILED") => Outcome::Declined(reason_decline(&reason_of(&v))),
            Some("PENDING") | Some("ONGOING") => Outcome::Processing,
            _ => return Err(ConnError::Ambiguous("status: unknown status".into())),
        };
        Ok(Some(Observed {
            outcome,
            reported: Some(Reported {
                amount,
                currency,
                reference: str_field(&v, "externalId").unwrap_or_default(),
            }),
            provider_id: Some(a.reference.to_string()),
            redirect_url: None,
        }))
    }

    fn verify_notification(&self, n: &Inbound<'_>) -> Result<Hint, Rejected> {
        // Unsigned (MTN documents no signature): only a hint, never applied.
        let v: serde_json::Value =
            serde_json::from_slice(n.body).map_err(|_| Rejected("the body is not JSON"))?;
        let intent = str_field(&v, "externalId").ok_or(Rejected("no externalId"))?;
        Ok(Hint {
            event_id: None,
            about: HintAbout::Intent(intent),
        })
    }

    async fn cancel(&self, _: &Attempt<'_>) -> Result<bool, ConnError> {
        // No cancel in Collection: MTN ends a request itself (≈ 5 min).
        Ok(false)
    }

    fn refunds(&self) -> Refunds {
        if self.creds.disbursement.is_some() {
            Refunds::Partial
        } else {
            Refunds::None
        }
    }

    async fn refund(&self, r: &RefundRequest<'_>) -> Result<RefundOutcome, ConnError> {
        let body = serde_json::json!({
            "amount": format_amount(r.amount, r.payment.currency),
            "currency": r.payment.currency.code(),
            "externalId": r.id,
            "payerMessage": note(r.payment.statement),
            "payeeNote": note(r.id),
            "referenceIdToRefund": r.payment.reference,
        });
        let answer = self
            .call(Which::Disbursement, "refund", |token| {
                self.authed(
                    Which::Disbursement,
                    reqwest::Method::POST,
                    "/disbursement/v1_0/refund",
                    token,
                )
                .header("X-Reference-Id", r.reference)
                .json(&body)
            })
            .await?;
        match answer.status {
            202 | 409 => Ok(RefundOutcome::Processing),
            400..=499 => Ok(RefundOutcome::Failed(
                answer
                    .code()
                    .unwrap_or_else(|| "refused".into())
                    .to_lowercase(),
            )),
            s => Err(ConnError::Ambiguous(format!("refund: HTTP {s}"))),
        }
    }

    async fn refund_status(
        &self,
        r: &RefundRequest<'_>,
    ) -> Result<Option<RefundOutcome>, ConnError> {
        let path = format!("/disbursement/v1_0/refund/{}", r.reference);
        let Some(v) = self
            .status(Which::Disbursement, "refund status", &path)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(match v.get("status").and_then(|s| s.as_str()) {
            Some("SUCCESSFUL") => RefundOutcome::Succeeded,
            Some("FAILED") => RefundOutcome::Failed(reason_of(&v).to_lowercase()),
            _ => RefundOutcome::Processing,
        }))
    }
}

/// A fresh UUIDv4: an attempt's `X-Reference-Id`.
pub fn new_reference() -> String {
    uuid::Uuid::new_v4().to_string()
}
