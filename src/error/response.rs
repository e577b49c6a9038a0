//! The SPEC §6 body (`{"error": {...}}`) and the REST response built from it.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{ErrorCode, ErrorType, FieldErrorCode};
use super::{Conflict, DbFailure, Error};

/// `{"error": {...}}`: the one shape of every answer that is not 2xx.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = ErrorType)]
    pub r#type: String,
    #[schema(value_type = ErrorCode)]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// Path of the field at fault, such as `line_items[0].amount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    pub message: String,
    /// Every violated field (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorBody>>,
    /// The `request-id` response header of this answer (quote it to support).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// This code's entry on the server's own `/docs/errors` page (French and English).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
}

impl ErrorBody {
    fn new(t: &str, code: &str) -> Self {
        Self {
            r#type: t.into(),
            code: code.into(),
            decline_code: None,
            param: None,
            message: String::new(),
            errors: None,
            request_id: None,
            doc_url: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    #[schema(value_type = FieldErrorCode)]
    pub code: String,
    pub param: String,
    pub message: String,
}

impl Error {
    /// The body and status of this error, as every front end shows it.
    pub fn body(&self) -> (StatusCode, ErrorBody) {
        let (entry, message) = self.describe();
        let status =
            StatusCode::from_u16(entry.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut b = ErrorBody::new(entry.r#type, self.code());
        b.message = message.into_owned();
        if let Error::Validation(errors) = self {
            b.param = errors
                .first()
                .map(|f| f.param.clone())
                .filter(|p| !p.is_empty());
            b.errors = Some(
                errors
                    .iter()
                    .map(|e| FieldErrorBody {
                        code: e.code.as_str().into(),
                        param: e.param.clone(),
                        message: e.message.clone(),
                    })
                    .collect(),
            );
        }
        match self {
            Error::MethodUnavailable { param } => b.param = Some((*param).into()),
            Error::CredentialsInvalid(_) => b.param = Some("credentials".into()),
            _ => {}
        }
        if let Error::Declined(d) = self {
            b.decline_code = d.decline_code.clone();
        }
        (status, b)
    }

    /// Seconds a client should wait before retrying, for the answers that say so.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after } => Some((*retry_after).max(1)),
            // A busy or unreachable store, or a request that ran too long.
            Error::Timeout => Some(1),
            Error::Database(d) if d.kind == DbFailure::Unavailable => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log_detail();
        let (status, error) = self.body();
        let body = serde_json::to_vec(&ErrorResponse { error }).unwrap_or_default();
        let mut res = (status, body).into_response();
        if let Some(secs) = self.retry_after() {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // Stripe's SDKs retry every 409 (twice, by default) unless told: a
        // state conflict will answer the same, a request still in progress
        // (`idempotency_key_in_use`, `payment_in_progress`) may not.
        if let Error::Conflict(c) = &self {
            let permanent = !matches!(
                c,
                Conflict::IdempotencyKeyInUse | Conflict::PaymentInProgress
            );
            res.headers_mut().insert(
                "stripe-should-retry",
                HeaderValue::from_static(if permanent { "false" } else { "true" }),
            );
        }
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}
