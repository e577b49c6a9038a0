//! The webhook delivery worker: leases due attempts, signs and posts them,
//! records each outcome. Woken right after a commit that queued deliveries
//! (`service::webhook::wake`: in process at once, from other processes
//! through PostgreSQL `NOTIFY`), and otherwise when the next retry is due.
//!
//! Lease state lives in the database only: every attempt is taken with the
//! claiming `UPDATE … RETURNING` (`delivery::claim`), which takes only
//! attempts whose lease is free, and an attempt stays leased until its
//! outcome is committed (`delivery::finish` clears the lease). So nothing
//! here remembers which attempts are being or were just sent; what is kept
//! in memory is the slots (per endpoint, per merchant, in all).
//!
//! Isolation: at most `PER_ENDPOINT` attempts in flight per endpoint,
//! `webhook_merchant_in_flight` per merchant (below `IN_FLIGHT`) and
//! `IN_FLIGHT` in all, so endpoints that hang for 10 s on every attempt
//! hold only their merchant's share of the slots; endpoints and merchants
//! at capacity are left out of the next lease instead of being leased and
//! left waiting, and what is leased is taken round robin across merchants.
//! An endpoint that keeps not answering has its breaker opened (see
//! `delivery`): nothing is sent to it until its cool-down ends, then one
//! trial, which this worker makes only if it wins it (`take_trial`).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::AppState;
use crate::domain::{MerchantId, WebhookEndpointId};
use crate::service::webhook::delivery::{
    self, AttemptResult, Claimed, LEASE_MARGIN_MS, Room, lease_ms,
};

mod send;

pub const PER_ENDPOINT: usize = 8;
pub const IN_FLIGHT: usize = 64;
/// Longest sleep with nothing due: a safety net under the wake-ups.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Re-check for due attempts that another process holds.
const BUSY_POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
struct Worker {
    state: AppState,
    owner: String,
    in_flight: Arc<Mutex<InFlight>>,
    slot_freed: Arc<tokio::sync::Notify>,
    clients: send::Clients,
    /// To the task that records outcomes, many per commit.
    outcomes: tokio::sync::mpsc::Sender<Outcome>,
}

/// Attempts in flight here, per endpoint and per merchant.
#[derive(Default)]
struct InFlight {
    endpoints: HashMap<WebhookEndpointId, usize>,
    merchants: HashMap<MerchantId, usize>,
    total: usize,
}

/// What is at capacity here.
struct Full {
    endpoints: Vec<WebhookEndpointId>,
    merchants: Vec<MerchantId>,
}

/// An attempt's end, and who waits for it to be recorded.
type Outcome = (Claimed, AttemptResult, tokio::sync::oneshot::Sender<()>);

/// Most outcomes recorded in one transaction.
const OUTCOMES_PER_COMMIT: usize = 128;
/// Tries at recording a batch of outcomes: an attempt whose outcome is not
/// recorded before its lease runs out is sent again by whoever takes it.
const RECORD_TRIES: u32 = 3;
/// Least time left on a lease to start sending its attempt (or half the
/// request timeout, if that is shorter).
const LEAST_SEND_TIME: Duration = Duration::from_secs(1);

/// Starts the worker; it stops on `state.shutdown`.
pub fn spawn(state: AppState) {
    let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT);
    let worker = match Worker::new(state, tx) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "webhook HTTP client could not be built: no deliveries");
            return;
        }
    };
    tokio::spawn(record_outcomes(
        worker.state.clone(),
        worker.owner.clone(),
        rx,
    ));
    tokio::spawn(async move { worker.run().await });
}

/// Records outcomes as they come, all that are waiting in one transaction
/// (group commit: one fsync for many attempts), then lets their senders go.
async fn record_outcomes(
    state: AppState,
    owner: String,
    mut rx: tokio::sync::mpsc::Receiver<Outcome>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < OUTCOMES_PER_COMMIT {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        let (done, acks): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|(c, r, ack)| ((c, r), ack)).unzip();
        for tries in 1..=RECORD_TRIES {
            let Err(e) = delivery::finish(&state, &owner, &done).await else {
                break;
            };
            if tries == RECORD_TRIES {
                // Their leases run out and the attempts are made again: at least once.
                tracing::warn!(error = %e, attempts = done.len(), "webhook outcomes not recorded");
            } else {
                tracing::info!(error = %e, attempts = done.len(), "webhook outcomes not recorded yet: trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

impl Worker {
    fn new(
        state: AppState,
        outcomes: tokio::sync::mpsc::Sender<Outcome>,
    ) -> reqwest::Result<Worker> {
        Ok(Worker {
            outcomes,
            clients: send::Clients::new(&state)?,
            owner: crate::domain::ids::new_id("wkr"),
            in_flight: Arc::default(),
            slot_freed: Arc::default(),
            state,
        })
    }

    async fn run(self) {
        let stop = self.state.shutdown.clone();
        loop {
            let wait = match self.round().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                    Some(IDLE_POLL)
                }
            };
            let Some(wait) = wait else { continue };
            tokio::select! {
                _ = self.state.deliveries.notified() => {}
                _ = self.slot_freed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// Starts what is due. `None`: go again at once (more may be due);
    /// otherwise how long to sleep unless woken.
    async fn round(&self) -> crate::error::Result<Option<Duration>> {
        let (free, full) = self.capacity();
        if free == 0 {
            return Ok(Some(IDLE_POLL));
        }
        let room = Room {
            full_endpoints: &full.endpoints,
            full_merchants: &full.merchants,
            per_endpoint: PER_ENDPOINT,
            per_merchant: self.per_merchant(),
        };
        let batch = free.min(32) as u64;
        // Taken before the claim: the lease it sets ends no sooner.
        let lease_end = Instant::now() + Duration::from_millis(lease_ms(&self.state) as u64);
        let claimed = delivery::claim(&self.state, &self.owner, batch, &room).await?;
        let claimed_full = claimed.len() as u64 == batch;
        for c in claimed {
            let id = c.id.clone();
            if !self.start(c, lease_end) {
                delivery::release(&self.state, &self.owner, &id).await?;
            }
        }
        if claimed_full {
            return Ok(None);
        }
        let now = self.state.clock.now_ms();
        Ok(Some(match delivery::next_due(&self.state).await? {
            Some(due) if due > now => Duration::from_millis((due - now).min(1000) as u64),
            // Due but not taken: being sent (here or by another process,
            // its lease held), or its endpoint or merchant is at capacity
            // (a freed slot wakes this loop sooner).
            Some(_) => BUSY_POLL,
            None => IDLE_POLL,
        }))
    }

    /// Free slots in all, and the endpoints and merchants at capacity.
    fn capacity(&self) -> (usize, Full) {
        let f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let per_merchant = self.per_merchant();
        let full = Full {
            endpoints: (f.endpoints.iter())
                .filter(|(_, n)| **n >= PER_ENDPOINT)
                .map(|(id, _)| id.clone())
                .collect(),
            merchants: (f.merchants.iter())
                .filter(|(_, n)| **n >= per_merchant)
                .map(|(id, _)| id.clone())
                .collect(),
        };
        (IN_FLIGHT.saturating_sub(f.total), full)
    }

    /// A merchant's share of the slots: always fewer than all of them.
    fn per_merchant(&self) -> usize {
        (self.state.config.webhook_merchant_in_flight as usize).clamp(1, IN_FLIGHT - 1)
    }

    /// Starts claimed attempt `c`, unless its endpoint or merchant has no
    /// free slot here (false: the caller gives its lease back).
    fn start(&self, c: Claimed, lease_end: Instant) -> bool {
        if !self.take_slot(&c) {
            return false;
        }
        let w = self.clone();
        tokio::spawn(async move {
            let slot = c.clone();
            let sent = !c.trial || w.take_trial(&c).await;
            let recorded = if sent {
                w.attempt(c, lease_end).await
            } else {
                None
            };
            w.free_slot(&slot);
            if let Some(recorded) = recorded {
                let _ = recorded.await;
            }
            // A retry may have been queued: let the loop look again.
            w.slot_freed.notify_one();
        });
        true
    }

    /// A slot for `c`, if its endpoint and its merchant have one free.
    fn take_slot(&self, c: &Claimed) -> bool {
        let per_merchant = self.per_merchant();
        let mut f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let f = &mut *f;
        let at_endpoint = f.endpoints.get(&c.endpoint_id).copied().unwrap_or(0);
        let at_merchant = (c.merchant_id.as_ref())
            .and_then(|m| f.merchants.get(m).copied())
            .unwrap_or(0);
        if f.total >= IN_FLIGHT || at_endpoint >= PER_ENDPOINT || at_merchant >= per_merchant {
            return false;
        }
        *f.endpoints.entry(c.endpoint_id.clone()).or_default() += 1;
        if let Some(m) = &c.merchant_id {
            *f.merchants.entry(m.clone()).or_default() += 1;
        }
        f.total += 1;
        true
    }

    fn free_slot(&self, c: &Claimed) {
        {
            let mut guard = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            let f = &mut *guard;
            release_one(&mut f.endpoints, &c.endpoint_id);
            if let Some(m) = &c.merchant_id {
                release_one(&mut f.merchants, m);
            }
            f.total = f.total.saturating_sub(1);
        }
        self.slot_freed.notify_one();
    }

    /// Whether this worker makes the half-open trial `c`; if not, its lease
    /// is given back (the trial is someone else's).
    async fn take_trial(&self, c: &Claimed) -> bool {
        match delivery::take_trial(&self.state, &c.endpoint_id).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, endpoint = %c.endpoint_id, "webhook trial not taken")
            }
        }
        let _ = delivery::release(&self.state, &self.owner, &c.id).await;
        false
    }

    /// Makes the attempt; returns what resolves once its outcome is committed.
    /// The request ends `LEASE_MARGIN_MS` before the lease does, so that a
    /// slow start (a loaded machine, a slow read) never lets the answer
    /// come after another process has taken the attempt over; with less
    /// than `LEAST_SEND_TIME` left it is given back unsent.
    async fn attempt(
        &self,
        c: Claimed,
        lease_end: Instant,
    ) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let target = delivery::target(&self.state, &c).await;
        let margin = Duration::from_millis(LEASE_MARGIN_MS as u64);
        let left = lease_end.checked_sub(margin).map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        let timeout = Duration::from_millis(self.state.config.webhook_timeout_ms);
        if left < LEAST_SEND_TIME.min(timeout / 2) {
            tracing::info!(delivery = %c.id, "webhook lease nearly over before sending: given back");
            let _ = delivery::release(&self.state, &self.owner, &c.id).await;
            return None;
        }
        let result = match target {
            Ok(Ok(target)) => {
                self.clients
                    .post(&self.state, &target, left.min(timeout))
                    .await
            }
            Ok(Err(reason)) => AttemptResult {
                response_status: None,
                duration_ms: 0,
                error: Some(reason.to_string()),
                retry: false,
            },
            Err(e) => {
                tracing::warn!(error = %e, delivery = %c.id, "webhook attempt could not be prepared");
                let _ = delivery::release(&self.state, &self.owner, &c.id).await;
                return None;
            }
        };
        // The slot is free once the receiver has answered; the lease keeps
        // the attempt from being taken again until its outcome is committed. The channel is bounded: a slow database slows senders.
        let (ack, recorded) = tokio::sync::oneshot::channel();
        self.outcomes.send((c, result, ack)).await.ok()?;
        Some(recorded)
    }
}

fn release_one<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}
