//! The one error type every client-visible failure goes through, and its one
//! rendering as the SPEC §6 body.
use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

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

impl FieldCode {
    fn as_str(self) -> &'static str {
        match self {
            FieldCode::Invalid => "parameter_invalid",
            FieldCode::Missing => "parameter_missing",
            FieldCode::Unknown => "parameter_unknown",
        }
    }
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
        let message = format!("Missing required param: {param}.");
        Self {
            code: FieldCode::Missing,
            param,
            message,
        }
    }
    pub fn unknown(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = format!("Received unknown parameter: {param}.");
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
    IdempotencyKeyInUse,
    /// A refund of an intent that has not succeeded.
    IntentUnexpectedState,
}

/// A refusal by the payment processor (HTTP 402).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Decline {
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

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
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable: answered 503");
            return Error::Timeout;
        }
        Error::Internal(format!("database: {e}"))
    }
}

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

    /// One row per variant: status, `type`, `code`, message. Adding a
    /// variant fails to compile until it has its row.
    fn row(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        Cow<'static, str>,
        Cow<'static, str>,
    ) {
        use Error::*;
        use StatusCode as S;
        const INVALID: &str = "invalid_request_error";
        const AUTH: &str = "authentication_error";
        const API: &str = "api_error";
        match self {
            Validation(errors) => {
                let first = errors.first();
                let code = first.map_or(FieldCode::Invalid, |f| f.code).as_str();
                let message = first.map_or("Invalid request.".into(), |f| f.message.clone());
                (S::BAD_REQUEST, INVALID, code.into(), message.into())
            }
            JsonInvalid(msg) => (S::BAD_REQUEST, INVALID, "json_invalid".into(), format!("Invalid JSON: {msg}.").into()),
            IdempotencyMismatch => (S::BAD_REQUEST, "idempotency_error", "idempotency_key_mismatch".into(),
                "Keys for idempotent requests can only be used with the same parameters they were first used with.".into()),
            ApiKeyMissing => (S::UNAUTHORIZED, AUTH, "api_key_missing".into(),
                "You did not provide an API key. Use `Authorization: Bearer ik_test_...`.".into()),
            ApiKeyInvalid => (S::UNAUTHORIZED, AUTH, "api_key_invalid".into(), "Invalid API key provided.".into()),
            Declined(d) => (S::PAYMENT_REQUIRED, "card_error", d.code.clone().into(), d.message.clone().into()),
            ScopeMissing(scope) => (S::FORBIDDEN, "permission_error", "scope_missing".into(),
                format!("This token lacks the `{scope}` scope.").into()),
            RefundTooLarge => (S::BAD_REQUEST, INVALID, "amount_too_large".into(),
                "The refund amount is greater than what is left to refund on this payment.".into()),
            ChargeAlreadyRefunded => (S::BAD_REQUEST, INVALID, "charge_already_refunded".into(),
                "This payment has already been refunded in full.".into()),
            SecretKeyRequired => (S::FORBIDDEN, "permission_error", "scope_missing".into(),
                "Webhook endpoints are managed with a secret API key (`ik_test_…`/`ik_live_…`), not an app token.".into()),
            NotFound { kind, id } => (S::NOT_FOUND, INVALID, "resource_missing".into(),
                format!("No such {kind}: '{}'", truncate(id, 80)).into()),
            RouteNotFound | TestModeOnly => (S::NOT_FOUND, INVALID, "route_not_found".into(), "Unrecognized request URL.".into()),
            MethodNotAllowed => (S::METHOD_NOT_ALLOWED, INVALID, "method_not_allowed".into(),
                "This method is not allowed on this URL.".into()),
            Conflict(c) => {
                let (code, message) = c.row();
                (S::CONFLICT, INVALID, code.into(), message.into())
            }
            BodyTooLarge => (S::PAYLOAD_TOO_LARGE, INVALID, "body_too_large".into(),
                format!("The request body exceeds {} KiB.", crate::BODY_LIMIT / 1024).into()),
            UnsupportedMediaType => (S::UNSUPPORTED_MEDIA_TYPE, INVALID, "unsupported_media_type".into(),
                "Request bodies must be JSON with `Content-Type: application/json`.".into()),
            RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limit_error", "rate_limited".into(),
                "Too many requests; slow down and retry shortly.".into()),
            Timeout => (S::SERVICE_UNAVAILABLE, API, "timeout".into(), "The request took too long to complete.".into()),
            ProcessorUnavailable => (S::SERVICE_UNAVAILABLE, API, "processor_unavailable".into(),
                "No payment processor is configured for live mode.".into()),
            Internal(_) => (S::INTERNAL_SERVER_ERROR, API, "internal".into(), "An internal error occurred.".into()),
        }
    }

    /// The body, status and extra fields of this error, as every front end shows it.
    pub fn body(&self) -> (StatusCode, ErrorBody) {
        let (status, r#type, code, message) = self.row();
        let mut b = ErrorBody::new(r#type, &code);
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
        if let Error::Declined(d) = self {
            b.decline_code = d.decline_code.clone();
        }
        (status, b)
    }
}

impl Conflict {
    fn row(self) -> (&'static str, &'static str) {
        match self {
            Conflict::SessionExpired => (
                "checkout_session_expired",
                "This checkout session has expired.",
            ),
            Conflict::SessionCompleted => (
                "checkout_session_completed",
                "This checkout session is already paid.",
            ),
            Conflict::SessionNotOpen => (
                "checkout_session_not_open",
                "Only open checkout sessions can be expired.",
            ),
            Conflict::PaymentInProgress => (
                "payment_in_progress",
                "A payment for this checkout session is already processing.",
            ),
            Conflict::IdempotencyKeyInUse => (
                "idempotency_key_in_use",
                "A request with this idempotency key is still in progress; retry later.",
            ),
            Conflict::IntentUnexpectedState => (
                "payment_intent_unexpected_state",
                "Only a succeeded payment can be refunded.",
            ),
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

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

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let (status, error) = self.body();
        let body = serde_json::to_vec(&ErrorResponse { error }).unwrap_or_default();
        let mut res = (status, body).into_response();
        match self {
            Error::RateLimited { retry_after } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            // A busy or unreachable store, or a request that ran too long.
            Error::Timeout => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}

/// `line_items[0].amount` → `lineItems[0].amount`: GraphQL field names.
fn camel_path(param: &str) -> String {
    let mut out = String::with_capacity(param.len());
    let mut upper = false;
    for c in param.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The same `type`, `code`, `param` (and `errors`) as REST, in GraphQL `extensions`.
impl async_graphql::ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let (status, body) = self.body();
        async_graphql::Error::new(body.message.clone()).extend_with(|_, e| {
            e.set("type", body.r#type.clone());
            e.set("code", body.code.clone());
            e.set("status", status.as_u16());
            if let Some(p) = &body.param {
                e.set("param", camel_path(p));
            }
            if let Some(d) = &body.decline_code {
                e.set("decline_code", d.clone());
            }
            if let Some(errors) = &body.errors {
                let list: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("code"),
                            async_graphql::Value::from(f.code.clone()),
                        );
                        m.insert(
                            async_graphql::Name::new("param"),
                            async_graphql::Value::from(camel_path(&f.param)),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(f.message.clone()),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                e.set("errors", list);
            }
        })
    }
}

/// One documented error code: what `/docs/errors` shows and `doc_url` points at.
/// The error's family (`ErrorBody.type`), from [`CODES`]: an enum in the
/// contract, so generated clients can switch on it.
pub struct ErrorType;

/// The error's code (`ErrorBody.code`), from [`CODES`].
pub struct ErrorCode;

/// A field error's code (`FieldErrorBody.code`).
pub struct FieldErrorCode;

fn string_enum_schema(
    description: &str,
    values: Vec<&'static str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut values = values;
    values.sort_unstable();
    values.dedup();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

impl utoipa::PartialSchema for ErrorType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_enum_schema(
            "The error's family: what kind of mistake, and who can fix it.",
            CODES.iter().map(|d| d.r#type).collect(),
        )
    }
}

impl ToSchema for ErrorType {}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_enum_schema(
            "What went wrong; each code is explained on the server's `/docs/errors` page.",
            CODES.iter().map(|d| d.code).collect(),
        )
    }
}

impl ToSchema for ErrorCode {}

impl utoipa::PartialSchema for FieldErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_enum_schema(
            "What is wrong with the field.",
            [FieldCode::Invalid, FieldCode::Missing, FieldCode::Unknown]
                .iter()
                .map(|c| c.as_str())
                .collect(),
        )
    }
}

impl ToSchema for FieldErrorCode {}

pub struct CodeDoc {
    pub status: u16,
    pub r#type: &'static str,
    pub code: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
}

const fn doc(
    status: u16,
    r#type: &'static str,
    code: &'static str,
    fr: &'static str,
    en: &'static str,
) -> CodeDoc {
    CodeDoc {
        status,
        r#type,
        code,
        fr,
        en,
    }
}

/// Every code a client can meet (a test checks each `Error` variant's code
/// is here), in French and English.
pub const CODES: &[CodeDoc] = &[
    doc(
        400,
        "invalid_request_error",
        "parameter_invalid",
        "Un champ a une valeur invalide ; `param` le nomme et `errors` liste tous les champs en faute.",
        "A field has an invalid value; `param` names it and `errors` lists every field at fault.",
    ),
    doc(
        400,
        "invalid_request_error",
        "parameter_missing",
        "Un champ obligatoire manque.",
        "A required field is missing.",
    ),
    doc(
        400,
        "invalid_request_error",
        "parameter_unknown",
        "Le corps contient un champ inconnu (souvent une faute de frappe).",
        "The body has a field this route does not take (often a typo).",
    ),
    doc(
        400,
        "invalid_request_error",
        "json_invalid",
        "Le corps n'est pas du JSON valide ; le message donne la ligne et la colonne.",
        "The body is not valid JSON; the message gives line and column.",
    ),
    doc(
        400,
        "invalid_request_error",
        "request_malformed",
        "La requête HTTP elle-même est mal formée.",
        "The HTTP request itself is malformed.",
    ),
    doc(
        400,
        "invalid_request_error",
        "amount_too_large",
        "Le remboursement dépasse ce qui reste à rembourser sur ce paiement.",
        "The refund is larger than what is left to refund on this payment.",
    ),
    doc(
        400,
        "invalid_request_error",
        "charge_already_refunded",
        "Ce paiement est déjà entièrement remboursé.",
        "This payment has already been refunded in full.",
    ),
    doc(
        400,
        "idempotency_error",
        "idempotency_key_mismatch",
        "Cette clé d'idempotence a déjà servi avec d'autres paramètres.",
        "This idempotency key was already used with other parameters.",
    ),
    doc(
        401,
        "authentication_error",
        "api_key_missing",
        "Aucune clé fournie : envoyez `Authorization: Bearer ik_test_…`.",
        "No key: send `Authorization: Bearer ik_test_…`.",
    ),
    doc(
        401,
        "authentication_error",
        "api_key_invalid",
        "Clé inconnue, mal formée ou révoquée.",
        "The key is unknown, malformed or revoked.",
    ),
    doc(
        402,
        "card_error",
        "card_declined",
        "La carte ou le compte mobile money a été refusé ; `decline_code` précise la raison.",
        "The card or mobile-money account was declined; `decline_code` says why.",
    ),
    doc(
        402,
        "card_error",
        "expired_card",
        "La carte a expiré.",
        "The card has expired.",
    ),
    doc(
        402,
        "card_error",
        "incorrect_cvc",
        "Le code de sécurité de la carte est incorrect.",
        "The card's security code is incorrect.",
    ),
    doc(
        403,
        "permission_error",
        "scope_missing",
        "Le jeton n'a pas la permission nécessaire (ou les points de terminaison webhook exigent une clé secrète).",
        "The token lacks the needed scope (or webhook endpoints need a secret key).",
    ),
    doc(
        404,
        "invalid_request_error",
        "resource_missing",
        "Objet introuvable, y compris celui d'un autre marchand ou d'un autre mode.",
        "No such object, including another merchant's or mode's.",
    ),
    doc(
        404,
        "invalid_request_error",
        "route_not_found",
        "Cette URL n'existe pas.",
        "This URL does not exist.",
    ),
    doc(
        405,
        "invalid_request_error",
        "method_not_allowed",
        "Cette méthode HTTP n'est pas permise sur cette URL.",
        "This HTTP method is not allowed on this URL.",
    ),
    doc(
        409,
        "invalid_request_error",
        "checkout_session_expired",
        "La session de paiement a expiré.",
        "The checkout session has expired.",
    ),
    doc(
        409,
        "invalid_request_error",
        "checkout_session_completed",
        "La session de paiement est déjà payée.",
        "The checkout session is already paid.",
    ),
    doc(
        409,
        "invalid_request_error",
        "checkout_session_not_open",
        "Seule une session ouverte peut être expirée.",
        "Only an open checkout session can be expired.",
    ),
    doc(
        409,
        "invalid_request_error",
        "payment_in_progress",
        "Un paiement est déjà en cours pour cette session.",
        "A payment for this session is already processing.",
    ),
    doc(
        409,
        "invalid_request_error",
        "payment_intent_unexpected_state",
        "Seul un paiement réussi peut être remboursé.",
        "Only a succeeded payment can be refunded.",
    ),
    doc(
        409,
        "invalid_request_error",
        "idempotency_key_in_use",
        "Une requête avec cette clé d'idempotence est encore en cours ; réessayez plus tard.",
        "A request with this idempotency key is still in progress; retry later.",
    ),
    doc(
        413,
        "invalid_request_error",
        "body_too_large",
        "Le corps dépasse 256 Kio.",
        "The body exceeds 256 KiB.",
    ),
    doc(
        415,
        "invalid_request_error",
        "unsupported_media_type",
        "Le corps doit être du JSON avec `Content-Type: application/json`.",
        "The body must be JSON with `Content-Type: application/json`.",
    ),
    doc(
        429,
        "rate_limit_error",
        "rate_limited",
        "Trop de requêtes ; ralentissez et réessayez après `Retry-After` secondes.",
        "Too many requests; slow down and retry after `Retry-After` seconds.",
    ),
    doc(
        431,
        "invalid_request_error",
        "request_headers_too_large",
        "Les en-têtes de la requête sont trop volumineux.",
        "The request headers are too large.",
    ),
    doc(
        500,
        "api_error",
        "internal",
        "Erreur interne ; rien n'a été modifié. Réessayez avec la même clé d'idempotence.",
        "Internal error; nothing changed. Retry with the same idempotency key.",
    ),
    doc(
        503,
        "api_error",
        "timeout",
        "La requête a pris trop de temps.",
        "The request took too long.",
    ),
    doc(
        503,
        "api_error",
        "processor_unavailable",
        "Aucun processeur de paiement n'est configuré pour le mode live.",
        "No payment processor is configured for live mode.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code an `Error` can carry is documented, with its status and type.
    #[test]
    fn every_code_is_documented() {
        let decline = |code: &str| {
            Error::Declined(Decline {
                code: code.into(),
                decline_code: None,
                message: "m".into(),
            })
        };
        let mut all = vec![
            Error::Validation(vec![FieldError::invalid("a", "m")]),
            Error::Validation(vec![FieldError::missing("a")]),
            Error::Validation(vec![FieldError::unknown("a")]),
            Error::JsonInvalid("x".into()),
            Error::IdempotencyMismatch,
            Error::ApiKeyMissing,
            Error::ApiKeyInvalid,
            decline("card_declined"),
            decline("expired_card"),
            decline("incorrect_cvc"),
            Error::ScopeMissing("payments:write"),
            Error::SecretKeyRequired,
            Error::not_found("x", "y"),
            Error::RouteNotFound,
            Error::TestModeOnly,
            Error::MethodNotAllowed,
            Error::BodyTooLarge,
            Error::UnsupportedMediaType,
            Error::RateLimited { retry_after: 1 },
            Error::Timeout,
            Error::ProcessorUnavailable,
            Error::Internal("x".into()),
            Error::RefundTooLarge,
            Error::ChargeAlreadyRefunded,
        ];
        for c in [
            Conflict::SessionExpired,
            Conflict::SessionCompleted,
            Conflict::SessionNotOpen,
            Conflict::PaymentInProgress,
            Conflict::IdempotencyKeyInUse,
            Conflict::IntentUnexpectedState,
        ] {
            all.push(Error::Conflict(c));
        }
        for e in all {
            let (status, body) = e.body();
            let doc = CODES.iter().find(|d| d.code == body.code);
            let doc = doc.unwrap_or_else(|| panic!("{} is not in CODES", body.code));
            assert_eq!(doc.status, status.as_u16(), "{}", body.code);
            assert_eq!(doc.r#type, body.r#type, "{}", body.code);
        }
    }
}
