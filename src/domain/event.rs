//! Event types (SPEC §5 "Events") and the `type` filter of the events list.

macro_rules! event_types {
    ($($variant:ident = $value:literal),+ $(,)?) => {
        /// What happened. The wire form is the dotted name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($variant,)+
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $value,)+
                }
            }

            pub fn parse(s: &str) -> Option<EventType> {
                match s {
                    $($value => Some(EventType::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    SessionCompleted = "checkout.session.completed",
    SessionAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded",
    SessionAsyncPaymentFailed = "checkout.session.async_payment_failed",
    SessionExpired = "checkout.session.expired",
    IntentProcessing = "payment_intent.processing",
    IntentSucceeded = "payment_intent.succeeded",
    IntentPaymentFailed = "payment_intent.payment_failed",
    SubscriptionCreated = "customer.subscription.created",
    SubscriptionUpdated = "customer.subscription.updated",
    SubscriptionDeleted = "customer.subscription.deleted",
    RefundCreated = "refund.created",
    RefundUpdated = "refund.updated",
    RefundFailed = "refund.failed",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The events list's `type` filter: one type, or every type under a
/// dotted prefix (`checkout.session.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeFilter {
    Exact(EventType),
    /// The prefix, dot included (`checkout.session.`).
    Prefix(String),
}

impl TypeFilter {
    /// `None` when the filter can match no known type.
    pub fn parse(s: &str) -> Option<TypeFilter> {
        if let Some(prefix) = s.strip_suffix('*') {
            let valid = (prefix.is_empty() || prefix.ends_with('.'))
                && EventType::ALL
                    .iter()
                    .any(|t| t.as_str().starts_with(prefix));
            return valid.then(|| TypeFilter::Prefix(prefix.to_string()));
        }
        EventType::parse(s).map(TypeFilter::Exact)
    }
}

/// What a webhook endpoint subscribes to: `["*"]` or known types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledEvents(Vec<String>);

impl EnabledEvents {
    /// Checks every entry; the error names the first bad index.
    pub fn parse(list: &[String]) -> Result<EnabledEvents, usize> {
        for (i, t) in list.iter().enumerate() {
            if t != "*" && EventType::parse(t).is_none() {
                return Err(i);
            }
        }
        Ok(EnabledEvents(first_of_each(list)))
    }

    /// A stored list (checked when it was stored); one that does not decode
    /// is an error naming the endpoint, never "no events".
    pub fn stored(json: &str, endpoint: &str) -> crate::error::Result<EnabledEvents> {
        serde_json::from_str(json).map(EnabledEvents).map_err(|e| {
            crate::error::Error::Internal(format!(
                "webhook_endpoints.enabled_events of {endpoint} does not decode: {e}"
            ))
        })
    }

    pub fn matches(&self, t: EventType) -> bool {
        self.0.iter().any(|e| e == "*" || e == t.as_str())
    }

    pub fn list(&self) -> &[String] {
        &self.0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

/// `list` without repeats, each kept where it first appears.
pub fn first_of_each<T: Clone + PartialEq>(list: &[T]) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(list.len());
    for t in list {
        if !v.contains(t) {
            v.push(t.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_dropped_wherever_they_are() {
        let list: Vec<String> = ["*", "refund.created", "*", "refund.created"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            EnabledEvents::parse(&list).unwrap().list(),
            ["*", "refund.created"]
        );
        assert!(EnabledEvents::stored("not json", "we_1").is_err());
        assert_eq!(
            EnabledEvents::stored(r#"["refund.created"]"#, "we_1")
                .unwrap()
                .list(),
            ["refund.created"]
        );
    }

    #[test]
    fn type_filters() {
        assert_eq!(
            TypeFilter::parse("checkout.session.*"),
            Some(TypeFilter::Prefix("checkout.session.".into()))
        );
        assert_eq!(
            TypeFilter::parse("*"),
            Some(TypeFilter::Prefix(String::new()))
        );
        assert_eq!(TypeFilter::parse("checkout.sess*"), None);
        assert_eq!(TypeFilter::parse("nope.*"), None);
        assert_eq!(
            TypeFilter::parse("refund.created"),
            Some(TypeFilter::Exact(EventType::RefundCreated))
        );
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
    }

    #[test]
    fn enabled_events() {
        let e = EnabledEvents::parse(&["checkout.session.completed".into()]).unwrap();
        assert!(e.matches(EventType::SessionCompleted));
        assert!(!e.matches(EventType::SessionExpired));
        assert!(
            EnabledEvents::parse(&["*".into()])
                .unwrap()
                .matches(EventType::RefundFailed)
        );
        assert_eq!(EnabledEvents::parse(&["*".into(), "x".into()]), Err(1));
    }
}
