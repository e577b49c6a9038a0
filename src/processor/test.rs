//! The built-in test processor (test mode without a connector): SPEC §4's
//! table of magic numbers, and a ledger of the attempts it received.
use std::time::Duration;

use super::{
    Attempt, Charge, ConnError, Connector, Hint, Inbound, Initiated, Observed, Outcome,
    RefundOutcome, RefundRequest, Refunds, Rejected, Settlement, decline,
};
use crate::error::Decline;

/// Test-mode processor: SPEC §4's table of magic numbers, and a ledger of
/// the attempts it received (in the database, like a real processor's own
/// records: it survives our crashes and is written outside our transactions).
pub struct TestProcessor {
    pub momo_delay: Duration,
    pub db: sea_orm::DatabaseConnection,
    /// The ledger's writes join the service's group commit.
    pub writer: crate::db::Writer,
    pub clock: crate::Clock,
}

/// A refund as the test processor records it (keyed by refund id).
#[derive(serde::Serialize, serde::Deserialize)]
struct RecordedRefund {
    settle_at: Option<i64>,
    fail: Option<String>,
}

/// An outcome as the test processor records it.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Recorded {
    Succeeded {
        /// Paid with `4000000000005126`: its refunds fail.
        #[serde(default)]
        refunds_fail: bool,
    },
    Declined {
        decline: Decline,
    },
    Pending {
        settle_at: i64,
        fail: Option<Decline>,
    },
}

/// An attempt the test processor could not record (serialise or insert):
/// not recorded means not charged, as with a processor that failed before
/// taking the money.
fn unrecorded(e: &dyn std::fmt::Display) -> Outcome {
    tracing::warn!(error = %e, "test processor could not record the attempt");
    Outcome::Declined(decline(
        "card_declined",
        Some("processing_error"),
        "The payment could not be processed; please try again.",
    ))
}

#[async_trait::async_trait]
impl Connector for TestProcessor {
    async fn initiate(
        &self,
        attempt: &Attempt<'_>,
        charge: Charge<'_>,
    ) -> Result<Initiated, ConnError> {
        Ok(Initiated::just(self.charge(attempt.id, charge).await))
    }

    async fn lookup(&self, attempt: &Attempt<'_>) -> Result<Option<Observed>, ConnError> {
        Ok(self
            .recorded_outcome(attempt.id)
            .await?
            .map(|outcome| Observed {
                outcome,
                reported: None,
                provider_id: None,
                redirect_url: None,
            }))
    }

    fn verify_notification(&self, _: &Inbound<'_>) -> Result<Hint, Rejected> {
        Err(Rejected("the test processor sends no notifications"))
    }

    async fn cancel(&self, _: &Attempt<'_>) -> Result<bool, ConnError> {
        Ok(false)
    }

    fn refunds(&self) -> Refunds {
        Refunds::Partial
    }

    async fn refund(&self, r: &RefundRequest<'_>) -> Result<RefundOutcome, ConnError> {
        Ok(self.refund_once(r.id, r.payment.id).await)
    }

    async fn refund_status(
        &self,
        r: &RefundRequest<'_>,
    ) -> Result<Option<RefundOutcome>, ConnError> {
        Ok(Some(self.refund_once(r.id, r.payment.id).await))
    }
}

impl TestProcessor {
    async fn charge(&self, attempt: &str, charge: Charge<'_>) -> Outcome {
        use entity::test_processor_attempt as tpa;
        use sea_orm::{ActiveModelTrait, Set};
        let refunds_fail = matches!(
            charge,
            Charge::Card {
                number: REFUNDS_FAIL_CARD,
                ..
            }
        );
        let outcome = self.decide(charge);
        let now = self.clock.now();
        let recorded = match &outcome {
            // Never decided by the table (`decide`).
            Outcome::Processing => return outcome,
            Outcome::Succeeded => Recorded::Succeeded { refunds_fail },
            Outcome::Declined(d) => Recorded::Declined { decline: d.clone() },
            Outcome::Pending { after, then } => Recorded::Pending {
                settle_at: now + after.as_millis().div_ceil(1000) as i64,
                fail: match then {
                    Settlement::Succeed => None,
                    Settlement::Fail(d) => Some(d.clone()),
                },
            },
        };
        let row = match serde_json::to_string(&recorded) {
            Ok(stored) => tpa::ActiveModel {
                attempt_id: Set(attempt.to_string()),
                outcome: Set(stored),
                created: Set(now),
            },
            Err(e) => return unrecorded(&e),
        };
        match self
            .writer
            .one(|c| async move { row.insert(&c).await })
            .await
        {
            Ok(_) => outcome,
            // The same attempt again: answer what was decided the first time.
            Err(e) if crate::db::is_unique_violation(&e) => {
                match self.recorded_outcome(attempt).await {
                    Ok(Some(known)) => known,
                    _ => outcome,
                }
            }
            Err(e) => unrecorded(&e),
        }
    }

    async fn refund_once(&self, refund: &str, attempt: &str) -> RefundOutcome {
        use crate::domain::refund::RefundSettlement;
        use entity::test_processor_attempt as tpa;
        use sea_orm::{ActiveModelTrait, Set};
        // Asked again about the same refund: the first answer, as recorded.
        if let Ok(Some(RecordedRefund { settle_at, fail })) =
            self.recorded::<RecordedRefund>(refund).await
        {
            return match (settle_at, fail) {
                (None, None) => RefundOutcome::Succeeded,
                (None, Some(reason)) => RefundOutcome::Failed(reason),
                (Some(at), fail) => RefundOutcome::Pending {
                    after: Duration::from_secs(at.saturating_sub(self.clock.now()).max(0) as u64),
                    then: fail.map_or(RefundSettlement::Succeed, RefundSettlement::Fail),
                },
            };
        }
        let outcome = self.decide_refund(attempt).await;
        let now = self.clock.now();
        let recorded = match &outcome {
            RefundOutcome::Processing => return outcome,
            RefundOutcome::Succeeded => RecordedRefund {
                settle_at: None,
                fail: None,
            },
            RefundOutcome::Failed(r) => RecordedRefund {
                settle_at: None,
                fail: Some(r.clone()),
            },
            RefundOutcome::Pending { after, then } => RecordedRefund {
                settle_at: Some(now + after.as_millis().div_ceil(1000) as i64),
                fail: match then {
                    RefundSettlement::Succeed => None,
                    RefundSettlement::Fail(r) => Some(r.clone()),
                },
            },
        };
        let row = match serde_json::to_string(&recorded) {
            Ok(stored) => tpa::ActiveModel {
                attempt_id: Set(refund.to_string()),
                outcome: Set(stored),
                created: Set(now),
            },
            Err(e) => {
                tracing::warn!(error = %e, "test processor could not record the refund");
                return outcome;
            }
        };
        if let Err(e) = self
            .writer
            .one(|c| async move { row.insert(&c).await })
            .await
            && !crate::db::is_unique_violation(&e)
        {
            tracing::warn!(error = %e, "test processor could not record the refund");
        }
        outcome
    }

    async fn recorded_outcome(&self, attempt: &str) -> Result<Option<Outcome>, ConnError> {
        let Some(recorded) = self.recorded::<Recorded>(attempt).await? else {
            return Ok(None);
        };
        Ok(Some(match recorded {
            Recorded::Succeeded { .. } => Outcome::Succeeded,
            Recorded::Declined { decline } => Outcome::Declined(decline),
            Recorded::Pending { settle_at, fail } => Outcome::Pending {
                after: Duration::from_secs(settle_at.saturating_sub(self.clock.now()).max(0) as u64),
                then: fail.map_or(Settlement::Succeed, Settlement::Fail),
            },
        }))
    }
}

/// Pays, but every refund of the payment fails (SPEC §5 "Refunds").
const REFUNDS_FAIL_CARD: &str = "4000000000005126";

impl TestProcessor {
    /// How the test processor refunds the payment made by `attempt`: card
    /// at once; mobile money after the delay; the refunds-fail card fails
    /// after the delay. A payment it never took (test helper) refunds at once.
    async fn decide_refund(&self, attempt: &str) -> RefundOutcome {
        use crate::domain::refund::RefundSettlement;
        let paid = self.recorded::<Recorded>(attempt).await.ok().flatten();
        match paid {
            Some(Recorded::Succeeded { refunds_fail: true }) => RefundOutcome::Pending {
                after: self.momo_delay,
                then: RefundSettlement::Fail("expired_or_canceled_card".into()),
            },
            Some(Recorded::Pending { .. }) => RefundOutcome::Pending {
                after: self.momo_delay,
                then: RefundSettlement::Succeed,
            },
            _ => RefundOutcome::Succeeded,
        }
    }

    /// What the ledger holds under `key` (an attempt or a refund id).
    async fn recorded<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ConnError> {
        use crate::db::Unique;
        use entity::test_processor_attempt as tpa;
        use sea_orm::EntityTrait;
        let row = tpa::Entity::find_by_id(key.to_string())
            .unique(&self.db)
            .await
            .map_err(|e| ConnError::Unreachable(e.to_string()))?;
        row.map(|r| {
            serde_json::from_str(&r.outcome).map_err(|e| ConnError::Unreachable(e.to_string()))
        })
        .transpose()
    }

    /// SPEC §4's table.
    fn decide(&self, charge: Charge<'_>) -> Outcome {
        match charge {
            Charge::Card { number, .. } => match number {
                "4242424242424242" | "5555555555554444" | REFUNDS_FAIL_CARD => Outcome::Succeeded,
                "4000000000000002" => Outcome::Declined(decline(
                    "card_declined",
                    Some("generic_decline"),
                    "Your card was declined.",
                )),
                "4000000000009995" => Outcome::Declined(decline(
                    "card_declined",
                    Some("insufficient_funds"),
                    "Your card has insufficient funds.",
                )),
                "4000000000000069" => Outcome::Declined(decline(
                    "expired_card",
                    Some("expired_card"),
                    "Your card has expired.",
                )),
                "4000000000000127" => Outcome::Declined(decline(
                    "incorrect_cvc",
                    Some("incorrect_cvc"),
                    "Your card's security code is incorrect.",
                )),
                _ => Outcome::Declined(decline(
                    "card_declined",
                    Some("test_mode_live_card"),
                    "Your card was declined: a real card was used in test mode.",
                )),
            },
            Charge::MobileMoney { phone, .. } => {
                if phone.ends_with("0000") {
                    Outcome::Pending {
                        after: self.momo_delay,
                        then: Settlement::Succeed,
                    }
                } else if phone.ends_with("0001") {
                    Outcome::Pending {
                        after: self.momo_delay,
                        then: Settlement::Fail(decline(
                            "card_declined",
                            Some("insufficient_funds"),
                            "The mobile money account has insufficient funds.",
                        )),
                    }
                } else if phone.ends_with("0002") {
                    Outcome::Succeeded
                } else {
                    Outcome::Declined(decline(
                        "card_declined",
                        Some("generic_decline"),
                        "The mobile money payment was declined.",
                    ))
                }
            }
        }
    }
}
