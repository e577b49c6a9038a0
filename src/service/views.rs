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

/// The public view's pieces: session, all items, merchant name, intent.
pub struct PublicView {
    pub session: cs::Model,
    pub status: SessionStatus,
    pub items: Vec<li::Model>,
    pub merchant_name: String,
    pub intent: pi::Model,
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
