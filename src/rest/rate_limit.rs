//! The pay route's limit: N requests per minute per client address and per
//! session (fixed one-minute windows, in memory; 0 turns it off).
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::error::{Error, Result};

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
        for key in [format!("ip:{ip}"), format!("cs:{session_id}")] {
            let n = counts.entry(key).or_insert(0);
            *n += 1;
            over |= *n > self.per_minute;
        }
        if over {
            Err(Error::RateLimited)
        } else {
            Ok(())
        }
    }
}
