//! The public view of a session: what the hosted page and the pay route see.

use entity::{checkout_session as cs, line_item as li, merchant, payment_intent as pi};
use sea_orm::{
    ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryOrder, QuerySelect, QueryTrait,
    RelationTrait,
};

use super::*;
use crate::AppState;
use crate::db::{Shape, Unique, columns};
use crate::domain::{CheckoutSessionId, MerchantId};
use crate::error::{Error, Result};

/// One statement: the session joined with its intent and its items; the
/// merchant's name comes from a cache (names never change once created).
pub async fn public_view(state: &AppState, id: &CheckoutSessionId) -> Result<PublicView> {
    let (mut session, mut intent, mut items) = session_intent_items(state, id).await?;
    if is_due(&session, state.clock.now()) {
        // The first read past `expires_at` persists the expiry.
        expire_if_due(state, session).await?;
        (session, intent, items) = session_intent_items(state, id).await?;
    }
    let merchant_name = merchant_name(state, &session.merchant_id).await?;
    let status = effective_status(&session, state.clock.now());
    let accepted = crate::service::stored::payment_methods(&session)?;
    let methods = crate::service::connector::methods(
        state,
        &session.merchant_id,
        session.livemode,
        &accepted,
    )
    .await?;
    let next_action = next_action(state, &intent).await?;
    Ok(PublicView {
        session,
        status,
        items,
        merchant_name,
        intent,
        methods,
        next_action,
    })
}

/// A processing intent's wait: a redirect (the provider's payment page),
/// or an approval on the phone (a push, the test processor's included).
async fn next_action(
    state: &AppState,
    intent: &pi::Model,
) -> Result<Option<crate::service::views::NextAction>> {
    use crate::service::views::NextAction;
    if intent.status != crate::domain::IntentStatus::Processing {
        return Ok(None);
    }
    let Some(attempt) = intent.attempt_id.as_deref() else {
        return Ok(None);
    };
    if let Some(row) = crate::service::payment::provider_attempt(state, attempt).await?
        && let Some(url) = row.redirect_url
    {
        return Ok(Some(NextAction::Redirect { url }));
    }
    let provider = intent
        .payment_method
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|m| m.get("provider")?.as_str().map(str::to_string));
    Ok(provider.map(|provider| NextAction::ApproveOnPhone { provider }))
}

/// The session, its intent and all its line items (≤ 100) in one `LEFT
/// JOIN`: a row per item, the session's and intent's columns repeated.
async fn session_intent_items(
    state: &AppState,
    id: &CheckoutSessionId,
) -> Result<(cs::Model, pi::Model, Vec<li::Model>)> {
    static SHAPE: Shape<(CheckoutSessionId,)> =
        Shape::new(|(id,): &(CheckoutSessionId,), backend| {
            let select = columns::<cs::Entity, _>(cs::Entity::find_by_id(id).select_only(), "s_");
            let select = columns::<pi::Entity, _>(select, "p_");
            columns::<li::Entity, _>(select, "i_")
                .join(JoinType::LeftJoin, cs::Relation::PaymentIntent.def())
                .join(JoinType::LeftJoin, cs::Relation::LineItems.def())
                .order_by_asc(li::Column::Position)
                .build(backend)
        });
    let stmt = SHAPE.statement(state.db.get_database_backend(), &(id.clone(),));
    let rows = state
        .db
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|r| {
            Ok((
                cs::Model::from_query_result(r, "s_")?,
                pi::Model::from_query_result_optional(r, "p_")?,
                li::Model::from_query_result_optional(r, "i_")?,
            ))
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    let mut rows = rows.into_iter();
    let (session, intent, first) = rows
        .next()
        .ok_or_else(|| Error::not_found("checkout session", id))?;
    let intent = intent.ok_or_else(|| Error::Internal("session without intent".into()))?;
    let items = first
        .into_iter()
        .chain(rows.filter_map(|(_, _, item)| item))
        .collect();
    Ok((session, intent, items))
}

pub async fn merchant_name(state: &AppState, merchant_id: &MerchantId) -> Result<String> {
    if let Some(name) = state
        .merchant_names
        .read()
        .ok()
        .and_then(|m| m.get(merchant_id.as_str()).cloned())
    {
        return Ok(name);
    }
    let m = merchant::Entity::find_by_id(merchant_id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::Internal("session without merchant".into()))?;
    if let Ok(mut cache) = state.merchant_names.write() {
        cache.insert(m.id.to_string(), m.display_name.clone());
    }
    Ok(m.display_name)
}
