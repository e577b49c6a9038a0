//! Custom scalars: money in 64-bit minor units, timestamps as RFC 3339.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::domain::{Amount, time};

/// An amount in the currency's smallest unit (XOF: francs, USD: cents), as a
/// 64-bit integer. GraphQL `Int` is 32-bit and cannot hold 10¹² minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Amount);

#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n.as_i64().and_then(Amount::new).map(Money).ok_or_else(|| {
                InputValueError::custom(
                    "Money must be a non-negative integer number of minor units",
                )
            }),
            Value::String(s) => s
                .parse()
                .ok()
                .and_then(Amount::new)
                .map(Money)
                .ok_or_else(|| {
                    InputValueError::custom(
                        "Money must be a non-negative integer number of minor units",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.minor().into())
    }
}

/// A signed amount in minor units (a net volume can be negative), as a
/// 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedMoney(pub i64);

#[Scalar(name = "SignedMoney")]
impl ScalarType for SignedMoney {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n.as_i64().map(SignedMoney).ok_or_else(|| {
                InputValueError::custom("SignedMoney must be an integer number of minor units")
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// An instant as RFC 3339 in UTC (`2026-11-26T10:53:52Z`); inputs also take
/// an offset or a plain date (`2026-11-26`, midnight UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub i64);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => time::parse_rfc3339(s)
                .map(DateTime)
                .ok_or_else(|| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(time::format_rfc3339(self.0))
    }
}
