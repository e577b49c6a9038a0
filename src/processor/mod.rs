//! Payment processors. The service talks to a `Processor`; the test processor
//! decides outcomes from the SPEC §4 table. Live mode has no processor yet.
use std::time::Duration;

use crate::error::Decline;

/// What the processor is asked to charge. The PAN and CVC live only here, in
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

/// How an asynchronous (mobile money) payment ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Succeed,
    Fail(Decline),
}

impl Settlement {
    /// Stored form, so a pending payment survives a restart.
    pub fn encode(&self) -> String {
        match self {
            Settlement::Succeed => "succeed".into(),
            Settlement::Fail(d) => serde_json::to_string(d).unwrap_or_default(),
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Declined(Decline),
    /// Settles later (the customer approves on their phone).
    Pending {
        after: Duration,
        then: Settlement,
    },
}

#[async_trait::async_trait]
pub trait Processor: Send + Sync {
    /// Whether payments in this mode can be taken at all.
    fn available(&self, livemode: bool) -> bool;
    async fn charge(&self, charge: Charge<'_>) -> Outcome;
}

pub fn decline(code: &str, decline_code: Option<&str>, message: &str) -> Decline {
    Decline {
        code: code.into(),
        decline_code: decline_code.map(Into::into),
        message: message.into(),
    }
}

/// Test-mode processor: SPEC §4's table of magic numbers.
pub struct TestProcessor {
    pub momo_delay: Duration,
}

#[async_trait::async_trait]
impl Processor for TestProcessor {
    fn available(&self, livemode: bool) -> bool {
        !livemode
    }

    async fn charge(&self, charge: Charge<'_>) -> Outcome {
        match charge {
            Charge::Card { number, .. } => match number {
                "4242424242424242" | "5555555555554444" => Outcome::Succeeded,
                "4000000000000002" => Outcome::Declined(decline(
                    "card_declined",
                    Some("generic_decline"),
                    "Your card was declined.",
                )),
                "4000000000009995" => Outcome::Declined(decline(
                    "card_declined",
                    Some("insufficient_funds"),
                    "Your card has insufficient funds.",
                )),
                "4000000000000069" => Outcome::Declined(decline(
                    "expired_card",
                    Some("expired_card"),
                    "Your card has expired.",
                )),
                "4000000000000127" => Outcome::Declined(decline(
                    "incorrect_cvc",
                    Some("incorrect_cvc"),
                    "Your card's security code is incorrect.",
                )),
                _ => Outcome::Declined(decline(
                    "card_declined",
                    Some("test_mode_live_card"),
                    "Your card was declined: a real card was used in test mode.",
                )),
            },
            Charge::MobileMoney { phone, .. } => {
                if phone.ends_with("0000") {
                    Outcome::Pending {
                        after: self.momo_delay,
                        then: Settlement::Succeed,
                    }
                } else if phone.ends_with("0001") {
                    Outcome::Pending {
                        after: self.momo_delay,
                        then: Settlement::Fail(decline(
                            "card_declined",
                            Some("insufficient_funds"),
                            "The mobile money account has insufficient funds.",
                        )),
                    }
                } else if phone.ends_with("0002") {
                    Outcome::Succeeded
                } else {
                    Outcome::Declined(decline(
                        "card_declined",
                        Some("generic_decline"),
                        "The mobile money payment was declined.",
                    ))
                }
            }
        }
    }
}
