//! Refunds for dashboards: `createRefund`, `refunds`, and a payment
//! intent's refunds. The same service, and so the same rules, as REST.
use std::collections::BTreeMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result};
use entity::refund;

use super::scalars::{DateTime, Money};
use super::{app, gql, principal};
use crate::AppState;
use crate::domain::refund::NewRefund;
use crate::error::Error;
use crate::service::refund as service;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::RefundStatus")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::RefundReason")]
pub enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

pub struct Refund(pub refund::Model);

#[Object]
impl Refund {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn amount(&self) -> Money {
        Money(self.0.amount)
    }
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
    async fn payment_intent_id(&self) -> ID {
        ID(self.0.payment_intent_id.to_string())
    }
    async fn status(&self) -> RefundStatus {
        self.0.status.into()
    }
    async fn reason(&self) -> Option<RefundReason> {
        self.0.reason.map(Into::into)
    }
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    async fn metadata(&self) -> Result<Json<BTreeMap<String, String>>> {
        serde_json::from_str(&self.0.metadata)
            .map(Json)
            .map_err(|e| gql(Error::Internal(format!("refund metadata: {e}"))))
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created)
    }
}

#[derive(InputObject)]
pub struct CreateRefundInput {
    pub payment_intent: ID,
    /// Minor units; default: all that is left to refund.
    pub amount: Option<Money>,
    pub reason: Option<RefundReason>,
    /// String keys and string values.
    pub metadata: Option<Json<BTreeMap<String, String>>>,
}

/// Refunds by payment intent id (intents the request already read).
pub struct RefundLoader(pub AppState);

impl Loader<String> for RefundLoader {
    type Value = Vec<refund::Model>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Self::Value>, Error> {
        service::by_intents(&self.0, keys).await
    }
}

/// A payment intent's refunds, newest first (batched).
pub async fn of_intent(ctx: &Context<'_>, intent_id: String) -> Result<Vec<Refund>> {
    let loader = ctx.data::<DataLoader<RefundLoader>>()?;
    Ok(loader
        .load_one(intent_id)
        .await
        .map_err(gql)?
        .unwrap_or_default()
        .into_iter()
        .map(Refund)
        .collect())
}

#[derive(Default)]
pub struct RefundsQuery;

#[Object]
impl RefundsQuery {
    /// Newest first; `paymentIntent` narrows to one payment; at most 100.
    async fn refunds(
        &self,
        ctx: &Context<'_>,
        payment_intent: Option<ID>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<Refund>> {
        let (rows, _) = service::list(
            app(ctx)?,
            principal(ctx)?,
            payment_intent.as_ref().map(|id| id.as_str()),
            Some(i64::from(first)),
            None,
        )
        .await
        .map_err(gql)?;
        Ok(rows.into_iter().map(Refund).collect())
    }
}

#[derive(Default)]
pub struct RefundsMutation;

#[Object]
impl RefundsMutation {
    async fn create_refund(&self, ctx: &Context<'_>, input: CreateRefundInput) -> Result<Refund> {
        // The REST body's shape and rules apply here too.
        let req = crate::wire::CreateRefundRequest {
            payment_intent: input.payment_intent.0,
            amount: input.amount.map(|m| m.0.minor()),
            reason: input.reason.map(Into::into),
            metadata: input.metadata.map(|m| m.0),
        };
        let mut new = NewRefund::try_from(&req).map_err(gql)?;
        // One refund per key and field: a document may create several.
        new.idempotency_key = ctx
            .data_opt::<super::IdempotencyKey>()
            .map(|k| format!("graphql:{}:{}", ctx.item.node.response_key().node, k.0));
        let r = service::create(app(ctx)?, principal(ctx)?, new)
            .await
            .map_err(gql)?;
        Ok(Refund(r))
    }
}
