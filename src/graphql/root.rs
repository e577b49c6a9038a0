//! The query root: every query field, merged from the modules that own them
//! (its own file, so the modules it merges never import each other through it).
use super::connectors::ConnectorsQuery;
use super::events::EventsQuery;
use super::links::PaymentLinkQuery;
use super::query::CoreQuery;
use super::refunds::RefundsQuery;

/// Every query field: sessions, stats, intents and subscriptions,
/// events and webhook endpoints, refunds, payment links.
#[derive(async_graphql::MergedObject, Default)]
pub struct QueryRoot(
    CoreQuery,
    EventsQuery,
    RefundsQuery,
    PaymentLinkQuery,
    ConnectorsQuery,
);
