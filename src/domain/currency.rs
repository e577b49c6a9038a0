//! ISO 4217 currencies: a column type, so it lives in the `entity` crate.
pub use entity::currency::Currency;
