//! Connectors: what the payment state machine asks of a payment provider
//! (SPEC §11). One trait, one module per provider: the built-in test
//! processor (`test`, SPEC §4's table), MTN MoMo Collection (`mtn_momo`)
//! and Wave Checkout (`wave`). The service never knows which one it talks
//! to; Orange Money, an aggregator or a card acquirer is one more module.
//!
//! Every provider call either has a final answer, is *processing* (the
//! provider has it and will say later: a lookup or a notification decides),
//! or fails in one of two ways that must not be confused: *unreachable*
//! (nothing was sent: safe to give up) or *ambiguous* (it may have been
//! received: only a lookup may decide, never a second reference).
mod http;
pub mod mtn_momo;
mod test;
mod token;
pub mod wave;

use std::time::Duration;

pub use test::TestProcessor;

use crate::domain::refund::RefundSettlement;
use crate::error::Decline;

/// What the provider is asked to charge. The PAN and CVC live only here, in
/// memory, for the duration of the call.
pub enum Charge<'a> {
    Card {
        number: &'a str,
        exp_month: u32,
        exp_year: u32,
        cvc: &'a str,
    },
    MobileMoney {
        provider: &'a str,
        phone: &'a str,
    },
}

/// One payment attempt as a provider sees it.
pub struct Attempt<'a> {
    /// Ours (`py_…`): the test processor's idempotency key.
    pub id: &'a str,
    /// What the provider knows it by, chosen and stored before the first
    /// call (MTN's `X-Reference-Id`, Wave's `client_reference`).
    pub reference: &'a str,
    /// The provider's own id once it answered (Wave's `cos-…`).
    pub provider_id: Option<&'a str>,
    pub intent_id: &'a str,
    pub amount: i64,
    pub currency: entity::currency::Currency,
    /// Shown to the payer (MTN `payerMessage`): the merchant's name.
    pub statement: &'a str,
    /// Where the provider sends the customer back (Wave).
    pub return_url: &'a str,
    /// Where the provider notifies us (MTN `X-Callback-Url`).
    pub notification_url: &'a str,
}

/// How an asynchronous payment known in advance ends (the test processor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Succeed,
    Fail(Decline),
}

/// Stored in `payment_intents.pending_outcome` while a provider (not a
/// known schedule) decides: the sweep and the timers leave it alone.
pub const PROVIDER_DECIDES: &str = "provider";

impl Settlement {
    /// Stored form, so a pending payment survives a restart; a decline that
    /// does not serialise is an error, never an empty (unreadable) string.
    pub fn encode(&self) -> crate::error::Result<String> {
        match self {
            Settlement::Succeed => Ok("succeed".into()),
            Settlement::Fail(d) => serde_json::to_string(d).map_err(|e| {
                crate::error::Error::Internal(format!("pending decline not serialisable: {e}"))
            }),
        }
    }

    pub fn decode(s: &str) -> Settlement {
        if s == "succeed" {
            return Settlement::Succeed;
        }
        #[derive(serde::Deserialize)]
        struct D {
            code: String,
            decline_code: Option<String>,
            message: String,
        }
        match serde_json::from_str::<D>(s) {
            Ok(d) => Settlement::Fail(Decline {
                code: d.code,
                decline_code: d.decline_code,
                message: d.message,
            }),
            Err(_) => Settlement::Fail(decline(
                "card_declined",
                Some("processing_error"),
                "The payment could not be completed.",
            )),
        }
    }
}

/// Where an attempt stands, as the provider says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Declined(Decline),
    /// The provider has it; a lookup or a notification will tell.
    Processing,
    /// Settles at a known time (the test processor's mobile money).
    Pending {
        after: Duration,
        then: Settlement,
    },
}

/// The answer to an initiating call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiated {
    pub outcome: Outcome,
    /// The provider's id for the attempt (Wave's checkout session).
    pub provider_id: Option<String>,
    /// Where the customer goes to pay (Wave's `wave_launch_url`).
    pub redirect_url: Option<String>,
}

impl Initiated {
    pub fn just(outcome: Outcome) -> Initiated {
        Initiated {
            outcome,
            provider_id: None,
            redirect_url: None,
        }
    }
}

/// What a provider reports about an attempt, with what must match it
/// before anything is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub outcome: Outcome,
    /// `None` only for the test processor (it is ours); a real provider's
    /// amount, currency and reference are checked against the attempt.
    pub reported: Option<Reported>,
    pub provider_id: Option<String>,
    pub redirect_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Minor units, as the provider's amount parsed.
    pub amount: Option<i64>,
    pub currency: String,
    /// MTN: `externalId` (the intent); Wave: `client_reference` (the attempt).
    pub reference: String,
}

/// Why a provider call has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// Nothing was sent (connection refused, DNS): safe to give up.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// Sent, answer unknown (timeout, 5xx, unreadable): a lookup decides.
    #[error("provider answer unknown: {0}")]
    Ambiguous(String),
    /// The provider refused the request itself: a decline.
    #[error("provider refused: {}", .0.message)]
    Refused(Decline),
}

/// An inbound notification, as received.
pub struct Inbound<'a> {
    pub headers: &'a axum::http::HeaderMap,
    pub body: &'a [u8],
    /// Unix seconds.
    pub now: i64,
}

/// What a verified notification points at; it is only a hint: the attempt
/// is then looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The provider's event id, when it has one (duplicates are no-ops).
    pub event_id: Option<String>,
    pub about: HintAbout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintAbout {
    /// A payment intent id (MTN's `externalId`).
    Intent(String),
    /// An attempt's reference (Wave's `client_reference`).
    Reference(String),
    /// A verified event about none of our payments (Wave's `test.test_event`).
    Nothing,
}

/// A notification refused (`400`, nothing changes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub &'static str);

/// What a provider said to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded,
    /// With the `failure_reason` merchants see.
    Failed(String),
    /// Confirmed later at a known time (the test processor).
    Pending {
        after: Duration,
        then: RefundSettlement,
    },
    /// The provider has it: ask `refund_status` later.
    Processing,
}

/// A refund as a provider sees it.
pub struct RefundRequest<'a> {
    /// Ours (`re_…`).
    pub id: &'a str,
    /// The provider's reference for it, chosen before the first call.
    pub reference: &'a str,
    /// The payment it gives money back from.
    pub payment: &'a Attempt<'a>,
    pub amount: i64,
}

/// Which refunds a provider can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refunds {
    None,
    /// Only the whole payment.
    Full,
    Partial,
}

#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Sends the attempt once under `attempt.reference` (sent again with
    /// the same reference, the provider recognises it).
    async fn initiate(
        &self,
        attempt: &Attempt<'_>,
        charge: Charge<'_>,
    ) -> Result<Initiated, ConnError>;
    /// What became of the attempt: `None` when the provider never got it.
    async fn lookup(&self, attempt: &Attempt<'_>) -> Result<Option<Observed>, ConnError>;
    /// Checks an inbound notification (signature, freshness) and says
    /// which attempt it is about.
    fn verify_notification(&self, inbound: &Inbound<'_>) -> Result<Hint, Rejected>;
    /// Ends a processing attempt at the provider, so it can no longer take
    /// the money (Wave: expire the checkout session). `false`: this
    /// provider has no such call (MTN ends its requests itself).
    async fn cancel(&self, attempt: &Attempt<'_>) -> Result<bool, ConnError>;
    fn refunds(&self) -> Refunds;
    /// Sends a refund once under `refund.reference`.
    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<RefundOutcome, ConnError>;
    /// What became of a refund: `None` when the provider never got it.
    async fn refund_status(
        &self,
        refund: &RefundRequest<'_>,
    ) -> Result<Option<RefundOutcome>, ConnError>;
}

pub fn decline(code: &str, decline_code: Option<&str>, message: &str) -> Decline {
    Decline {
        code: code.into(),
        decline_code: decline_code.map(Into::into),
        message: message.into(),
    }
}

/// A provider's amount string (`"1000"`, `"10.50"`) in minor units of
/// `currency`, exactly: `None` when it is not a plain decimal with at most
/// the currency's digits.
pub fn parse_amount(s: &str, currency: entity::currency::Currency) -> Option<i64> {
    let exp = u32::from(currency.exponent());
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    // `"1000.00"` for XOF: zeros past the currency's digits say nothing.
    let frac = match frac.get(exp as usize..) {
        Some(extra) if extra.bytes().all(|b| b == b'0') => &frac[..exp as usize],
        _ => frac,
    };
    if whole.is_empty()
        || s.ends_with('.')
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > exp as usize
    {
        return None;
    }
    let scale = 10i64.checked_pow(exp)?;
    let frac_val = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>()
            .ok()?
            .checked_mul(10i64.checked_pow(exp - frac.len() as u32)?)?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(frac_val)
}

/// Minor units as the providers write amounts: whole units (`"50000"`
/// XOF), with the currency's decimals only when there are some (`"10.50"`).
pub fn format_amount(minor: i64, currency: entity::currency::Currency) -> String {
    let exp = u32::from(currency.exponent());
    let scale = 10i64.pow(exp);
    let (whole, frac) = (minor / scale, minor % scale);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:0width$}", width = exp as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::currency::Currency;

    #[test]
    fn amounts_round_trip_exactly_in_each_currency() {
        let xof = Currency::parse("XOF").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(format_amount(50_000, xof), "50000");
        assert_eq!(parse_amount("50000", xof), Some(50_000));
        assert_eq!(parse_amount("50000.5", xof), None);
        assert_eq!(parse_amount("50000.00", xof), Some(50_000));
        assert_eq!(
            parse_amount("10.500", Currency::parse("EUR").unwrap()),
            Some(1050)
        );
        assert_eq!(format_amount(1050, eur), "10.50");
        assert_eq!(format_amount(1000, eur), "10");
        assert_eq!(parse_amount("10.5", eur), Some(1050));
        assert_eq!(parse_amount("10", eur), Some(1000));
        for bad in ["", "-1", "1e3", "1.", ".5x", "99999999999999999999"] {
            assert_eq!(parse_amount(bad, eur), None, "{bad}");
        }
    }
}
