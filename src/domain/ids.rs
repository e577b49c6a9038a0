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

/// A session id: `cs_test_…`/`cs_live_…` with 32 random chars (190 bits): a capability.
pub fn session_id(livemode: bool) -> String {
    format!(
        "cs_{}_{}",
        if livemode { "live" } else { "test" },
        random_token(32)
    )
}
