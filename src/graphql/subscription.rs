//! Live updates, fed by the service layer's event bus after each commit.
use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::types::CheckoutSession;
use super::{app, gql, principal};
use crate::auth::Scope;
use crate::service::checkout;

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Status changes of one session, or of all the caller's sessions without `id`.
    async fn checkout_session_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<CheckoutSession>> + use<>> {
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
        let (merchant, livemode) = (p.merchant_id.clone(), p.livemode);
        Ok(events
            .filter(move |e| {
                let keep = e.merchant_id == merchant.as_str()
                    && e.livemode == livemode
                    && wanted.as_ref().is_none_or(|w| *w == e.session_id);
                async move { keep }
            })
            .then(move |e| {
                let (state, p) = (state.clone(), p.clone());
                async move {
                    // Through the service, like every resolver (a read: the
                    // sweeper stores an expiry). An error reaches the client
                    // as this update's error, with its code.
                    let id = crate::domain::CheckoutSessionId::parse(&e.session_id).ok_or_else(
                        || {
                            gql(crate::error::Error::Internal(format!(
                                "session event for a malformed id {:?}",
                                e.session_id
                            )))
                        },
                    )?;
                    let view = checkout::read(&state, &p, &id).await.map_err(gql)?;
                    Ok(CheckoutSession::from_view(view))
                }
            }))
    }
}
