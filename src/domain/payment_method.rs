//! A payment method as the pay route accepts it, after every format check
//! of SPEC §4: the command the service pays with. Card digits live only
//! inside `CardSecret`.
use super::Provider;
use super::card::CardSecret;
use super::{PaymentMethodKind, card::is_past};
use crate::error::{Error, Result};

pub enum PaymentMethodInput {
    Card {
        number: CardSecret,
        exp_month: u32,
        exp_year: u32,
        cvc: CardSecret,
    },
    MobileMoney {
        provider: Provider,
        phone: String,
    },
}

impl PaymentMethodInput {
    pub fn kind(&self) -> PaymentMethodKind {
        match self {
            PaymentMethodInput::Card { .. } => PaymentMethodKind::Card,
            PaymentMethodInput::MobileMoney { .. } => PaymentMethodKind::MobileMoney,
        }
    }

    /// The one rule that depends on the date: a card is valid through the
    /// last day of its expiry month.
    pub fn check_not_expired(&self, now: i64) -> Result<()> {
        match self {
            PaymentMethodInput::Card {
                exp_month,
                exp_year,
                ..
            } if is_past(i64::from(*exp_year), i64::from(*exp_month), now) => Err(Error::invalid(
                "payment_method.card.exp_year",
                "The card's expiration date is in the past.",
            )),
            _ => Ok(()),
        }
    }
}
