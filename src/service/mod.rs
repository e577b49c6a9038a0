//! The rules: every REST handler and GraphQL resolver calls into here.
pub mod checkout;
pub mod credentials;
pub mod event_log;
pub mod events;
pub mod idempotency;
pub mod outbox;
pub mod paging;
pub mod payment;
pub mod payment_link;
pub mod refund;
pub mod scheduler;
pub mod stats;
pub mod stored;
pub mod subscription;
pub mod tally;
pub mod views;
pub mod webhook;
