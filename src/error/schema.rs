//! The contract's enums of error families and codes, built from the table.
use utoipa::ToSchema;

use super::{CODES, FieldCode};

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
