//! Payment links in GraphQL (SPEC §12): `paymentLinks`, `paymentLink(id)`
//! with its sessions and totals, `createPaymentLink`, `updatePaymentLink`.
//! The same service functions, and so the same rules, as REST.
use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use entity::payment_link as pl;

use super::page::{MAX_PAGE, PageInfo};
use super::query::{CheckoutSessionConnection, CheckoutSessionFilter, CoreQuery};
use super::scalars::{DateTime, Money, SignedMoney};
use super::types::PaymentMethodType;
use super::{app, gql, principal};
use crate::domain::PaymentLinkId;
use crate::domain::payment_link::{AfterCompletion, NewPaymentLink, PaymentLinkUpdate};
use crate::error::Error;
use crate::service::{payment_link, stored};
use crate::wire::{
    AfterCompletionInput, CompletedSessionsInput, CreatePaymentLinkRequest, CustomAmountInput,
    HostedConfirmationInput, PaymentLinkLineItemInput, RedirectInput, RestrictionsInput,
    UpdatePaymentLinkRequest,
};

pub struct PaymentLink(pl::Model);

/// Where the customer goes once paid.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum AfterCompletionType {
    /// To the merchant's URL.
    Redirect,
    /// Our confirmation page, with the merchant's message.
    HostedConfirmation,
}

impl From<AfterCompletionType> for crate::wire::AfterCompletionType {
    fn from(t: AfterCompletionType) -> Self {
        match t {
            AfterCompletionType::Redirect => crate::wire::AfterCompletionType::Redirect,
            AfterCompletionType::HostedConfirmation => {
                crate::wire::AfterCompletionType::HostedConfirmation
            }
        }
    }
}

#[derive(SimpleObject)]
pub struct CustomAmountBounds {
    pub minimum: Money,
    pub maximum: Money,
    pub preset: Option<Money>,
}

#[derive(SimpleObject)]
pub struct PaymentLinkItem {
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
    /// Null for a custom amount.
    pub amount: Option<Money>,
    pub quantity: i32,
    pub currency: String,
    pub custom_amount: Option<CustomAmountBounds>,
}

fn money(minor: i64) -> Option<Money> {
    crate::domain::Amount::new(minor).map(Money)
}

#[Object]
impl PaymentLink {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The public link (its QR code: `{url}/qr.svg`).
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(app(ctx)?.config.payment_link_url(&self.0.id))
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
    async fn line_items(&self) -> Result<Vec<PaymentLinkItem>> {
        let items = stored::link_items(&self.0).map_err(gql)?;
        Ok(items
            .into_iter()
            .map(|i| PaymentLinkItem {
                id: ID(i.id),
                name: i.name,
                description: i.description,
                amount: i.amount.and_then(money),
                quantity: i32::try_from(i.quantity).unwrap_or(i32::MAX),
                currency: self.0.currency.code().to_string(),
                custom_amount: i.custom_amount.map(|c| CustomAmountBounds {
                    minimum: Money(
                        crate::domain::Amount::new(c.minimum)
                            .unwrap_or(crate::domain::Amount::ZERO),
                    ),
                    maximum: Money(
                        crate::domain::Amount::new(c.maximum)
                            .unwrap_or(crate::domain::Amount::ZERO),
                    ),
                    preset: c.preset.and_then(money),
                }),
            })
            .collect())
    }
    async fn payment_method_types(&self) -> Result<Vec<PaymentMethodType>> {
        Ok(stored::link_payment_methods(&self.0)
            .map_err(gql)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
    async fn locale(&self) -> &str {
        &self.0.locale
    }
    async fn metadata(&self) -> Result<Json<BTreeMap<String, String>>> {
        Ok(Json(stored::link_metadata(&self.0).map_err(gql)?))
    }
    /// `REDIRECT` or `HOSTED_CONFIRMATION`.
    async fn after_completion_type(&self) -> Result<AfterCompletionType> {
        Ok(match stored::after_completion(&self.0).map_err(gql)? {
            AfterCompletion::Redirect { .. } => AfterCompletionType::Redirect,
            AfterCompletion::HostedConfirmation { .. } => AfterCompletionType::HostedConfirmation,
        })
    }
    async fn redirect_url(&self) -> Result<Option<String>> {
        Ok(match stored::after_completion(&self.0).map_err(gql)? {
            AfterCompletion::Redirect { url } => Some(url),
            AfterCompletion::HostedConfirmation { .. } => None,
        })
    }
    async fn confirmation_message(&self) -> Result<Option<String>> {
        Ok(match stored::after_completion(&self.0).map_err(gql)? {
            AfterCompletion::HostedConfirmation { custom_message } => custom_message,
            AfterCompletion::Redirect { .. } => None,
        })
    }
    /// At most this many sessions may be paid.
    async fn completed_sessions_limit(&self) -> Option<i32> {
        self.0.completed_limit
    }
    /// Paid sessions so far.
    async fn completed_sessions(&self) -> i64 {
        self.0.completed_sessions
    }
    /// What they collected, minor units.
    async fn amount_collected(&self) -> SignedMoney {
        SignedMoney(self.0.volume)
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created)
    }
    /// The sessions this link made, newest first.
    #[graphql(
        complexity = "first.unwrap_or(10).clamp(0, MAX_PAGE) as usize * child_complexity + 50"
    )]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CheckoutSessionConnection> {
        let filter = CheckoutSessionFilter {
            payment_link: Some(ID(self.0.id.to_string())),
            ..Default::default()
        };
        CoreQuery
            .checkout_sessions(ctx, first, after, None, None, Some(filter))
            .await
    }
}

#[derive(SimpleObject)]
pub struct PaymentLinkConnection {
    pub nodes: Vec<PaymentLink>,
    pub page_info: PageInfo,
}

#[derive(Default)]
pub struct PaymentLinkQuery;

#[Object]
impl PaymentLinkQuery {
    /// Newest first; `after` pages to older links; at most 100 per page.
    #[graphql(
        complexity = "first.unwrap_or(10).clamp(0, MAX_PAGE) as usize * child_complexity + 50"
    )]
    async fn payment_links(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        active: Option<bool>,
    ) -> Result<PaymentLinkConnection> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        let (rows, has_more) = payment_link::list(
            state,
            p,
            active,
            Some(i64::from(first.unwrap_or(10))),
            after.as_deref(),
            None,
        )
        .await
        .map_err(gql)?;
        let page_info = PageInfo {
            has_next_page: has_more,
            has_previous_page: after.is_some(),
            start_cursor: rows.first().map(|l| l.id.to_string()),
            end_cursor: rows.last().map(|l| l.id.to_string()),
        };
        Ok(PaymentLinkConnection {
            nodes: rows.into_iter().map(PaymentLink).collect(),
            page_info,
        })
    }

    async fn payment_link(&self, ctx: &Context<'_>, id: ID) -> Result<Option<PaymentLink>> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        let Some(id) = PaymentLinkId::parse(&id) else {
            return Ok(None);
        };
        match payment_link::get(state, p, &id).await {
            Ok(l) => Ok(Some(PaymentLink(l))),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }
}

#[derive(InputObject)]
pub struct CustomAmountIn {
    pub minimum: Option<Money>,
    pub maximum: Option<Money>,
    pub preset: Option<Money>,
}

#[derive(InputObject)]
pub struct PaymentLinkItemIn {
    pub name: String,
    /// Unit amount in minor units; or `customAmount`.
    pub amount: Option<Money>,
    pub custom_amount: Option<CustomAmountIn>,
    pub currency: String,
    pub quantity: Option<i32>,
    pub description: Option<String>,
    pub images: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AfterCompletionIn {
    pub r#type: AfterCompletionType,
    /// For `REDIRECT`.
    pub redirect_url: Option<String>,
    /// For `HOSTED_CONFIRMATION`.
    pub confirmation_message: Option<String>,
}

#[derive(InputObject)]
pub struct CreatePaymentLinkInput {
    pub line_items: Vec<PaymentLinkItemIn>,
    pub payment_method_types: Option<Vec<PaymentMethodType>>,
    pub locale: Option<String>,
    pub metadata: Option<Json<BTreeMap<String, String>>>,
    pub after_completion: Option<AfterCompletionIn>,
    /// At most this many sessions may be paid.
    pub completed_sessions_limit: Option<i32>,
    pub expires_at: Option<DateTime>,
}

#[derive(InputObject)]
pub struct UpdatePaymentLinkInput {
    pub active: Option<bool>,
    pub metadata: Option<Json<BTreeMap<String, String>>>,
    pub after_completion: Option<AfterCompletionIn>,
    pub completed_sessions_limit: Option<i32>,
}

fn after_completion_shape(a: AfterCompletionIn) -> AfterCompletionInput {
    AfterCompletionInput {
        r#type: Some(a.r#type.into()),
        redirect: a.redirect_url.map(|url| RedirectInput { url: Some(url) }),
        hosted_confirmation: a.confirmation_message.map(|m| HostedConfirmationInput {
            custom_message: Some(m),
        }),
    }
}

fn restrictions_shape(limit: Option<i32>) -> Option<RestrictionsInput> {
    limit.map(|l| RestrictionsInput {
        completed_sessions: Some(CompletedSessionsInput {
            limit: Some(i64::from(l)),
        }),
    })
}

/// The GraphQL input as the REST body: one set of rules (`wire::link_commands`).
impl TryFrom<CreatePaymentLinkInput> for NewPaymentLink {
    type Error = Error;
    fn try_from(i: CreatePaymentLinkInput) -> std::result::Result<Self, Error> {
        let req = CreatePaymentLinkRequest {
            line_items: Some(
                i.line_items
                    .into_iter()
                    .map(|it| PaymentLinkLineItemInput {
                        name: Some(it.name),
                        amount: it.amount.map(|m| m.0.minor()),
                        custom_amount: it.custom_amount.map(|c| CustomAmountInput {
                            minimum: c.minimum.map(|m| m.0.minor()),
                            maximum: c.maximum.map(|m| m.0.minor()),
                            preset: c.preset.map(|m| m.0.minor()),
                        }),
                        currency: Some(it.currency),
                        quantity: it.quantity.map(i64::from),
                        description: it.description,
                        images: it.images,
                    })
                    .collect(),
            ),
            payment_method_types: i
                .payment_method_types
                .map(|v| v.into_iter().map(Into::into).collect()),
            locale: i.locale,
            metadata: i.metadata.map(|m| m.0),
            after_completion: i.after_completion.map(after_completion_shape),
            restrictions: restrictions_shape(i.completed_sessions_limit),
            expires_at: i.expires_at.map(|d| d.0),
        };
        NewPaymentLink::try_from(&req)
    }
}

impl TryFrom<UpdatePaymentLinkInput> for PaymentLinkUpdate {
    type Error = Error;
    fn try_from(i: UpdatePaymentLinkInput) -> std::result::Result<Self, Error> {
        let req = UpdatePaymentLinkRequest {
            active: i.active,
            metadata: i.metadata.map(|m| m.0),
            after_completion: i.after_completion.map(after_completion_shape),
            restrictions: restrictions_shape(i.completed_sessions_limit),
        };
        PaymentLinkUpdate::try_from(&req)
    }
}

#[derive(Default)]
pub struct PaymentLinkMutation;

#[Object]
impl PaymentLinkMutation {
    async fn create_payment_link(
        &self,
        ctx: &Context<'_>,
        input: CreatePaymentLinkInput,
    ) -> Result<PaymentLink> {
        let l = payment_link::create(app(ctx)?, principal(ctx)?, input)
            .await
            .map_err(gql)?;
        Ok(PaymentLink(l))
    }

    async fn update_payment_link(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePaymentLinkInput,
    ) -> Result<PaymentLink> {
        let id = PaymentLinkId::parse(&id)
            .ok_or_else(|| gql(Error::not_found("payment_link", id.as_str())))?;
        let l = payment_link::update(app(ctx)?, principal(ctx)?, &id, input)
            .await
            .map_err(gql)?;
        Ok(PaymentLink(l))
    }
}
