//! REST bodies into domain commands (`TryFrom`): the format and cross-field
//! rules every front end shares, collected with their `param` paths.
use crate::domain::card::{CardSecret, luhn_ok};
use crate::domain::checkout::{NewCheckoutSession, NewLineItem};
use crate::domain::money::MAX_TOTAL;
use crate::domain::payment_method::PaymentMethodInput as Method;
use crate::domain::phone::is_e164;
use crate::domain::{Amount, Currency, Interval, Mode};
use crate::domain::{PaymentMethodKind, Provider};
use crate::error::{Error, FieldError, Result};
use crate::validation::{Rules, violations_of};
use crate::wire::{CardInput, CreateCheckoutSessionRequest, MobileMoneyInput, PayRequest};

impl TryFrom<&PayRequest> for Method {
    type Error = Error;

    fn try_from(req: &PayRequest) -> Result<Method> {
        parse_method(req)
    }
}

/// Format checks of SPEC §4, every violated field collected. Messages are
/// fixed texts: they never echo input (a card number or CVC).
fn parse_method(req: &PayRequest) -> Result<Method> {
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
            required(pm.card.as_ref(), "payment_method.card", &mut errs)
                .map(|c| parse_card(c, &mut errs))
        }
        Some(PaymentMethodKind::MobileMoney) => {
            if pm.card.is_some() {
                errs.push(FieldError::invalid(
                    "payment_method.card",
                    "Only `mobile_money` details may accompany type mobile_money.",
                ));
            }
            required(
                pm.mobile_money.as_ref(),
                "payment_method.mobile_money",
                &mut errs,
            )
            .and_then(|m| parse_mobile_money(m, &mut errs))
        }
    };
    match method {
        Some(m) if errs.is_empty() => Ok(m),
        _ => Err(Error::Validation(errs)),
    }
}

/// `value`, or a `parameter_missing` for `param`.
fn required<'a, T>(value: Option<&'a T>, param: &str, errs: &mut Vec<FieldError>) -> Option<&'a T> {
    if value.is_none() {
        errs.push(FieldError::missing(param));
    }
    value
}

fn parse_card(c: &CardInput, errs: &mut Vec<FieldError>) -> Method {
    const P: &str = "payment_method.card";
    let number: String = c
        .number
        .as_ref()
        .map(|n| n.0.chars().filter(|ch| *ch != ' ' && *ch != '-').collect())
        .unwrap_or_default();
    match &c.number {
        None => errs.push(FieldError::missing(format!("{P}.number"))),
        Some(_)
            if !(13..=19).contains(&number.len())
                || !number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            errs.push(FieldError::invalid(
                format!("{P}.number"),
                "The card number must be 13 to 19 digits.",
            ))
        }
        Some(_) if !luhn_ok(&number) => errs.push(FieldError::invalid(
            format!("{P}.number"),
            "The card number is not valid.",
        )),
        Some(_) => {}
    }
    let month = c.exp_month.filter(|m| (1..=12).contains(m));
    match c.exp_month {
        None => errs.push(FieldError::missing(format!("{P}.exp_month"))),
        Some(_) if month.is_none() => errs.push(FieldError::invalid(
            format!("{P}.exp_month"),
            "exp_month must be between 1 and 12.",
        )),
        _ => {}
    }
    let year = c
        .exp_year
        .map(|y| if (0..100).contains(&y) { 2000 + y } else { y });
    match year {
        None => errs.push(FieldError::missing(format!("{P}.exp_year"))),
        Some(y) if !(2000..=2100).contains(&y) => errs.push(FieldError::invalid(
            format!("{P}.exp_year"),
            "exp_year is not a valid year.",
        )),
        _ => {}
    }
    let cvc = c.cvc.as_ref().map(|s| s.0.clone()).unwrap_or_default();
    match &c.cvc {
        None => errs.push(FieldError::missing(format!("{P}.cvc"))),
        Some(_) if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) => {
            errs.push(FieldError::invalid(
                format!("{P}.cvc"),
                "The CVC must be 3 or 4 digits.",
            ))
        }
        _ => {}
    }
    Method::Card {
        number: CardSecret::new(number),
        exp_month: month.unwrap_or(0) as u32,
        exp_year: year.unwrap_or(0) as u32,
        cvc: CardSecret::new(cvc),
    }
}

fn parse_mobile_money(m: &MobileMoneyInput, errs: &mut Vec<FieldError>) -> Option<Method> {
    const P: &str = "payment_method.mobile_money";
    let provider = m.provider.as_deref().map(Provider::parse);
    match provider {
        None => errs.push(FieldError::missing(format!("{P}.provider"))),
        Some(None) => errs.push(FieldError::invalid(
            format!("{P}.provider"),
            "provider must be one of orange_money, mtn_momo, moov_money, wave.",
        )),
        Some(Some(_)) => {}
    }
    match m.phone.as_deref() {
        None => errs.push(FieldError::missing(format!("{P}.phone"))),
        Some(p) if !is_e164(p) => errs.push(FieldError::invalid(
            format!("{P}.phone"),
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

impl TryFrom<&CreateCheckoutSessionRequest> for NewCheckoutSession {
    type Error = Error;

    fn try_from(req: &CreateCheckoutSessionRequest) -> Result<NewCheckoutSession> {
        crate::validation::check(req)?;
        let (currency, items, total) = cross_field(req)?;
        let mut payment_method_types = crate::domain::event::first_of_each(
            req.payment_method_types.as_deref().unwrap_or_default(),
        );
        if payment_method_types.is_empty() {
            payment_method_types = vec![PaymentMethodKind::Card, PaymentMethodKind::MobileMoney];
        }
        Ok(NewCheckoutSession {
            mode: req.mode.unwrap_or(Mode::Payment),
            currency,
            items,
            total,
            success_url: req.success_url.clone().unwrap_or_default(),
            cancel_url: req.cancel_url.clone(),
            customer_email: req.customer_email.clone(),
            client_reference_id: req.client_reference_id.clone(),
            metadata: req.metadata.clone().unwrap_or_default(),
            expires_at: req.expires_at,
            locale: req.locale.clone(),
            payment_method_types,
        })
    }
}

/// Rules that span fields: currency agreement, mode vs recurring, totals.
/// Field shapes were checked by `validator`.
fn cross_field(req: &CreateCheckoutSessionRequest) -> Result<(Currency, Vec<NewLineItem>, Amount)> {
    let mut errors = Vec::new();
    let items_in = req.line_items.as_deref().unwrap_or_default();
    let mode = req.mode.unwrap_or(Mode::Payment);
    let mut currency: Option<Currency> = req.currency.as_deref().and_then(Currency::parse);
    let mut total = Amount::ZERO;
    let mut items = Vec::with_capacity(items_in.len());
    let mut interval: Option<(Interval, i32)> = None;
    for (i, it) in items_in.iter().enumerate() {
        let c = it.currency.as_deref().and_then(Currency::parse);
        match (currency, c) {
            (Some(a), Some(b)) if a != b => errors.push(FieldError::invalid(
                format!("line_items[{i}].currency"),
                format!("All line items must use the session currency {a}."),
            )),
            (None, Some(b)) => currency = Some(b),
            _ => {}
        }
        let recurring = it.recurring.as_ref().and_then(|r| {
            r.interval
                .map(|iv| (iv, r.interval_count.unwrap_or(1) as i32))
        });
        check_recurring(i, mode, recurring, &mut interval, &mut errors);
        let amount = Amount::new(it.amount.unwrap_or(0)).unwrap_or(Amount::ZERO);
        let quantity = it.quantity.unwrap_or(1);
        let line_total = amount.times(quantity).filter(|t| t.minor() <= MAX_TOTAL);
        match line_total
            .and_then(|t| total.plus(t))
            .filter(|t| t.minor() <= MAX_TOTAL)
        {
            Some(t) => total = t,
            None => {
                errors.push(FieldError::invalid(
                    format!("line_items[{i}].amount"),
                    "The session total must not exceed 1000000000000 minor units.",
                ));
                break;
            }
        }
        items.push(NewLineItem {
            name: it.name.as_deref().unwrap_or_default().trim().to_string(),
            description: it.description.clone(),
            images: it.images.clone().unwrap_or_default(),
            amount,
            quantity,
            total: line_total.unwrap_or(Amount::ZERO),
            recurring,
        });
    }
    match currency {
        Some(c) if errors.is_empty() => Ok((c, items, total)),
        _ if !errors.is_empty() => Err(Error::Validation(errors)),
        _ => Err(Error::invalid(
            "line_items[0].currency",
            "A currency is required.",
        )),
    }
}

/// Payment mode takes no `recurring`; subscription mode needs it on every
/// item, all with one interval.
fn check_recurring(
    i: usize,
    mode: Mode,
    recurring: Option<(Interval, i32)>,
    interval: &mut Option<(Interval, i32)>,
    errors: &mut Vec<FieldError>,
) {
    let param = format!("line_items[{i}].recurring");
    match (mode, recurring) {
        (Mode::Payment, Some(_)) => errors.push(FieldError::invalid(
            param,
            "recurring is only allowed in subscription mode.",
        )),
        (Mode::Subscription, None) => errors.push(FieldError::invalid(
            param,
            "Every line item needs recurring in subscription mode.",
        )),
        (Mode::Subscription, Some(r)) => match interval {
            Some(first) if *first != r => errors.push(FieldError::invalid(
                param,
                "All line items must share one billing interval.",
            )),
            None => *interval = Some(r),
            Some(_) => {}
        },
        (Mode::Payment, None) => {}
    }
}

impl TryFrom<&crate::wire::CreateRefundRequest> for crate::domain::refund::NewRefund {
    type Error = Error;

    fn try_from(req: &crate::wire::CreateRefundRequest) -> Result<Self> {
        crate::validation::check(req)?;
        crate::validation::no_controls("payment_intent", &req.payment_intent)?;
        Ok(crate::domain::refund::NewRefund {
            payment_intent: req.payment_intent.clone(),
            amount: req.amount.and_then(Amount::new),
            reason: req.reason,
            metadata: req.metadata.clone().unwrap_or_default(),
            idempotency_key: None,
        })
    }
}

impl Rules for CreateCheckoutSessionRequest {
    fn violations(&self) -> Vec<FieldError> {
        violations_of(NewCheckoutSession::try_from(self))
    }
}

impl Rules for PayRequest {
    fn violations(&self) -> Vec<FieldError> {
        violations_of(Method::try_from(self))
    }
}

impl Rules for crate::wire::CreateRefundRequest {
    fn violations(&self) -> Vec<FieldError> {
        violations_of(crate::domain::refund::NewRefund::try_from(self))
    }
}

// Their rules run in the service (the URL check resolves names): a body
// with type errors reports all of those.
impl Rules for crate::wire::CreateWebhookEndpointRequest {}
impl Rules for crate::wire::UpdateWebhookEndpointRequest {}
impl Rules for crate::wire::ResendRequest {}
impl Rules for crate::wire::CancelSubscriptionRequest {}
impl Rules for crate::wire::EmptyRequest {}
