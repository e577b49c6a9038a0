//! The service's read models that the presenters in `wire::present` are
//! built from: plain rows and the status a reader sees. A leaf module (no
//! service logic), so the presenters can read them and the service can call
//! the presenters without an import circle.
use entity::{checkout_session as cs, line_item as li, payment_intent as pi, subscription as sub};

use crate::domain::{SessionStatus, SubscriptionStatus};

/// A session with the line items a caller asked for and its effective status.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: cs::Model,
    pub items: Vec<li::Model>,
    pub has_more_items: bool,
    /// `expired` when `expires_at` has passed, even before the sweeper runs.
    pub status: SessionStatus,
}

/// What a session can be paid with (SPEC §11 `payment_methods`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Methods {
    pub card: bool,
    pub mobile_money: Vec<crate::domain::Provider>,
}

/// What a processing payment waits for, for the hosted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// The customer approves on their phone (MTN MoMo's push).
    ApproveOnPhone { provider: String },
    /// The customer pays at the provider (Wave's launch URL).
    Redirect { url: String },
}

/// The public view's pieces: session, all items, merchant name, intent.
pub struct PublicView {
    pub session: cs::Model,
    pub status: SessionStatus,
    pub items: Vec<li::Model>,
    pub merchant_name: String,
    pub intent: pi::Model,
    pub methods: Methods,
    pub next_action: Option<NextAction>,
}

/// A subscription set to cancel at period end reads as canceled once the
/// period is over, from that moment.
pub fn subscription_status(s: &sub::Model, now: i64) -> (SubscriptionStatus, Option<i64>) {
    if s.cancel_at_period_end
        && s.status == SubscriptionStatus::Active
        && now >= s.current_period_end
    {
        (SubscriptionStatus::Canceled, Some(s.current_period_end))
    } else {
        (s.status, s.canceled_at)
    }
}
