//! SeaORM entities, one module per table. Shapes only: rules live in the
//! service layer of the root crate, wire types in its `rest`/`graphql` modules.
pub mod api_key;
pub mod checkout_session;
pub mod connector;
pub mod currency;
pub mod daily_stat;
pub mod event;
pub mod idempotency_key;
pub mod line_item;
pub mod merchant;
pub mod payment;
pub mod payment_intent;
pub mod payment_link;
pub mod provider_attempt;
pub mod provider_notification;
pub mod refund;
pub mod session_count;
pub mod subscription;
pub mod test_processor_attempt;
pub mod types;
pub mod webhook_delivery;
pub mod webhook_endpoint;
