//! Queries: thin resolvers over the service layer. Unknown or foreign ids are `null`.
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::page::{MAX_PAGE, PageInfo};
use super::scalars::{DateTime, Money, SignedMoney};
use super::types::{
    CheckoutMode, CheckoutSession, CheckoutSessionStatus, PaymentIntent, Subscription,
};
use super::{app, gql, principal};
use crate::domain::{Amount, CheckoutSessionId, PaymentIntentId, SubscriptionId};
use crate::error::Error;
use crate::service::checkout::{self, PageRequest, SessionFilter};
use crate::service::{payment, stats, subscription};

#[derive(Default)]
pub struct CoreQuery;

#[derive(InputObject, Default)]
pub struct CheckoutSessionFilter {
    pub status: Option<CheckoutSessionStatus>,
    pub mode: Option<CheckoutMode>,
    pub currency: Option<String>,
    /// Inclusive.
    pub created_after: Option<DateTime>,
    /// Inclusive.
    pub created_before: Option<DateTime>,
    /// An id (session or payment intent), `clientReferenceId` or `customerEmail`.
    pub search: Option<String>,
    /// Sessions made by this payment link (`plink_…`).
    pub payment_link: Option<ID>,
}

impl TryFrom<CheckoutSessionFilter> for SessionFilter {
    type Error = Error;

    /// The input typed once: its enums are the domain's, its currency parsed.
    fn try_from(f: CheckoutSessionFilter) -> std::result::Result<Self, Error> {
        Ok(SessionFilter {
            status: f.status.map(Into::into),
            mode: f.mode.map(Into::into),
            currency: crate::service::paging::currency_filter(f.currency.as_deref())?,
            created_gte: f.created_after.map(|d| d.0),
            created_lte: f.created_before.map(|d| d.0),
            search: f.search,
            payment_link: f
                .payment_link
                .as_ref()
                .map(|id| checkout::payment_link_param(id))
                .transpose()?,
            ..Default::default()
        })
    }
}

#[derive(SimpleObject)]
pub struct CheckoutSessionEdge {
    /// Opaque; stable under inserts.
    pub cursor: String,
    pub node: CheckoutSession,
}

/// A Relay connection of sessions, newest first.
pub struct CheckoutSessionConnection {
    edges: Vec<CheckoutSessionEdge>,
    page_info: PageInfo,
    filter: SessionFilter,
    /// One COUNT per connection, however many aliases select `totalCount`.
    total: tokio::sync::OnceCell<u64>,
}

#[Object]
impl CheckoutSessionConnection {
    async fn edges(&self) -> &[CheckoutSessionEdge] {
        &self.edges
    }
    async fn nodes(&self) -> Vec<&CheckoutSession> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// Every session matching the filter (one COUNT, only when selected).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        self.total
            .get_or_try_init(|| checkout::count(state, p, &self.filter))
            .await
            .copied()
            .map_err(gql)
    }
}

#[derive(SimpleObject)]
pub struct MoneyAmount {
    pub currency: String,
    pub amount: Money,
}

#[derive(SimpleObject)]
pub struct StatusCounts {
    pub open: i64,
    pub complete: i64,
    pub expired: i64,
}

#[derive(SimpleObject)]
pub struct DayStat {
    /// Start of the UTC day.
    pub date: DateTime,
    pub created: i64,
    pub completed: i64,
    pub gross_volume: Vec<MoneyAmount>,
    /// Succeeded refunds requested that day.
    pub refunded_volume: Vec<MoneyAmount>,
    /// Gross less refunded; negative on a day refunds exceed payments.
    pub net_volume: Vec<NetAmount>,
}

/// A net amount per currency, in minor units; may be negative.
#[derive(SimpleObject)]
pub struct NetAmount {
    pub currency: String,
    pub amount: SignedMoney,
}

#[derive(SimpleObject)]
pub struct CheckoutStats {
    pub from: DateTime,
    pub to: DateTime,
    /// Sessions created in the range.
    pub created: i64,
    pub counts: StatusCounts,
    /// Paid sessions, per currency.
    pub gross_volume: Vec<MoneyAmount>,
    /// Succeeded refunds requested in the range, per currency.
    pub refunded_volume: Vec<MoneyAmount>,
    /// Gross less refunded, per currency.
    pub net_volume: Vec<NetAmount>,
    /// complete / created, 0–1.
    pub conversion_rate: f64,
    pub series: Vec<DayStat>,
}

fn net_volumes(v: Vec<stats::Volume>) -> Vec<NetAmount> {
    v.into_iter()
        .map(|v| NetAmount {
            currency: v.currency,
            amount: SignedMoney(v.amount),
        })
        .collect()
}

/// Volumes are sums of non-negative amounts; anything else is a bug, said so.
fn volumes(v: Vec<stats::Volume>) -> Result<Vec<MoneyAmount>> {
    v.into_iter()
        .map(|v| {
            let amount = Amount::new(v.amount)
                .ok_or_else(|| gql(Error::Internal(format!("negative volume {}", v.amount))))?;
            Ok(MoneyAmount {
                currency: v.currency,
                amount: Money(amount),
            })
        })
        .collect()
}

/// What one connection costs besides its nodes (a page query and maybe a
/// COUNT): a thousand aliases of `checkoutSessions` exceed the complexity
/// limit instead of running a thousand queries.
const CONNECTION_COST: usize = 50;

#[Object]
impl CoreQuery {
    async fn checkout_session(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CheckoutSession>> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        let Some(id) = CheckoutSessionId::parse(&id) else {
            return Ok(None);
        };
        // A query never writes: a due session reads as expired (`read`).
        match checkout::read(state, p, &id).await {
            Ok(v) => Ok(Some(CheckoutSession::from_view(v))),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Newest first. `first`/`after` page to older sessions, `last`/`before` to newer ones; at most 100 per page.
    #[graphql(
        complexity = "first.or(last).unwrap_or(10).clamp(0, MAX_PAGE) as usize * child_complexity + CONNECTION_COST"
    )]
    pub async fn checkout_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CheckoutSessionFilter>,
    ) -> Result<CheckoutSessionConnection> {
        let (state, p) = (app(ctx)?, principal(ctx)?);
        for (name, v) in [("first", first), ("last", last)] {
            if v.is_some_and(|n| !(1..=MAX_PAGE).contains(&n)) {
                return Err(gql(Error::invalid(
                    name,
                    "Page size must be between 1 and 100.",
                )));
            }
        }
        if first.is_some() && last.is_some() {
            return Err(gql(Error::invalid("last", "Use first or last, not both.")));
        }
        let backwards = last.is_some() || (before.is_some() && first.is_none());
        let req = PageRequest {
            limit: Some(i64::from(first.or(last).unwrap_or(10))),
            starting_after: after.clone(),
            ending_before: before.clone(),
            from_end: backwards && before.is_none(),
        };
        let filter = SessionFilter::try_from(filter.unwrap_or_default()).map_err(gql)?;
        let (rows, has_more) = checkout::page(state, p, &filter, &req).await.map_err(gql)?;
        let now = state.clock.now();
        let edges: Vec<CheckoutSessionEdge> = rows
            .into_iter()
            .map(|m| CheckoutSessionEdge {
                cursor: m.id.to_string(),
                node: CheckoutSession::new(m, now),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: if backwards {
                before.is_some()
            } else {
                has_more
            },
            has_previous_page: if backwards { has_more } else { after.is_some() },
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(CheckoutSessionConnection {
            edges,
            page_info,
            filter,
            total: tokio::sync::OnceCell::new(),
        })
    }

    /// `from` inclusive, `to` exclusive; the series is by UTC day.
    async fn checkout_stats(
        &self,
        ctx: &Context<'_>,
        from: DateTime,
        to: DateTime,
        currency: Option<String>,
    ) -> Result<CheckoutStats> {
        let s = stats::checkout_stats(
            app(ctx)?,
            principal(ctx)?,
            from.0,
            to.0,
            currency.as_deref(),
        )
        .await
        .map_err(gql)?;
        Ok(CheckoutStats {
            from: DateTime(s.from),
            to: DateTime(s.to),
            created: s.created,
            counts: StatusCounts {
                open: s.open,
                complete: s.complete,
                expired: s.expired,
            },
            gross_volume: volumes(s.gross_volume)?,
            refunded_volume: volumes(s.refunded)?,
            net_volume: net_volumes(s.net_volume),
            conversion_rate: s.conversion_rate,
            series: s
                .series
                .into_iter()
                .map(|d| {
                    Ok(DayStat {
                        date: DateTime(d.day),
                        created: d.created,
                        completed: d.completed,
                        gross_volume: volumes(d.gross_volume)?,
                        refunded_volume: volumes(d.refunded)?,
                        net_volume: net_volumes(d.net_volume),
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    async fn payment_intent(&self, ctx: &Context<'_>, id: ID) -> Result<Option<PaymentIntent>> {
        let Some(id) = PaymentIntentId::parse(&id) else {
            return Ok(None);
        };
        match payment::get_intent(app(ctx)?, principal(ctx)?, &id).await {
            Ok(i) => Ok(Some(PaymentIntent(i))),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    async fn subscription(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Subscription>> {
        let state = app(ctx)?;
        let Some(id) = SubscriptionId::parse(&id) else {
            return Ok(None);
        };
        match subscription::get(state, principal(ctx)?, &id).await {
            Ok((s, _)) => Ok(Some(Subscription(s, state.clock.now()))),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }
}
