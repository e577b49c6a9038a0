//! Prefixed random identifiers and secrets.
use rand::Rng;

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `len` base-62 characters from the OS-seeded CSPRNG (5.95 bits each).
pub fn random_token(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An object id such as `pi_…` (24 chars: 142 random bits).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(24))
}

/// A session id: `cs_test_…`/`cs_live_…`, a capability. Nine base-36 chars of
/// the creation time in milliseconds (lower-case digits and letters sort the
/// same under SQLite's byte order and PostgreSQL's collations), so ids of one
/// second list in creation order; then 23 random chars (136 bits).
pub fn session_id(livemode: bool, now_ms: i64) -> String {
    let mode = if livemode { "live" } else { "test" };
    format!(
        "cs_{mode}_{}{}",
        base36(now_ms.max(0) as u64, 9),
        random_token(23)
    )
}

/// A payment link id: `plink_`, the creation time as in `session_id` (ids
/// of one second list in creation order), then 20 random chars (119 bits).
pub fn payment_link_id(now_ms: i64) -> String {
    format!(
        "plink_{}{}",
        base36(now_ms.max(0) as u64, 9),
        random_token(20)
    )
}

fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_sort_by_creation_time() {
        let a = session_id(false, 1_795_690_931_000);
        let b = session_id(false, 1_795_690_931_001);
        assert!(a[..17] < b[..17], "{a} {b}");
        assert_eq!(a.len(), "cs_test_".len() + 32);
        assert_eq!(base36(35, 3), "00z");
    }
}
