//! A refund request, parsed at the edge (REST body or GraphQL input).
use std::collections::BTreeMap;

use super::{Amount, RefundReason};

#[derive(Debug, Clone)]
pub struct NewRefund {
    /// As given: the service resolves it among the caller's intents (404 otherwise).
    pub payment_intent: String,
    /// `None`: what is left to refund.
    pub amount: Option<Amount>,
    pub reason: Option<RefundReason>,
    pub metadata: BTreeMap<String, String>,
    /// The request's `Idempotency-Key`: one refund per key, kept by the
    /// database (a unique index), whatever reaches the service twice.
    pub idempotency_key: Option<String>,
}

/// How a refund the processor accepted ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSettlement {
    Succeed,
    /// With the `failure_reason` merchants see.
    Fail(String),
}

impl RefundSettlement {
    /// Stored form (`refunds.pending_outcome`).
    pub fn encode(&self) -> String {
        match self {
            RefundSettlement::Succeed => "succeed".into(),
            RefundSettlement::Fail(reason) => format!("fail:{reason}"),
        }
    }

    pub fn decode(s: &str) -> RefundSettlement {
        match s.strip_prefix("fail:") {
            Some(reason) => RefundSettlement::Fail(reason.to_string()),
            None if s == "succeed" => RefundSettlement::Succeed,
            None => RefundSettlement::Fail("unknown".into()),
        }
    }
}
