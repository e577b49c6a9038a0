//! OAuth bearer tokens of a provider (MTN MoMo's `/token/`; Orange
//! Money's would be the same): kept until a minute before they expire,
//! dropped at once when the provider answers `401`.
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bearer token and when to stop using it (a minute before MTN's expiry).
#[derive(Default)]
pub struct TokenCache(Mutex<Option<(String, Instant)>>);

impl TokenCache {
    pub fn get(&self) -> Option<String> {
        let t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        t.as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(tok, _)| tok.clone())
    }

    pub fn put(&self, token: String, expires_in: u64) {
        let margin = expires_in.saturating_sub(60).max(expires_in / 2);
        let until = Instant::now().checked_add(Duration::from_secs(margin.min(86_400)));
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = until.map(|u| (token, u));
    }

    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
