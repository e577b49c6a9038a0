//! The pay route's limit: N requests per minute per client address and per
//! session (fixed one-minute windows, in memory; 0 turns it off).
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::error::{Error, Result};

/// The client's address: the peer, or — when the peer is a trusted proxy —
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy
/// (the right-most ones were added by our own proxies; anything left of the
/// first untrusted hop is the client's to forge).
pub fn client_ip(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

pub struct PayLimiter {
    per_minute: u32,
    clock: Clock,
    windows: Mutex<(i64, HashMap<String, u32>)>,
}

impl PayLimiter {
    pub fn new(per_minute: u32, clock: Clock) -> Self {
        Self {
            per_minute,
            clock,
            windows: Mutex::new((0, HashMap::new())),
        }
    }

    pub fn check(&self, ip: IpAddr, session_id: &str) -> Result<()> {
        self.count(&[format!("ip:{ip}"), format!("cs:{session_id}")])
    }

    /// Per client address only (payment link visits: a link shared at a
    /// counter is opened by many customers, each from their own phone).
    pub fn check_address(&self, ip: IpAddr) -> Result<()> {
        self.count(&[format!("ip:{ip}")])
    }

    fn count(&self, keys: &[String]) -> Result<()> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let minute = self.clock.now() / 60;
        let mut guard = self
            .windows
            .lock()
            .map_err(|_| Error::Internal("rate limiter poisoned".into()))?;
        let (window, counts) = &mut *guard;
        if *window != minute {
            *window = minute;
            counts.clear();
        }
        let mut over = false;
        for key in keys {
            let n = counts.entry(key.clone()).or_insert(0);
            *n += 1;
            over |= *n > self.per_minute;
        }
        if over {
            Err(Error::RateLimited {
                retry_after: (60 - self.clock.now().rem_euclid(60)) as u64,
            })
        } else {
            Ok(())
        }
    }
}
