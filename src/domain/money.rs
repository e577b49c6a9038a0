//! Money in integer minor units with checked arithmetic.

/// The largest total a session may carry: 10¹² minor units.
pub const MAX_TOTAL: i64 = 1_000_000_000_000;

pub use entity::types::Amount;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_arithmetic_never_wraps() {
        let big = Amount::new(i64::MAX / 2 + 1).unwrap();
        assert_eq!(big.times(2), None);
        assert_eq!(big.plus(big), None);
        assert_eq!(
            Amount::new(50_000).unwrap().times(3).map(Amount::minor),
            Some(150_000)
        );
        assert_eq!(Amount::new(-1), None);
    }
}
