//! The pay body's payment method, checked field by field (SPEC §4) into a
//! `Method` that holds the card digits only inside `CardSecret`.
use crate::domain::card::{CardSecret, card_brand, is_past, luhn_ok};
use crate::domain::phone::{is_e164, mask_phone};
use crate::domain::{PaymentMethodKind, Provider};
use crate::error::{Error, FieldError, Result};
use crate::processor::Charge;
use crate::service::stored::StoredPaymentMethod as PaymentMethodSummary;
use crate::wire::PayRequest;

/// A payment method that passed every format check.
pub(super) enum Method {
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

impl Method {
    pub(super) fn kind(&self) -> PaymentMethodKind {
        match self {
            Method::Card { .. } => PaymentMethodKind::Card,
            Method::MobileMoney { .. } => PaymentMethodKind::MobileMoney,
        }
    }

    pub(super) fn summary(&self) -> PaymentMethodSummary {
        let mut s = PaymentMethodSummary {
            r#type: self.kind().as_str().into(),
            brand: None,
            last4: None,
            exp_month: None,
            exp_year: None,
            provider: None,
            phone: None,
        };
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                ..
            } => {
                s.brand = Some(card_brand(number.expose()).into());
                s.last4 = Some(number.last4().into());
                s.exp_month = Some(*exp_month);
                s.exp_year = Some(*exp_year);
            }
            Method::MobileMoney { provider, phone } => {
                s.provider = Some(provider.as_str().into());
                s.phone = Some(mask_phone(phone));
            }
        }
        s
    }

    pub(super) fn charge(&self) -> Charge<'_> {
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                cvc,
            } => Charge::Card {
                number: number.expose(),
                exp_month: *exp_month,
                exp_year: *exp_year,
                cvc: cvc.expose(),
            },
            Method::MobileMoney { provider, phone } => Charge::MobileMoney {
                provider: provider.as_str(),
                phone,
            },
        }
    }
}

/// Format checks of SPEC §4. Messages are fixed texts: they never echo input.
pub(super) fn parse_method(req: &PayRequest, now: i64) -> Result<Method> {
    let mut errs = Vec::new();
    let Some(pm) = &req.payment_method else {
        return Err(Error::Validation(vec![FieldError::missing(
            "payment_method",
        )]));
    };
    if let Some(email) = &req.email
        && !validator::ValidateEmail::validate_email(email)
    {
        errs.push(FieldError::invalid(
            "email",
            "email must be a valid email address.",
        ));
    }
    let method = match pm.r#type {
        None => {
            errs.push(FieldError::missing("payment_method.type"));
            None
        }
        Some(PaymentMethodKind::Card) => {
            if pm.mobile_money.is_some() {
                errs.push(FieldError::invalid(
                    "payment_method.mobile_money",
                    "Only `card` details may accompany type card.",
                ));
            }
            match &pm.card {
                None => {
                    errs.push(FieldError::missing("payment_method.card"));
                    None
                }
                Some(c) => {
                    let number: String = c
                        .number
                        .as_ref()
                        .map(|n| n.0.chars().filter(|ch| *ch != ' ' && *ch != '-').collect())
                        .unwrap_or_default();
                    match &c.number {
                        None => errs.push(FieldError::missing("payment_method.card.number")),
                        Some(_)
                            if !(13..=19).contains(&number.len())
                                || !number.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            errs.push(FieldError::invalid(
                                "payment_method.card.number",
                                "The card number must be 13 to 19 digits.",
                            ))
                        }
                        Some(_) if !luhn_ok(&number) => errs.push(FieldError::invalid(
                            "payment_method.card.number",
                            "The card number is not valid.",
                        )),
                        Some(_) => {}
                    }
                    let month = c.exp_month.filter(|m| (1..=12).contains(m));
                    match c.exp_month {
                        None => errs.push(FieldError::missing("payment_method.card.exp_month")),
                        Some(_) if month.is_none() => errs.push(FieldError::invalid(
                            "payment_method.card.exp_month",
                            "exp_month must be between 1 and 12.",
                        )),
                        _ => {}
                    }
                    let year = c
                        .exp_year
                        .map(|y| if (0..100).contains(&y) { 2000 + y } else { y });
                    match (year, month) {
                        (None, _) => errs.push(FieldError::missing("payment_method.card.exp_year")),
                        (Some(y), _) if !(2000..=2100).contains(&y) => {
                            errs.push(FieldError::invalid(
                                "payment_method.card.exp_year",
                                "exp_year is not a valid year.",
                            ))
                        }
                        (Some(y), Some(m)) if is_past(y, m, now) => errs.push(FieldError::invalid(
                            "payment_method.card.exp_year",
                            "The card's expiration date is in the past.",
                        )),
                        _ => {}
                    }
                    let cvc = c.cvc.as_ref().map(|s| s.0.clone()).unwrap_or_default();
                    match &c.cvc {
                        None => errs.push(FieldError::missing("payment_method.card.cvc")),
                        Some(_)
                            if !(3..=4).contains(&cvc.len())
                                || !cvc.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            errs.push(FieldError::invalid(
                                "payment_method.card.cvc",
                                "The CVC must be 3 or 4 digits.",
                            ))
                        }
                        _ => {}
                    }
                    Some(Method::Card {
                        number: CardSecret::new(number),
                        exp_month: month.unwrap_or(0) as u32,
                        exp_year: year.unwrap_or(0) as u32,
                        cvc: CardSecret::new(cvc),
                    })
                }
            }
        }
        Some(PaymentMethodKind::MobileMoney) => {
            if pm.card.is_some() {
                errs.push(FieldError::invalid(
                    "payment_method.card",
                    "Only `mobile_money` details may accompany type mobile_money.",
                ));
            }
            match &pm.mobile_money {
                None => {
                    errs.push(FieldError::missing("payment_method.mobile_money"));
                    None
                }
                Some(m) => {
                    let provider = m.provider.as_deref().map(Provider::parse);
                    match provider {
                        None => {
                            errs.push(FieldError::missing("payment_method.mobile_money.provider"))
                        }
                        Some(None) => errs.push(FieldError::invalid(
                            "payment_method.mobile_money.provider",
                            "provider must be one of orange_money, mtn_momo, moov_money, wave.",
                        )),
                        Some(Some(_)) => {}
                    }
                    match m.phone.as_deref() {
                        None => errs.push(FieldError::missing("payment_method.mobile_money.phone")),
                        Some(p) if !is_e164(p) => errs.push(FieldError::invalid(
                            "payment_method.mobile_money.phone",
                            "phone must be in E.164 format, such as +2250700000000.",
                        )),
                        _ => {}
                    }
                    // Only used when no error was found, so the provider parsed.
                    provider.flatten().map(|provider| Method::MobileMoney {
                        provider,
                        phone: m.phone.clone().unwrap_or_default(),
                    })
                }
            }
        }
    };
    match method {
        Some(m) if errs.is_empty() => Ok(m),
        _ => Err(Error::Validation(errs)),
    }
}
