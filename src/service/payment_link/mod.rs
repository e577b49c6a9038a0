//! Payment links (SPEC §12): create, read, list, update, and the public
//! visit that makes a checkout session for each customer.
mod visit;

use entity::payment_link as pl;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TryIntoModel};

use crate::AppState;
use crate::db::Unique;
use crate::domain::payment_link::{LinkItem, NewPaymentLink, PaymentLinkUpdate};
use crate::domain::principal::{Principal, Scope};
use crate::domain::{PaymentLinkId, ids, locale};
use crate::error::{Error, Result};
use crate::service::paging::{just_newer_page, limit_of, newer_than, newest_page, older_than};
use crate::service::stored;

pub use visit::{Gone, Visit, visit};

#[tracing::instrument(skip_all, fields(merchant = %p.merchant_id, livemode = p.livemode))]
pub async fn create(
    state: &AppState,
    p: &Principal,
    cmd: impl TryInto<NewPaymentLink, Error = Error>,
) -> Result<pl::Model> {
    p.require(Scope::Write)?;
    let cmd = cmd.try_into()?;
    let now = state.clock.now();
    cmd.after_completion.check_context(p.livemode)?;
    if cmd.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid(
            "expires_at",
            "expires_at must be in the future.",
        ));
    }
    let methods: Vec<&str> = cmd
        .payment_method_types
        .iter()
        .map(|m| m.as_str())
        .collect();
    let row = pl::ActiveModel {
        id: Set(PaymentLinkId::trusted(ids::payment_link_id(
            state.clock.now_ms(),
        ))),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        active: Set(true),
        currency: Set(cmd.currency),
        line_items: Set(stored::encode(&cmd.items, "payment_links.line_items")?),
        payment_method_types: Set(methods.join(",")),
        locale: Set(locale::resolve(cmd.locale.as_deref()).into()),
        metadata: Set(stored::encode(&cmd.metadata, "payment_links.metadata")?),
        after_completion: Set(stored::encode(
            &cmd.after_completion,
            "payment_links.after_completion",
        )?),
        completed_limit: Set(cmd.completed_limit),
        taken: Set(0),
        completed_sessions: Set(0),
        volume: Set(0),
        expires_at: Set(cmd.expires_at),
        created: Set(now),
    };
    let model = row
        .clone()
        .try_into_model()
        .map_err(|e| Error::Internal(e.to_string()))?;
    state
        .writer
        .one(|c| async move { pl::Entity::insert(row).exec_without_returning(&c).await })
        .await?;
    Ok(model)
}

fn owned(p: &Principal, id: &PaymentLinkId) -> sea_orm::Select<pl::Entity> {
    pl::Entity::find_by_id(id)
        .filter(pl::Column::MerchantId.eq(&p.merchant_id))
        .filter(pl::Column::Livemode.eq(p.livemode))
}

/// A link of this merchant and mode, or `404`.
pub async fn get(state: &AppState, p: &Principal, id: &PaymentLinkId) -> Result<pl::Model> {
    p.require(Scope::Read)?;
    owned(p, id)
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("payment_link", id))
}

/// Links of the caller (optionally only active or inactive ones), newest first.
pub async fn list(
    state: &AppState,
    p: &Principal,
    active: Option<bool>,
    limit: Option<i64>,
    starting_after: Option<&str>,
    ending_before: Option<&str>,
) -> Result<(Vec<pl::Model>, bool)> {
    p.require(Scope::Read)?;
    let limit = limit_of(limit)?;
    let mut find = pl::Entity::find()
        .filter(pl::Column::MerchantId.eq(&p.merchant_id))
        .filter(pl::Column::Livemode.eq(p.livemode));
    if let Some(a) = active {
        find = find.filter(pl::Column::Active.eq(a));
    }
    let cursor = |param: &'static str, id: &str| {
        let id = id.to_string();
        async move {
            let no_such = || Error::invalid(param, "No such payment link for this cursor.");
            let id = PaymentLinkId::parse(&id).ok_or_else(no_such)?;
            owned(p, &id).unique(&state.db).await?.ok_or_else(no_such)
        }
    };
    if let Some(before) = ending_before {
        let c = cursor("ending_before", before).await?;
        let find = find.filter(newer_than(
            pl::Column::Created,
            pl::Column::Id,
            c.created,
            &c.id,
        ));
        return just_newer_page(&state.db, find, pl::Column::Created, pl::Column::Id, limit).await;
    }
    if let Some(after) = starting_after {
        let c = cursor("starting_after", after).await?;
        find = find.filter(older_than(
            pl::Column::Created,
            pl::Column::Id,
            c.created,
            &c.id,
        ));
    }
    newest_page(&state.db, find, pl::Column::Created, pl::Column::Id, limit).await
}

/// Changes `active`, `metadata`, `after_completion` or the limit.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &PaymentLinkId,
    change: impl TryInto<PaymentLinkUpdate, Error = Error>,
) -> Result<pl::Model> {
    p.require(Scope::Write)?;
    let change = change.try_into()?;
    get(state, p, id).await?;
    if let Some(a) = &change.after_completion {
        a.check_context(p.livemode)?;
    }
    let mut q = pl::Entity::update_many()
        .filter(pl::Column::Id.eq(id))
        .filter(pl::Column::MerchantId.eq(&p.merchant_id));
    if let Some(a) = change.active {
        q = q.col_expr(pl::Column::Active, Expr::value(a));
    }
    if let Some(m) = &change.metadata {
        q = q.col_expr(
            pl::Column::Metadata,
            Expr::value(stored::encode(m, "payment_links.metadata")?),
        );
    }
    if let Some(a) = &change.after_completion {
        q = q.col_expr(
            pl::Column::AfterCompletion,
            Expr::value(stored::encode(a, "payment_links.after_completion")?),
        );
    }
    if let Some(l) = change.completed_limit {
        q = q.col_expr(pl::Column::CompletedLimit, Expr::value(l));
    }
    let changed = change.active.is_some()
        || change.metadata.is_some()
        || change.after_completion.is_some()
        || change.completed_limit.is_some();
    if changed {
        state
            .writer
            .one(|c| async move { q.exec(&c).await })
            .await?;
    }
    get(state, p, id).await
}

/// A page of a link's line items, in order.
pub async fn line_items(
    state: &AppState,
    p: &Principal,
    id: &PaymentLinkId,
    limit: Option<i64>,
    starting_after: Option<&str>,
    ending_before: Option<&str>,
) -> Result<(pl::Model, Vec<LinkItem>, bool)> {
    let limit = limit_of(limit)? as usize;
    let link = get(state, p, id).await?;
    let items = stored::link_items(&link)?;
    let position = |param: &'static str, item: &str| {
        items
            .iter()
            .position(|i| i.id == item)
            .ok_or_else(|| Error::invalid(param, "No such line item in this payment link."))
    };
    let (from, to) = match (starting_after, ending_before) {
        (_, Some(b)) => {
            let end = position("ending_before", b)?;
            (end.saturating_sub(limit), end)
        }
        (Some(a), None) => {
            let start = position("starting_after", a)? + 1;
            (start, (start + limit).min(items.len()))
        }
        (None, None) => (0, limit.min(items.len())),
    };
    let has_more = if ending_before.is_some() {
        from > 0
    } else {
        to < items.len()
    };
    let page = items[from..to].to_vec();
    Ok((link, page, has_more))
}

/// Whether link `id` exists (its QR code is public, like the link).
pub async fn exists(state: &AppState, id: &PaymentLinkId) -> Result<bool> {
    Ok(pl::Entity::find_by_id(id)
        .unique(&state.db)
        .await?
        .is_some())
}

/// The confirmation message of a paid session's link: `Some(message)` when
/// the link shows our confirmation page, `None` when it redirects.
pub async fn confirmation(state: &AppState, id: &PaymentLinkId) -> Result<Option<Option<String>>> {
    let Some(link) = pl::Entity::find_by_id(id).unique(&state.db).await? else {
        return Ok(None);
    };
    Ok(match stored::after_completion(&link)? {
        crate::domain::payment_link::AfterCompletion::HostedConfirmation { custom_message } => {
            Some(custom_message)
        }
        crate::domain::payment_link::AfterCompletion::Redirect { .. } => None,
    })
}
