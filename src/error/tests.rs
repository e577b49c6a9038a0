use super::*;

/// One error of every variant (and every sub-case that picks another
/// entry). The match below has no `_` arm: a new variant does not compile
/// until it is sorted into it, next to its example here.
fn examples() -> Vec<Error> {
    let decline = |code: &str| {
        Error::Declined(Decline {
            code: code.into(),
            decline_code: None,
            message: "m".into(),
        })
    };
    let db = |kind| {
        Error::Database(DbError {
            kind,
            source: std::sync::Arc::new(sea_orm::DbErr::Custom("x".into())),
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
        Error::RefundTooLarge,
        Error::ChargeAlreadyRefunded,
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
        Error::MethodUnavailable {
            param: "payment_method.type",
        },
        Error::CredentialsInvalid("x".into()),
        Error::RefundUnsupported("x"),
        db(DbFailure::UniqueViolation),
        db(DbFailure::Unavailable),
        db(DbFailure::Other),
        Error::Internal("x".into()),
    ];
    for c in [
        Conflict::SessionExpired,
        Conflict::SessionCompleted,
        Conflict::SessionNotOpen,
        Conflict::PaymentInProgress,
        Conflict::PaymentLinkUsedUp,
        Conflict::IdempotencyKeyInUse,
        Conflict::IntentUnexpectedState,
        Conflict::ConnectorExists,
    ] {
        all.push(Error::Conflict(c));
    }
    all
}

/// Which variant an error is: exhaustive, so it lists every variant.
fn variant(e: &Error) -> &'static str {
    use Error::*;
    match e {
        Validation(_) => "Validation",
        JsonInvalid(_) => "JsonInvalid",
        IdempotencyMismatch => "IdempotencyMismatch",
        ApiKeyMissing => "ApiKeyMissing",
        ApiKeyInvalid => "ApiKeyInvalid",
        Declined(_) => "Declined",
        ScopeMissing(_) => "ScopeMissing",
        RefundTooLarge => "RefundTooLarge",
        ChargeAlreadyRefunded => "ChargeAlreadyRefunded",
        SecretKeyRequired => "SecretKeyRequired",
        NotFound { .. } => "NotFound",
        RouteNotFound => "RouteNotFound",
        TestModeOnly => "TestModeOnly",
        MethodNotAllowed => "MethodNotAllowed",
        Conflict(_) => "Conflict",
        BodyTooLarge => "BodyTooLarge",
        UnsupportedMediaType => "UnsupportedMediaType",
        RateLimited { .. } => "RateLimited",
        Timeout => "Timeout",
        ProcessorUnavailable => "ProcessorUnavailable",
        MethodUnavailable { .. } => "MethodUnavailable",
        CredentialsInvalid(_) => "CredentialsInvalid",
        RefundUnsupported(_) => "RefundUnsupported",
        Database(_) => "Database",
        Internal(_) => "Internal",
    }
}

/// The variants `variant` names, counted from its source: a variant added
/// to the match but not to `examples` fails here.
const VARIANTS: usize = 25;

fn contract_enum(schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Vec<String> {
    let v = serde_json::to_value(schema).unwrap();
    v["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every variant answers with a code of the table, with the table's status
/// and type, and that code is in the contract's `ErrorCode` enum (the
/// `/docs/errors` page lists `CODES` whole: tested through HTTP).
#[test]
fn every_variant_has_a_documented_code() {
    use utoipa::PartialSchema;
    let codes = contract_enum(ErrorCode::schema());
    let types = contract_enum(ErrorType::schema());
    let all = examples();
    let mut seen: Vec<&str> = all.iter().map(variant).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), VARIANTS, "a variant has no example: {seen:?}");
    let mut used = std::collections::BTreeSet::new();
    for e in &all {
        let (status, body) = e.body();
        let doc = CODES.iter().find(|d| d.code == body.code);
        let doc = doc.unwrap_or_else(|| panic!("{} ({}) is not in CODES", body.code, variant(e)));
        assert_eq!(doc.status, status.as_u16(), "{}", body.code);
        assert_eq!(doc.r#type, body.r#type, "{}", body.code);
        assert!(codes.contains(&body.code), "{} not in ErrorCode", body.code);
        assert!(
            types.contains(&body.r#type),
            "{} not in ErrorType",
            body.r#type
        );
        assert!(
            !body.message.is_empty() && !body.message.contains('{'),
            "{}",
            body.message
        );
        used.insert(body.code.clone());
    }
    // And every documented code is one a server can answer with (the two
    // of the connection itself aside).
    for d in CODES {
        assert!(
            used.contains(d.code)
                || ["request_malformed", "request_headers_too_large"].contains(&d.code),
            "{} is documented but no variant answers it",
            d.code
        );
        assert!(!d.fr.is_empty() && !d.en.is_empty(), "{}", d.code);
    }
}

/// The live messages the API tests and clients rely on, and the limit
/// read from `BODY_LIMIT` (not written in the table).
#[test]
fn messages_are_rendered_from_the_table() {
    let msg = |e: Error| e.body().1.message;
    assert_eq!(
        msg(Error::BodyTooLarge),
        format!("The request body exceeds {} KiB.", crate::BODY_LIMIT / 1024)
    );
    assert_eq!(
        msg(Error::not_found("checkout session", "cs_1")),
        "No such checkout session: 'cs_1'"
    );
    assert_eq!(
        msg(Error::ScopeMissing("refunds:write")),
        "This token lacks the `refunds:write` scope."
    );
    assert_eq!(msg(Error::JsonInvalid("eof".into())), "Invalid JSON: eof.");
    assert_eq!(
        FieldError::missing("currency").message,
        "Missing required param: currency."
    );
    assert_eq!(
        FieldError::unknown("x").message,
        "Received unknown parameter: x."
    );
}

/// A `DbErr` is sorted, answered as before (503 `timeout` / 500
/// `internal`), and keeps its source.
#[test]
fn database_errors_are_sorted_and_keep_their_source() {
    let e: Error = sea_orm::DbErr::Custom("boom".into()).into();
    assert_eq!(e.db_failure(), Some(DbFailure::Other));
    assert_eq!(e.body().1.code, "internal");
    assert_eq!(e.body().0.as_u16(), 500);
    assert!(
        !e.body().1.message.contains("boom"),
        "the source is never shown"
    );
    let source = std::error::Error::source(&e).expect("source kept");
    assert!(source.to_string().contains("boom"), "{source}");
    let e: Error = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout).into();
    assert_eq!(e.db_failure(), Some(DbFailure::Unavailable));
    assert_eq!(
        (e.body().0.as_u16(), e.body().1.code.as_str()),
        (503, "timeout")
    );
    let res = axum::response::IntoResponse::into_response(e);
    assert_eq!(res.headers()["retry-after"], "1");
}
