//! Timers the service asks for: "settle this pending payment (or refund)
//! in `after`". The service only sends the request down a channel; the
//! workers drain it (`workers::timers`) and run the settling when due. A
//! request lost with the process is not lost work: the due rows stay in the
//! database, and the sweeper and start-up recovery settle them.
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::domain::{PaymentIntentId, RefundId};

/// What is due when a timer fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Settle the pending attempt `attempt` of payment `intent`.
    Payment {
        intent: PaymentIntentId,
        attempt: String,
    },
    /// Settle the pending refund.
    Refund(RefundId),
}

/// One request: `due` runs `after` from now.
#[derive(Debug)]
pub struct Timer {
    pub due: Due,
    pub after: Duration,
}

/// The sending end lives in `AppState`; the receiving end is taken once by
/// the worker that drains it.
pub struct Scheduler {
    tx: UnboundedSender<Timer>,
    rx: Mutex<Option<UnboundedReceiver<Timer>>>,
}

impl Default for Scheduler {
    fn default() -> Self {
        let (tx, rx) = unbounded_channel();
        Scheduler {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Scheduler {
    /// Asks for `due` to run after `after`. Never blocks; requests wait in
    /// the channel until the worker drains them.
    pub fn after(&self, after: Duration, due: Due) {
        // The receiver lives as long as the state: a send cannot fail
        // before the worker stops, and after that the sweeper's recovery
        // owns the due rows.
        let _ = self.tx.send(Timer { due, after });
    }

    /// The receiving end, for the one worker that drains it (None once
    /// taken).
    pub fn take_receiver(&self) -> Option<UnboundedReceiver<Timer>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}
