//! ISO 4217 currencies and their minor units.
use std::fmt;

/// An ISO 4217 code, upper-case, known to have a minor-unit exponent.
/// Stored as its code (TEXT); a stored code outside ISO 4217 fails to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Active ISO 4217 codes whose minor unit is not 2.
const EXPONENT_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const EXPONENT_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const EXPONENT_2: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWG",
];

impl Currency {
    /// Parses a code case-insensitively; `None` for anything not in ISO 4217.
    pub fn parse(s: &str) -> Option<Currency> {
        if s.len() != 3 || !s.is_ascii() {
            return None;
        }
        let up = s.to_ascii_uppercase();
        let exponent = if EXPONENT_0.contains(&up.as_str()) {
            0
        } else if EXPONENT_2.contains(&up.as_str()) {
            2
        } else if EXPONENT_3.contains(&up.as_str()) {
            3
        } else {
            return None;
        };
        let b = up.as_bytes();
        Some(Currency {
            code: [b[0], b[1], b[2]],
            exponent,
        })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of decimals of the minor unit (XOF 0, USD 2, KWD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A code outside ISO 4217.
#[derive(Debug)]
pub struct UnknownCurrency(pub String);

impl fmt::Display for UnknownCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an ISO 4217 currency: {}", self.0)
    }
}

impl std::error::Error for UnknownCurrency {}

impl std::str::FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Currency, UnknownCurrency> {
        Currency::parse(s).ok_or_else(|| UnknownCurrency(s.into()))
    }
}

/// A key column of the counter tables: never an auto-increment id.
impl sea_orm::TryFromU64 for Currency {
    fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
        Err(sea_orm::DbErr::ConvertFromU64("Currency"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_with_exponent() {
        assert_eq!(
            Currency::parse("xof").map(|c| (c.code().to_string(), c.exponent())),
            Some(("XOF".into(), 0))
        );
        assert_eq!(Currency::parse("USD").map(|c| c.exponent()), Some(2));
        assert_eq!(Currency::parse("KWD").map(|c| c.exponent()), Some(3));
        assert!(Currency::parse("ABC").is_none());
        assert!(Currency::parse("ÉUR").is_none());
    }
}
