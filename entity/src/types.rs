//! The domain's closed sets, as column types: SeaORM `DeriveActiveEnum`
//! over the existing TEXT columns (the stored strings do not change, the
//! migration stays portable), with serde and OpenAPI schemas so the same
//! type goes from the row through the service to REST and GraphQL. A stored
//! value outside the set is a decoding error, never a default.
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Money in integer minor units with checked arithmetic.
/// A non-negative amount in a currency's minor unit.
/// Stored as BIGINT minor units. Only `new` makes one from outside input.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, DeriveValueType, Serialize, ToSchema,
)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn new(minor: i64) -> Option<Amount> {
        (minor >= 0).then_some(Amount(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `self × quantity`, `None` on overflow.
    pub fn times(self, quantity: i64) -> Option<Amount> {
        self.0.checked_mul(quantity).and_then(Amount::new)
    }

    /// `self + other`, `None` on overflow.
    pub fn plus(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
}

/// Declares a string-valued enum: variant = "stored and wire value".
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident $(as $schema:ident)? { $($(#[$vdoc:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum,
            Serialize, Deserialize, ToSchema,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        // Every stored value is the snake_case of its variant (a unit test
        // checks), which is what serde and the OpenAPI schema use.
        #[serde(rename_all = "snake_case")]
        $(#[schema(as = $schema)])?
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[sea_orm(string_value = $value)]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl $name {
            /// The stored and wire form.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }
        }

        impl $name {
            /// The variant stored or sent as `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A checkout session's lifecycle.
    SessionStatus { Open = "open", Complete = "complete", Expired = "expired" }
);

string_enum!(
    /// Whether a checkout session's money has arrived.
    PaymentStatus { Unpaid = "unpaid", Paid = "paid" }
);

string_enum!(
    /// One payment, or the first of a subscription's payments.
    Mode as SessionMode { Payment = "payment", Subscription = "subscription" }
);

string_enum!(
    /// A payment intent's state machine.
    IntentStatus {
        RequiresPaymentMethod = "requires_payment_method",
        Processing = "processing",
        Succeeded = "succeeded",
        Canceled = "canceled",
    }
);

string_enum!(
    /// The outcome of one payment attempt.
    ChargeStatus { Succeeded = "succeeded", Failed = "failed" }
);

string_enum!(
    /// A subscription's state.
    SubscriptionStatus { Active = "active", Canceled = "canceled" }
);

string_enum!(
    /// Billing period unit.
    Interval { Day = "day", Week = "week", Month = "month", Year = "year" }
);

string_enum!(
    /// How a customer pays.
    PaymentMethodKind as PaymentMethodType { Card = "card", MobileMoney = "mobile_money" }
);

string_enum!(
    /// Mobile money operators.
    Provider {
        OrangeMoney = "orange_money",
        MtnMomo = "mtn_momo",
        MoovMoney = "moov_money",
        Wave = "wave",
    }
);

string_enum!(
    /// The providers a connector talks to.
    ConnectorType {
        MtnMomo = "mtn_momo",
        Wave = "wave",
    }
);

string_enum!(
    /// Whether a connector takes payments.
    ConnectorStatus { Enabled = "enabled", Disabled = "disabled" }
);

string_enum!(
    /// Whether an endpoint receives events.
    EndpointStatus as WebhookEndpointStatus { Enabled = "enabled", Disabled = "disabled" }
);

string_enum!(
    /// One webhook attempt: waiting to be sent (or in flight), answered
    /// 2xx, or not.
    DeliveryStatus as WebhookDeliveryStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
);

string_enum!(
    /// A refund's state: `pending` until the processor (or the mobile-money
    /// operator) confirms.
    RefundStatus { Pending = "pending", Succeeded = "succeeded", Failed = "failed" }
);

string_enum!(
    /// Why the merchant refunds.
    RefundReason {
        Duplicate = "duplicate",
        Fraudulent = "fraudulent",
        RequestedByCustomer = "requested_by_customer",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn same<T: Serialize + Copy>(all: &[T], stored: impl Fn(T) -> &'static str) {
        for v in all {
            let wire = serde_json::to_value(v).expect("serializes");
            assert_eq!(wire, stored(*v), "serde and the column disagree");
        }
    }

    #[test]
    fn wire_values_are_the_stored_values() {
        same(SessionStatus::ALL, SessionStatus::as_str);
        same(PaymentStatus::ALL, PaymentStatus::as_str);
        same(Mode::ALL, Mode::as_str);
        same(IntentStatus::ALL, IntentStatus::as_str);
        same(ChargeStatus::ALL, ChargeStatus::as_str);
        same(SubscriptionStatus::ALL, SubscriptionStatus::as_str);
        same(Interval::ALL, Interval::as_str);
        same(PaymentMethodKind::ALL, PaymentMethodKind::as_str);
        same(Provider::ALL, Provider::as_str);
        assert_eq!(
            IntentStatus::parse("requires_payment_method"),
            Some(IntentStatus::RequiresPaymentMethod)
        );
        assert_eq!(SessionStatus::parse("opened"), None);
    }
}

/// Declares a prefixed id type (svix's `create_id_type!`): a column type
/// (TEXT), a wire string, and parsed from outside only by `parse`, which
/// refuses anything that could not be one of ours (wrong prefix, a NUL
/// byte, 10 000 characters) so such an id is an unknown one without a query.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType,
            Serialize, Deserialize, ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// An id from outside (path, query, GraphQL): `None` when it
            /// cannot be one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                (s.starts_with($prefix) && id_chars_ok(s)).then(|| $name(s.to_string()))
            }

            /// An id this service minted.
            pub fn trusted(s: String) -> Self {
                $name(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> sea_orm::Value {
                id.0.clone().into()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl IdKind for $name {
            const KIND: &'static str = $kind;
            fn parse_id(s: &str) -> Option<Self> {
                $name::parse(s)
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> $name {
                id.clone()
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        // Primary keys are never auto-incremented integers.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    };
}

/// What the edges need to parse an id from a path or a GraphQL `ID`.
pub trait IdKind: Sized {
    /// How an unknown one is named in a `404`.
    const KIND: &'static str;
    fn parse_id(s: &str) -> Option<Self>;
}

/// Prefix, `_`, base-62: at most 64 characters.
fn id_chars_ok(s: &str) -> bool {
    (3..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

id_type!(
    /// `cs_test_…` / `cs_live_…`: a capability, it opens the hosted page.
    CheckoutSessionId, "cs_", "checkout session"
);
id_type!(PaymentIntentId, "pi_", "payment_intent");
id_type!(MerchantId, "acct_", "merchant");
id_type!(LineItemId, "li_", "line item");
id_type!(SubscriptionId, "sub_", "subscription");
id_type!(EventId, "evt_", "event");
id_type!(RefundId, "re_", "refund");
id_type!(WebhookEndpointId, "we_", "webhook_endpoint");
id_type!(
    /// `conn_…`: a merchant's account at a payment provider.
    ConnectorId, "conn_", "connector"
);
id_type!(
    /// `plink_…`: public, it is in the link a merchant shares.
    PaymentLinkId, "plink_", "payment_link"
);
