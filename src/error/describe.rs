//! Each variant's entry in the error table and its message: one exhaustive
//! match, so a new variant does not compile until it has its entry.
use std::borrow::Cow;

use super::codes::{self, Entry};
use super::{Conflict, DbFailure, Error, FieldCode};

impl Error {
    /// This error's entry (status, `type`, `code`) and the message the
    /// client reads.
    pub fn describe(&self) -> (&'static Entry, Cow<'_, str>) {
        use Error::*;
        use codes::*;
        let fixed = |e: &'static Entry| (e, Cow::Borrowed(e.en));
        match self {
            Validation(errors) => match errors.first() {
                Some(f) => (f.code.entry(), Cow::Borrowed(f.message.as_str())),
                None => (&PARAMETER_INVALID, Cow::Borrowed("Invalid request.")),
            },
            JsonInvalid(detail) => (
                &JSON_INVALID,
                JSON_INVALID.render(&[("detail", detail)]).into(),
            ),
            IdempotencyMismatch => fixed(&IDEMPOTENCY_KEY_MISMATCH),
            ApiKeyMissing => fixed(&API_KEY_MISSING),
            ApiKeyInvalid => fixed(&API_KEY_INVALID),
            Declined(d) => (codes::card(&d.code), Cow::Borrowed(d.message.as_str())),
            ScopeMissing(scope) => (
                &SCOPE_MISSING,
                SCOPE_MISSING.render(&[("scope", scope)]).into(),
            ),
            RefundTooLarge => fixed(&AMOUNT_TOO_LARGE),
            ChargeAlreadyRefunded => fixed(&CHARGE_ALREADY_REFUNDED),
            SecretKeyRequired => fixed(&SECRET_KEY_REQUIRED),
            NotFound { kind, id } => {
                let id: String = id.chars().take(80).collect();
                (
                    &RESOURCE_MISSING,
                    RESOURCE_MISSING
                        .render(&[("kind", kind), ("id", &id)])
                        .into(),
                )
            }
            RouteNotFound | TestModeOnly => fixed(&ROUTE_NOT_FOUND),
            MethodNotAllowed => fixed(&METHOD_NOT_ALLOWED),
            Conflict(c) => fixed(c.entry()),
            BodyTooLarge => {
                let kib = (crate::BODY_LIMIT / 1024).to_string();
                (
                    &BODY_TOO_LARGE,
                    BODY_TOO_LARGE.render(&[("limit_kib", &kib)]).into(),
                )
            }
            UnsupportedMediaType => fixed(&UNSUPPORTED_MEDIA_TYPE),
            RateLimited { .. } => fixed(&RATE_LIMITED),
            Timeout => fixed(&TIMEOUT),
            ProcessorUnavailable => fixed(&PROCESSOR_UNAVAILABLE),
            MethodUnavailable { .. } => fixed(&PAYMENT_METHOD_UNAVAILABLE),
            CredentialsInvalid(words) => (
                &CONNECTOR_CREDENTIALS_INVALID,
                CONNECTOR_CREDENTIALS_INVALID
                    .render(&[("words", words)])
                    .into(),
            ),
            RefundUnsupported(why) => (
                &REFUND_UNSUPPORTED,
                REFUND_UNSUPPORTED.render(&[("why", why)]).into(),
            ),
            Database(d) => match d.kind {
                DbFailure::Unavailable => fixed(&TIMEOUT),
                DbFailure::UniqueViolation | DbFailure::Other => fixed(&INTERNAL),
            },
            Internal(_) => fixed(&INTERNAL),
        }
    }

    /// The entry's code, except for a decline: the processor's own code.
    pub fn code(&self) -> &str {
        match self {
            Error::Declined(d) => &d.code,
            _ => self.describe().0.code,
        }
    }
}

impl FieldCode {
    pub fn entry(self) -> &'static Entry {
        match self {
            FieldCode::Invalid => &codes::PARAMETER_INVALID,
            FieldCode::Missing => &codes::PARAMETER_MISSING,
            FieldCode::Unknown => &codes::PARAMETER_UNKNOWN,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.entry().code
    }
}

impl Conflict {
    pub fn entry(self) -> &'static Entry {
        match self {
            Conflict::SessionExpired => &codes::CHECKOUT_SESSION_EXPIRED,
            Conflict::SessionCompleted => &codes::CHECKOUT_SESSION_COMPLETED,
            Conflict::SessionNotOpen => &codes::CHECKOUT_SESSION_NOT_OPEN,
            Conflict::PaymentInProgress => &codes::PAYMENT_IN_PROGRESS,
            Conflict::PaymentLinkUsedUp => &codes::PAYMENT_LINK_USED_UP,
            Conflict::IdempotencyKeyInUse => &codes::IDEMPOTENCY_KEY_IN_USE,
            Conflict::IntentUnexpectedState => &codes::PAYMENT_INTENT_UNEXPECTED_STATE,
            Conflict::ConnectorExists => &codes::CONNECTOR_EXISTS,
        }
    }
}
