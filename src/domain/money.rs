//! Money in integer minor units with checked arithmetic.

/// The largest total a session may carry: 10¹² minor units.
pub const MAX_TOTAL: i64 = 1_000_000_000_000;

/// A non-negative amount in a currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn new(minor: i64) -> Option<Amount> {
        (minor >= 0).then_some(Amount(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `self × quantity`, `None` on overflow.
    pub fn times(self, quantity: i64) -> Option<Amount> {
        self.0.checked_mul(quantity).and_then(Amount::new)
    }

    /// `self + other`, `None` on overflow.
    pub fn plus(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
}

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
