//! Mobile money numbers: E.164 and the masked form shown back.

pub fn is_e164(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

pub fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_and_mask() {
        assert_eq!(mask_phone("+2250700000000"), "+225******0000");
        assert!(is_e164("+2250700000000"));
        assert!(!is_e164("0700000000"));
    }
}
