//! The one error type every client-visible failure goes through.
//!
//! - `codes`: the table — status, `type`, `code`, French and English message
//!   of every answer; `/docs/errors` and the contract's enums read it.
//! - `describe`: each variant's entry in the table and its message (one
//!   exhaustive match: a new variant does not compile without its entry).
//! - `db`: a `DbErr`, sorted (unique violation, unavailable, other), its
//!   source kept for the log.
//! - `response`: the SPEC §6 body and the REST response; `graphql`: the same
//!   fields in GraphQL `extensions`; `schema`: the contract's enums.
pub mod codes;
mod db;
mod describe;
mod graphql;
mod response;
mod schema;

pub use codes::{CODES, Entry};
pub use db::{DbError, DbFailure};
pub use response::{ErrorBody, ErrorResponse, FieldErrorBody};
pub use schema::{ErrorCode, ErrorType, FieldErrorCode};

/// One violated field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: FieldCode,
    pub param: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldCode {
    Invalid,
    Missing,
    Unknown,
}

impl FieldError {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: FieldCode::Invalid,
            param: param.into(),
            message: message.into(),
        }
    }
    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = codes::PARAMETER_MISSING.render(&[("param", &param)]);
        Self {
            code: FieldCode::Missing,
            param,
            message,
        }
    }
    pub fn unknown(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = codes::PARAMETER_UNKNOWN.render(&[("param", &param)]);
        Self {
            code: FieldCode::Unknown,
            param,
            message,
        }
    }
}

/// States that forbid an action on a checkout session or its payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    SessionExpired,
    SessionCompleted,
    SessionNotOpen,
    PaymentInProgress,
    /// Every session a payment link allows is paid or being paid.
    PaymentLinkUsedUp,
    IdempotencyKeyInUse,
    /// A refund of an intent that has not succeeded.
    IntentUnexpectedState,
    /// A second enabled connector of one type, merchant and mode.
    ConnectorExists,
}

/// A refusal by the payment processor (HTTP 402).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decline {
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

/// What each variant answers is in `describe` (its entry in `codes`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("malformed JSON")]
    JsonInvalid(String),
    #[error("idempotency key reused with another request")]
    IdempotencyMismatch,
    #[error("missing API key")]
    ApiKeyMissing,
    #[error("invalid API key")]
    ApiKeyInvalid,
    #[error("declined")]
    Declined(Decline),
    #[error("scope missing")]
    ScopeMissing(&'static str),
    /// A refund larger than what is left to refund.
    #[error("refund too large")]
    RefundTooLarge,
    /// A refund of an intent with nothing left to refund.
    #[error("already refunded")]
    ChargeAlreadyRefunded,
    /// Webhook endpoints hold signing secrets: managed with a secret API key only.
    #[error("secret key required")]
    SecretKeyRequired,
    #[error("no such {kind}")]
    NotFound { kind: &'static str, id: String },
    #[error("route not found")]
    RouteNotFound,
    /// A test-mode-only route called in live mode: answered as an unknown route.
    #[error("test mode only")]
    TestModeOnly,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict")]
    Conflict(Conflict),
    #[error("body too large")]
    BodyTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the limit lets requests through again.
        retry_after: u64,
    },
    #[error("timeout")]
    Timeout,
    #[error("processor unavailable")]
    ProcessorUnavailable,
    /// A payment method this session's mode and connectors do not allow.
    #[error("payment method unavailable")]
    MethodUnavailable { param: &'static str },
    /// The provider refused a connector's credentials (its words, no secret).
    #[error("connector credentials invalid")]
    CredentialsInvalid(String),
    /// The payment's provider cannot make this refund.
    #[error("refund unsupported")]
    RefundUnsupported(&'static str),
    /// A failed database call: 503 `timeout` when the store is busy or
    /// unreachable, 500 `internal` otherwise; the `DbErr` goes to the log.
    #[error(transparent)]
    Database(DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::invalid(param, message)])
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }
}

#[cfg(test)]
mod tests;
