//! Live updates, fed by the service layer's event bus after each commit.
use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::types::CheckoutSession;
use super::{app, gql, principal};
use crate::auth::Scope;
use crate::db::Unique;

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Status changes of one session, or of all the caller's sessions without `id`.
    async fn checkout_session_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> Result<impl Stream<Item = CheckoutSession> + use<>> {
        let p = principal(ctx)?.clone();
        p.require(Scope::Read).map_err(gql)?;
        let state = app(ctx)?.clone();
        let rx = state.events.subscribe();
        let events = futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        });
        let wanted = id.map(|i| i.0);
        Ok(events
            .filter(move |e| {
                let keep = e.merchant_id == p.merchant_id.as_str()
                    && e.livemode == p.livemode
                    && wanted.as_ref().is_none_or(|w| *w == e.session_id);
                async move { keep }
            })
            .filter_map(move |e| {
                let state = state.clone();
                async move {
                    let now = state.clock.now();
                    use sea_orm::EntityTrait;
                    let id = crate::domain::CheckoutSessionId::parse(&e.session_id)?;
                    let s = entity::checkout_session::Entity::find_by_id(id)
                        .unique(&state.db)
                        .await
                        .ok()
                        .flatten()?;
                    Some(CheckoutSession::new(s, now))
                }
            }))
    }
}
