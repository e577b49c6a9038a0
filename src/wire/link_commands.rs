//! Payment link bodies → commands: the cross-field rules of SPEC §12 (one
//! currency, an amount or a custom amount per item, bounds in order, checked
//! totals), with the `param` paths a session's create reports.
use crate::domain::money::MAX_TOTAL;
use crate::domain::payment_link::{
    AfterCompletion, CustomAmount, LinkItem, NewPaymentLink, PaymentLinkUpdate,
};
use crate::domain::{Currency, PaymentMethodKind, ids};
use crate::error::{Error, FieldError, Result};

use super::payment_link::*;

impl TryFrom<&CreatePaymentLinkRequest> for NewPaymentLink {
    type Error = Error;

    fn try_from(req: &CreatePaymentLinkRequest) -> Result<NewPaymentLink> {
        crate::validation::check(req)?;
        let (currency, items) = items(req.line_items.as_deref().unwrap_or_default())?;
        let mut payment_method_types = crate::domain::event::first_of_each(
            req.payment_method_types.as_deref().unwrap_or_default(),
        );
        if payment_method_types.is_empty() {
            payment_method_types = vec![PaymentMethodKind::Card, PaymentMethodKind::MobileMoney];
        }
        Ok(NewPaymentLink {
            currency,
            items,
            payment_method_types,
            locale: req.locale.clone(),
            metadata: req.metadata.clone().unwrap_or_default(),
            after_completion: req
                .after_completion
                .as_ref()
                .map(after_completion)
                .transpose()?
                .unwrap_or_default(),
            completed_limit: req.restrictions.as_ref().and_then(limit),
            expires_at: req.expires_at,
        })
    }
}

impl TryFrom<&UpdatePaymentLinkRequest> for PaymentLinkUpdate {
    type Error = Error;

    fn try_from(req: &UpdatePaymentLinkRequest) -> Result<PaymentLinkUpdate> {
        crate::validation::check(req)?;
        Ok(PaymentLinkUpdate {
            active: req.active,
            metadata: req.metadata.clone(),
            after_completion: req
                .after_completion
                .as_ref()
                .map(after_completion)
                .transpose()?,
            completed_limit: req.restrictions.as_ref().and_then(limit),
        })
    }
}

fn limit(r: &RestrictionsInput) -> Option<i32> {
    r.completed_sessions
        .as_ref()
        .and_then(|c| c.limit)
        .and_then(|l| i32::try_from(l).ok())
}

fn after_completion(a: &AfterCompletionInput) -> Result<AfterCompletion> {
    let invalid = |param: &str, m: &str| Error::Validation(vec![FieldError::invalid(param, m)]);
    match a.r#type {
        Some(AfterCompletionType::Redirect) => {
            if a.hosted_confirmation.is_some() {
                return Err(invalid(
                    "after_completion.hosted_confirmation",
                    "Only `redirect` may accompany type redirect.",
                ));
            }
            match a.redirect.as_ref().and_then(|r| r.url.clone()) {
                Some(url) => Ok(AfterCompletion::Redirect { url }),
                None => Err(Error::Validation(vec![FieldError::missing(
                    "after_completion.redirect.url",
                )])),
            }
        }
        Some(AfterCompletionType::HostedConfirmation) => {
            if a.redirect.is_some() {
                return Err(invalid(
                    "after_completion.redirect",
                    "Only `hosted_confirmation` may accompany type hosted_confirmation.",
                ));
            }
            let custom_message = a
                .hosted_confirmation
                .as_ref()
                .and_then(|h| h.custom_message.clone());
            if let Some(m) = &custom_message
                && m.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(invalid(
                    "after_completion.hosted_confirmation.custom_message",
                    "custom_message must not contain control characters.",
                ));
            }
            Ok(AfterCompletion::HostedConfirmation { custom_message })
        }
        None => Err(Error::Validation(vec![FieldError::missing(
            "after_completion.type",
        )])),
    }
}

/// One currency, an amount or a custom amount on each item (one custom item
/// at most, of quantity 1), bounds in order, totals within `MAX_TOTAL`.
fn items(input: &[PaymentLinkLineItemInput]) -> Result<(Currency, Vec<LinkItem>)> {
    let mut errors = Vec::new();
    let mut currency: Option<Currency> = None;
    let mut fixed: i64 = 0;
    let mut custom_at: Option<usize> = None;
    let mut items = Vec::with_capacity(input.len());
    for (i, it) in input.iter().enumerate() {
        let at = |field: &str| format!("line_items[{i}].{field}");
        match (currency, it.currency.as_deref().and_then(Currency::parse)) {
            (Some(a), Some(b)) if a != b => errors.push(FieldError::invalid(
                at("currency"),
                format!("All line items must use the link currency {a}."),
            )),
            (None, Some(b)) => currency = Some(b),
            _ => {}
        }
        let quantity = it.quantity.unwrap_or(1);
        let custom = match (it.amount, &it.custom_amount) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::invalid(
                    at("custom_amount"),
                    "Give amount or custom_amount, not both.",
                ));
                None
            }
            (None, None) => {
                errors.push(FieldError::invalid(
                    at("amount"),
                    "Missing required param: amount (or custom_amount).",
                ));
                None
            }
            (Some(a), None) => {
                match a.checked_mul(quantity).and_then(|t| fixed.checked_add(t)) {
                    Some(t) if t <= MAX_TOTAL => fixed = t,
                    _ => errors.push(FieldError::invalid(
                        at("amount"),
                        "The link's total exceeds the maximum amount.",
                    )),
                }
                None
            }
            (None, Some(c)) => {
                if custom_at.replace(i).is_some() {
                    errors.push(FieldError::invalid(
                        at("custom_amount"),
                        "Only one line item may have a custom amount.",
                    ));
                }
                if quantity != 1 {
                    errors.push(FieldError::invalid(
                        at("quantity"),
                        "An item with a custom amount has quantity 1.",
                    ));
                }
                Some(c)
            }
        };
        items.push((i, it, quantity, custom));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, it, quantity, custom) in items {
        let custom_amount = custom.map(|c| {
            let minimum = c.minimum.unwrap_or(1);
            let ceiling = MAX_TOTAL - fixed;
            let maximum = c.maximum.unwrap_or(ceiling);
            let at = |field: &str| format!("line_items[{i}].custom_amount.{field}");
            if maximum > ceiling {
                errors.push(FieldError::invalid(
                    at("maximum"),
                    "maximum plus the other items exceeds the maximum amount.",
                ));
            }
            if minimum > maximum {
                errors.push(FieldError::invalid(
                    at("minimum"),
                    "minimum must not exceed maximum.",
                ));
            }
            if let Some(p) = c.preset
                && (p < minimum || p > maximum)
            {
                errors.push(FieldError::invalid(
                    at("preset"),
                    "preset must be between minimum and maximum.",
                ));
            }
            CustomAmount {
                minimum,
                maximum,
                preset: c.preset,
            }
        });
        out.push(LinkItem {
            id: ids::new_id("li"),
            name: it.name.clone().unwrap_or_default().trim().to_string(),
            description: it.description.clone(),
            images: it.images.clone().unwrap_or_default(),
            amount: it.amount,
            quantity,
            custom_amount,
        });
    }
    match currency {
        Some(c) if errors.is_empty() => Ok((c, out)),
        _ => Err(Error::Validation(errors)),
    }
}

impl crate::validation::Rules for CreatePaymentLinkRequest {
    fn violations(&self) -> Vec<FieldError> {
        crate::validation::violations_of(NewPaymentLink::try_from(self))
    }
}

impl crate::validation::Rules for UpdatePaymentLinkRequest {
    fn violations(&self) -> Vec<FieldError> {
        crate::validation::violations_of(PaymentLinkUpdate::try_from(self))
    }
}
