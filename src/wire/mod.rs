//! Wire types: what clients send and receive over REST (and what the GraphQL
//! mutations accept). Request DTOs carry the field-shape rules (`validator`);
//! cross-field rules live in the service. `present` builds the answers
//! from the service's read models.
mod checkout;
mod commands;
mod connector;
mod expand;
mod link_commands;
mod payment;
mod payment_link;
pub mod present;
pub mod present_link;
mod refund;
mod webhook;

pub use checkout::*;
pub use connector::*;
pub use expand::*;
pub use payment::*;
pub use payment_link::*;
pub use refund::*;
pub use webhook::*;
