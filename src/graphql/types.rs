//! GraphQL object types mirroring the REST objects, camelCase.
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Json, Object, Result, SimpleObject};
use entity::{checkout_session as cs, line_item as li, payment_intent as pi, subscription as sub};

use super::loaders::{IntentLoader, LineItemLoader, SubscriptionLoader};
use super::scalars::{DateTime, Money};
use super::{app, gql};
use crate::service::{checkout, stored, subscription};

// GraphQL's views of the domain enums (`remote`: conversions both ways,
// and a new domain variant fails to compile here until it is named).

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::SessionStatus")]
pub enum CheckoutSessionStatus {
    Open,
    Complete,
    Expired,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::PaymentStatus")]
pub enum PaymentStatus {
    Unpaid,
    Paid,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::Mode")]
pub enum CheckoutMode {
    Payment,
    Subscription,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::IntentStatus")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    Processing,
    Succeeded,
    Canceled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::SubscriptionStatus")]
pub enum SubscriptionStatus {
    Active,
    Canceled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::Interval")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::PaymentMethodKind")]
pub enum PaymentMethodType {
    Card,
    MobileMoney,
}

pub struct CheckoutSession {
    pub model: cs::Model,
    pub status: crate::domain::SessionStatus,
    /// The first items, when the service already loaded them with the session.
    preloaded: Option<Vec<li::Model>>,
}

impl CheckoutSession {
    pub fn new(model: cs::Model, now: i64) -> Self {
        let status = checkout::effective_status(&model, now);
        Self {
            model,
            status,
            preloaded: None,
        }
    }

    /// From a service view: its items are not loaded again.
    pub fn from_view(v: checkout::SessionView) -> Self {
        Self {
            model: v.session,
            status: v.status,
            preloaded: Some(v.items),
        }
    }

    /// The first `first` items, if what was preloaded holds them.
    fn preloaded_items(&self, first: usize) -> Option<Vec<li::Model>> {
        let items = self.preloaded.as_ref()?;
        let all_loaded = items.len() as i64 >= i64::from(self.model.line_item_count);
        (first <= items.len() || all_loaded).then(|| items.iter().take(first).cloned().collect())
    }
}

#[Object]
impl CheckoutSession {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    /// The hosted checkout page.
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(format!(
            "{}/{}",
            app(ctx)?.config.checkout_url,
            self.model.id
        ))
    }
    async fn status(&self) -> CheckoutSessionStatus {
        self.status.into()
    }
    async fn payment_status(&self) -> PaymentStatus {
        self.model.payment_status.into()
    }
    async fn mode(&self) -> CheckoutMode {
        self.model.mode.into()
    }
    async fn currency(&self) -> &str {
        self.model.currency.code()
    }
    async fn amount_subtotal(&self) -> Money {
        Money(self.model.amount_subtotal)
    }
    async fn amount_total(&self) -> Money {
        Money(self.model.amount_total)
    }
    /// Line items in order (batched across sessions).
    async fn line_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<LineItem>> {
        if let Some(items) = self.preloaded_items(first as usize) {
            return Ok(items.into_iter().map(LineItem).collect());
        }
        let loader = ctx.data::<DataLoader<LineItemLoader>>()?;
        let items = loader
            .load_one(self.model.id.to_string())
            .await
            .map_err(gql)?
            .unwrap_or_default();
        Ok(items
            .into_iter()
            .take(first as usize)
            .map(LineItem)
            .collect())
    }
    async fn line_item_count(&self) -> i32 {
        self.model.line_item_count
    }
    async fn payment_intent(&self, ctx: &Context<'_>) -> Result<Option<PaymentIntent>> {
        let loader = ctx.data::<DataLoader<IntentLoader>>()?;
        Ok(loader
            .load_one(self.model.payment_intent_id.to_string())
            .await
            .map_err(gql)?
            .map(PaymentIntent))
    }
    /// Batched: the session already belongs to the caller, so its subscription does too.
    async fn subscription(&self, ctx: &Context<'_>) -> Result<Option<Subscription>> {
        let Some(id) = &self.model.subscription_id else {
            return Ok(None);
        };
        let loader = ctx.data::<DataLoader<SubscriptionLoader>>()?;
        let now = app(ctx)?.clock.now();
        Ok(loader
            .load_one(id.to_string())
            .await
            .map_err(gql)?
            .map(|s| Subscription(s, now)))
    }
    /// This session's events, oldest first (its timeline).
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<super::events::Event>> {
        let loader = ctx.data::<DataLoader<super::loaders::TimelineLoader>>()?;
        Ok(loader
            .load_one(self.model.id.to_string())
            .await
            .map_err(gql)?
            .unwrap_or_default()
            .into_iter()
            .map(super::events::Event)
            .collect())
    }
    async fn success_url(&self) -> &str {
        &self.model.success_url
    }
    async fn cancel_url(&self) -> Option<&str> {
        self.model.cancel_url.as_deref()
    }
    async fn customer_email(&self) -> Option<&str> {
        self.model.customer_email.as_deref()
    }
    async fn client_reference_id(&self) -> Option<&str> {
        self.model.client_reference_id.as_deref()
    }
    /// The payment link whose visit made this session (`plink_…`).
    async fn payment_link(&self) -> Option<async_graphql::ID> {
        self.model
            .payment_link_id
            .as_ref()
            .map(|l| async_graphql::ID(l.to_string()))
    }
    /// String keys and values.
    async fn metadata(&self) -> Result<Json<std::collections::BTreeMap<String, String>>> {
        stored::metadata(&self.model).map(Json).map_err(gql)
    }
    async fn locale(&self) -> &str {
        &self.model.locale
    }
    async fn payment_method_types(&self) -> Result<Vec<PaymentMethodType>> {
        let kinds = stored::payment_methods(&self.model).map_err(gql)?;
        Ok(kinds.into_iter().map(Into::into).collect())
    }
    async fn livemode(&self) -> bool {
        self.model.livemode
    }
    async fn created(&self) -> DateTime {
        DateTime(self.model.created)
    }
    async fn expires_at(&self) -> DateTime {
        DateTime(self.model.expires_at)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.model.completed_at.map(DateTime)
    }
}

pub struct LineItem(pub li::Model);

#[derive(SimpleObject)]
pub struct Recurring {
    pub interval: Interval,
    pub interval_count: i32,
}

#[Object]
impl LineItem {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn images(&self) -> Result<Vec<String>> {
        stored::images(&self.0).map_err(gql)
    }
    /// Unit amount.
    async fn amount(&self) -> Money {
        Money(self.0.amount)
    }
    /// 1–10 000.
    async fn quantity(&self) -> i32 {
        i32::try_from(self.0.quantity).unwrap_or(i32::MAX)
    }
    async fn amount_total(&self) -> Money {
        Money(self.0.amount_total)
    }
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
    async fn recurring(&self) -> Option<Recurring> {
        self.0.recurring_interval.map(|interval| Recurring {
            interval: interval.into(),
            interval_count: self.0.recurring_interval_count.unwrap_or(1),
        })
    }
}

pub struct PaymentIntent(pub pi::Model);

#[derive(SimpleObject)]
pub struct PaymentMethod {
    /// `card`, `mobile_money` or `test_helper`.
    pub r#type: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub exp_month: Option<i32>,
    pub exp_year: Option<i32>,
    pub provider: Option<String>,
    /// Masked, such as `+225******0000`.
    pub phone: Option<String>,
}

#[derive(SimpleObject)]
pub struct LastPaymentError {
    pub r#type: String,
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

#[Object]
impl PaymentIntent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> PaymentIntentStatus {
        self.0.status.into()
    }
    async fn amount(&self) -> Money {
        Money(self.0.amount)
    }
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
    /// Pending and succeeded refunds.
    async fn amount_refunded(&self) -> Money {
        Money(self.0.amount_refunded)
    }
    /// Newest first.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<super::refunds::Refund>> {
        super::refunds::of_intent(ctx, self.0.id.to_string()).await
    }
    async fn checkout_session_id(&self) -> ID {
        ID(self.0.session_id.to_string())
    }
    async fn payment_method(&self) -> Result<Option<PaymentMethod>> {
        let Some(m) = stored::payment_method(&self.0).map_err(gql)? else {
            return Ok(None);
        };
        Ok(Some(PaymentMethod {
            r#type: m.r#type,
            brand: m.brand,
            last4: m.last4,
            exp_month: m.exp_month.map(|v| v as i32),
            exp_year: m.exp_year.map(|v| v as i32),
            provider: m.provider,
            phone: m.phone,
        }))
    }
    async fn last_payment_error(&self) -> Result<Option<LastPaymentError>> {
        let Some(e) = stored::last_payment_error(&self.0).map_err(gql)? else {
            return Ok(None);
        };
        Ok(Some(LastPaymentError {
            r#type: e.r#type,
            code: e.code,
            decline_code: e.decline_code,
            message: e.message,
        }))
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
    async fn created(&self) -> DateTime {
        DateTime(self.0.created)
    }
}

/// A subscription and the time it is read at (for `cancel_at_period_end`).
pub struct Subscription(pub sub::Model, pub i64);

#[Object]
impl Subscription {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> SubscriptionStatus {
        subscription::effective(&self.0, self.1).0.into()
    }
    async fn currency(&self) -> &str {
        self.0.currency.code()
    }
    async fn amount(&self) -> Money {
        Money(self.0.amount)
    }
    async fn interval(&self) -> Interval {
        self.0.recurring_interval.into()
    }
    async fn interval_count(&self) -> i32 {
        self.0.recurring_interval_count
    }
    async fn current_period_start(&self) -> DateTime {
        DateTime(self.0.current_period_start)
    }
    async fn current_period_end(&self) -> DateTime {
        DateTime(self.0.current_period_end)
    }
    async fn cancel_at_period_end(&self) -> bool {
        self.0.cancel_at_period_end
    }
    async fn canceled_at(&self) -> Option<DateTime> {
        subscription::effective(&self.0, self.1).1.map(DateTime)
    }
    async fn checkout_session_id(&self) -> ID {
        ID(self.0.session_id.to_string())
    }
    async fn livemode(&self) -> bool {
        self.0.livemode
    }
}
