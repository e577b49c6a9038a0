//! Card numbers and expiry: format rules (Luhn, brand, expiry through the
//! month's end) and a wrapper that never prints, logs or serializes a PAN or
//! CVC.

/// A card number or CVC. No `Display`, no `Serialize`; `Debug` is redacted.
/// The digits leave it only through `expose`, to the processor call.
#[derive(Clone, PartialEq, Eq)]
pub struct CardSecret(String);

impl CardSecret {
    pub fn new(digits: String) -> Self {
        CardSecret(digits)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four digits (safe to show).
    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }
}

impl std::fmt::Debug for CardSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

pub fn card_brand(number: &str) -> &'static str {
    let p2: u32 = number.get(..2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let p4: u32 = number.get(..4).and_then(|s| s.parse().ok()).unwrap_or(0);
    if number.starts_with('4') {
        "visa"
    } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        "mastercard"
    } else if p2 == 34 || p2 == 37 {
        "amex"
    } else {
        "unknown"
    }
}

pub fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card expiring in month `m` of year `y` is valid through that month's end.
pub fn is_past(y: i64, m: i64, now: i64) -> bool {
    let end_of_month = crate::domain::time::add_months(civil_month_start(y, m), 1);
    now >= end_of_month
}

pub fn civil_month_start(y: i64, m: i64) -> i64 {
    // Months since 1970-01 to unix seconds via add_months from the epoch.
    crate::domain::time::add_months(0, (y - 1970) * 12 + (m - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_brand() {
        assert!(luhn_ok("4242424242424242"));
        assert!(!luhn_ok("4242424242424241"));
        assert_eq!(card_brand("5555555555554444"), "mastercard");
        let s = CardSecret::new("4242424242424242".into());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.last4(), "4242");
    }

    #[test]
    fn expiry_runs_through_month_end() {
        // 2030-12-31T23:59:59Z is still valid for 12/2030; 2031-01-01 is not.
        let jan2031 = civil_month_start(2031, 1);
        assert!(!is_past(2030, 12, jan2031 - 1));
        assert!(is_past(2030, 12, jan2031));
    }
}
