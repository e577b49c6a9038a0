//! Mutations: the same service functions, and so the same validation, as REST.
use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Json, Object, Result};

use super::scalars::{DateTime, Money};
use super::types::{CheckoutMode, CheckoutSession, Interval, PaymentMethodType};
use super::{app, gql, principal};
use crate::domain::CheckoutSessionId;
use crate::domain::checkout::NewCheckoutSession;
use crate::service::checkout;
use crate::wire::{CreateCheckoutSessionRequest, LineItemInput, RecurringInput};

/// Every mutation: sessions here, refunds in `refunds.rs`.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(
    SessionMutation,
    super::refunds::RefundsMutation,
    super::links::PaymentLinkMutation,
);

#[derive(Default)]
pub struct SessionMutation;

#[derive(InputObject)]
pub struct RecurringIn {
    pub interval: Interval,
    pub interval_count: Option<i32>,
}

#[derive(InputObject)]
pub struct LineItemIn {
    pub name: String,
    /// Unit amount in minor units.
    pub amount: Money,
    pub currency: String,
    pub quantity: i32,
    pub description: Option<String>,
    pub images: Option<Vec<String>>,
    pub recurring: Option<RecurringIn>,
}

#[derive(InputObject)]
pub struct CreateCheckoutSessionInput {
    pub line_items: Vec<LineItemIn>,
    pub mode: CheckoutMode,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub currency: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    /// String keys and string values.
    pub metadata: Option<Json<BTreeMap<String, String>>>,
    pub expires_at: Option<DateTime>,
    pub locale: Option<String>,
    pub payment_method_types: Option<Vec<PaymentMethodType>>,
}

/// The GraphQL input becomes the same command as the REST body, by the
/// same rules (`wire::commands`): its fields map onto the shared request
/// shape, whose `TryFrom` holds the rules.
impl TryFrom<CreateCheckoutSessionInput> for NewCheckoutSession {
    type Error = crate::error::Error;

    fn try_from(i: CreateCheckoutSessionInput) -> Result<Self, Self::Error> {
        NewCheckoutSession::try_from(&request_shape(i))
    }
}

fn request_shape(i: CreateCheckoutSessionInput) -> CreateCheckoutSessionRequest {
    CreateCheckoutSessionRequest {
        line_items: Some(
            i.line_items
                .into_iter()
                .map(|it| LineItemInput {
                    name: Some(it.name),
                    amount: Some(it.amount.0.minor()),
                    currency: Some(it.currency),
                    quantity: Some(i64::from(it.quantity)),
                    description: it.description,
                    images: it.images,
                    recurring: it.recurring.map(|r| RecurringInput {
                        interval: Some(r.interval.into()),
                        interval_count: r.interval_count.map(i64::from),
                    }),
                })
                .collect(),
        ),
        mode: Some(i.mode.into()),
        success_url: Some(i.success_url),
        cancel_url: i.cancel_url,
        currency: i.currency,
        customer_email: i.customer_email,
        client_reference_id: i.client_reference_id,
        metadata: i.metadata.map(|m| m.0),
        expires_at: i.expires_at.map(|d| d.0),
        locale: i.locale,
        payment_method_types: i
            .payment_method_types
            .map(|v| v.into_iter().map(Into::into).collect()),
    }
}

#[Object]
impl SessionMutation {
    async fn create_checkout_session(
        &self,
        ctx: &Context<'_>,
        input: CreateCheckoutSessionInput,
    ) -> Result<CheckoutSession> {
        let state = app(ctx)?;
        let v = checkout::create(state, principal(ctx)?, input)
            .await
            .map_err(gql)?;
        Ok(CheckoutSession::from_view(v))
    }

    async fn expire_checkout_session(&self, ctx: &Context<'_>, id: ID) -> Result<CheckoutSession> {
        let state = app(ctx)?;
        let id = CheckoutSessionId::parse(&id).ok_or_else(|| {
            gql(crate::error::Error::not_found(
                "checkout session",
                id.as_str(),
            ))
        })?;
        let v = checkout::expire(state, principal(ctx)?, &id)
            .await
            .map_err(gql)?;
        Ok(CheckoutSession::from_view(v))
    }
}
