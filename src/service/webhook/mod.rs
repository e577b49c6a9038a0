//! Webhook endpoints (SPEC §5): created, updated, rotated and deleted with
//! a secret API key; their signing secrets are sealed at rest and shown
//! only in the answers to create and rotate.
pub mod delivery;
pub mod wake;

use entity::{event, webhook_delivery as wd, webhook_endpoint as we};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::webhook_url::{WebhookUrl, is_globally_reachable};
use crate::domain::{EnabledEvents, EndpointStatus, EventId, WebhookEndpointId, ids};
use crate::error::{Error, Result};

/// At most this many endpoints per merchant and mode.
pub const MAX_ENDPOINTS: u64 = 16;
/// After a rotation the old secret keeps signing this long.
pub const ROTATION_OVERLAP_SECS: i64 = 86_400;
const MAX_DESCRIPTION: usize = 500;

/// A create request, as the front ends read it.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
}

/// An update: only the given fields change.
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    pub disabled: Option<bool>,
}

/// Whether an endpoint of `livemode` must be on public addresses only:
/// live ones always; test ones unless the deployment lets them reach
/// private networks (`IKAWAARI_WEBHOOK_ALLOW_PRIVATE`, on by default).
pub fn public_only(config: &crate::Config, livemode: bool) -> bool {
    livemode || !config.webhook_allow_private
}

/// Checks a URL for `livemode`: shape, then (where `public_only`) that the
/// host is and resolves only to globally reachable addresses.
pub async fn check_url(state: &AppState, url: &str, livemode: bool) -> Result<WebhookUrl> {
    let u = WebhookUrl::parse(url, livemode).map_err(|m| Error::invalid("url", m))?;
    if public_only(&state.config, livemode) {
        public_addresses(&u)
            .await
            .map_err(|m| Error::invalid("url", m))?;
    }
    Ok(u)
}

/// The addresses a URL reaches, all globally reachable, or why not.
pub async fn public_addresses(u: &WebhookUrl) -> Result<Vec<std::net::SocketAddr>, String> {
    const NOT_PUBLIC: &str = "Webhook endpoints must be on a public address (not loopback, private, link-local or reserved).";
    let addrs: Vec<std::net::SocketAddr> = match u.ip() {
        Some(ip) => vec![std::net::SocketAddr::new(ip, u.port())],
        None => {
            let lookup = tokio::net::lookup_host((u.host(), u.port()));
            match tokio::time::timeout(std::time::Duration::from_secs(5), lookup).await {
                Ok(Ok(a)) => a.collect(),
                _ => return Err("The URL's host does not resolve.".into()),
            }
        }
    };
    if addrs.is_empty() || addrs.iter().any(|a| !is_globally_reachable(a.ip())) {
        return Err(NOT_PUBLIC.into());
    }
    Ok(addrs)
}

fn enabled_events(list: &[String]) -> Result<EnabledEvents> {
    if list.is_empty() {
        return Err(Error::invalid(
            "enabled_events",
            "enabled_events needs at least one event type, or \"*\".",
        ));
    }
    EnabledEvents::parse(list).map_err(|i| {
        Error::invalid(
            format!("enabled_events[{i}]"),
            "Unknown event type; use a type such as checkout.session.completed, or \"*\".",
        )
    })
}

fn description(d: &str) -> Result<String> {
    crate::validation::no_controls("description", d)?;
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(Error::invalid(
            "description",
            "description must be at most 500 characters.",
        ));
    }
    Ok(d.to_string())
}

fn new_secret() -> String {
    format!("whsec_{}", ids::random_token(32))
}

pub async fn create(
    state: &AppState,
    p: &Principal,
    req: NewEndpoint,
) -> Result<(we::Model, String)> {
    p.require_secret_key()?;
    let events = enabled_events(&req.enabled_events)?;
    let description = req.description.as_deref().map(description).transpose()?;
    let url = check_url(state, &req.url, p.livemode).await?;
    let secret = new_secret();
    let sealed = state.config.secrets_key.seal(&secret);
    let endpoint = state
        .writer
        .transaction(|tx| async move {
            one_create_at_a_time(&tx, p).await?;
            let existing = we::Entity::find()
                .filter(we::Column::MerchantId.eq(&p.merchant_id))
                .filter(we::Column::Livemode.eq(p.livemode))
                .count(&tx)
                .await?;
            if existing >= MAX_ENDPOINTS {
                return Err(Error::invalid(
                    "url",
                    "You have reached the maximum of 16 webhook endpoints in this mode.",
                ));
            }
            Ok(we::ActiveModel {
                id: Set(WebhookEndpointId::trusted(ids::new_id("we"))),
                merchant_id: Set(p.merchant_id.clone()),
                livemode: Set(p.livemode),
                url: Set(url.as_str().to_string()),
                enabled_events: Set(events.to_json()),
                description: Set(description),
                status: Set(EndpointStatus::Enabled),
                secret: Set(sealed),
                previous_secret: Set(None),
                previous_secret_expires_at: Set(None),
                failing_since: Set(None),
                unanswered: Set(0),
                breaker_until: Set(None),
                created: Set(state.clock.now()),
            }
            .insert(&tx)
            .await?)
        })
        .await?;
    Ok((endpoint, secret))
}

/// Makes the count and the insert of `create` one step per merchant: on
/// PostgreSQL concurrent transactions count the same 15 and all insert
/// (40 concurrent creates → 19 endpoints), so the merchant's row is locked
/// first (`FOR NO KEY UPDATE`: the inserts of its other rows, which only
/// share its key, go on) and the count, a statement of its own, sees every
/// create committed before. SQLite runs one write at a time already.
async fn one_create_at_a_time(tx: &crate::db::WriteTx, p: &Principal) -> Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    tx.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT "id" FROM "merchants" WHERE "id" = $1 FOR NO KEY UPDATE"#,
        [p.merchant_id.as_str().into()],
    ))
    .await?;
    Ok(())
}

pub async fn list(state: &AppState, p: &Principal) -> Result<Vec<we::Model>> {
    p.require(Scope::Read)?;
    Ok(we::Entity::find()
        .filter(we::Column::MerchantId.eq(&p.merchant_id))
        .filter(we::Column::Livemode.eq(p.livemode))
        .order_by_desc(we::Column::Created)
        .order_by_desc(we::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn get(state: &AppState, p: &Principal, id: &WebhookEndpointId) -> Result<we::Model> {
    p.require(Scope::Read)?;
    we::Entity::find_by_id(id)
        .filter(we::Column::MerchantId.eq(&p.merchant_id))
        .filter(we::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("webhook_endpoint", id))
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &WebhookEndpointId,
    upd: EndpointUpdate,
) -> Result<we::Model> {
    p.require_secret_key()?;
    let current = get(state, p, id).await?;
    let mut a: we::ActiveModel = current.into();
    if let Some(list) = &upd.enabled_events {
        a.enabled_events = Set(enabled_events(list)?.to_json());
    }
    if let Some(d) = &upd.description {
        a.description = Set(Some(description(d)?));
    }
    if let Some(u) = &upd.url {
        a.url = Set(check_url(state, u, p.livemode).await?.as_str().to_string());
        // Another address: what the breaker learnt is about the old one.
        a.unanswered = Set(0);
        a.breaker_until = Set(None);
    }
    if let Some(disabled) = upd.disabled {
        a.status = Set(if disabled {
            EndpointStatus::Disabled
        } else {
            EndpointStatus::Enabled
        });
        // Re-enabling starts the 3-day failure window afresh.
        a.failing_since = Set(None);
    }
    Ok(state
        .writer
        .one(|c| async move { a.update(&c).await })
        .await?)
}

/// Deletes the endpoint and its queued deliveries: nothing more is sent to it.
pub async fn delete(state: &AppState, p: &Principal, id: &WebhookEndpointId) -> Result<()> {
    p.require_secret_key()?;
    get(state, p, id).await?;
    state
        .writer
        .transaction(|tx| async move {
            wd::Entity::delete_many()
                .filter(wd::Column::EndpointId.eq(id))
                .exec(&tx)
                .await?;
            we::Entity::delete_by_id(id).exec(&tx).await?;
            Ok(())
        })
        .await
}

/// A new secret; the current one keeps signing (a second `v1=`) for 24 hours.
pub async fn rotate_secret(
    state: &AppState,
    p: &Principal,
    id: &WebhookEndpointId,
) -> Result<(we::Model, String)> {
    p.require_secret_key()?;
    let current = get(state, p, id).await?;
    let secret = new_secret();
    let previous = current.secret.clone();
    let mut a: we::ActiveModel = current.into();
    a.secret = Set(state.config.secrets_key.seal(&secret));
    a.previous_secret = Set(Some(previous));
    a.previous_secret_expires_at = Set(Some(state.clock.now() + ROTATION_OVERLAP_SECS));
    Ok((
        state
            .writer
            .one(|c| async move { a.update(&c).await })
            .await?,
        secret,
    ))
}

/// The secrets that sign a delivery now: the current one, then the
/// previous one during its overlap.
pub fn signing_secrets(state: &AppState, e: &we::Model) -> Result<Vec<String>> {
    let key = &state.config.secrets_key;
    let unsealed = |s: &str| {
        key.open(s).ok_or_else(|| {
            Error::Internal("a webhook secret does not open with this secrets key".into())
        })
    };
    let mut out = vec![unsealed(&e.secret)?];
    if let (Some(prev), Some(until)) = (&e.previous_secret, e.previous_secret_expires_at)
        && state.clock.now() < until
    {
        out.push(unsealed(prev)?);
    }
    Ok(out)
}

/// Attempts to one endpoint, newest first.
pub async fn deliveries(
    state: &AppState,
    p: &Principal,
    id: &WebhookEndpointId,
    limit: Option<i64>,
    starting_after: Option<&str>,
) -> Result<(Vec<wd::Model>, bool)> {
    get(state, p, id).await?;
    let limit = crate::service::paging::limit_of(limit)?;
    let mut find = wd::Entity::find().filter(wd::Column::EndpointId.eq(id));
    if let Some(after) = starting_after {
        let cursor = wd::Entity::find_by_id(after.to_string())
            .filter(wd::Column::EndpointId.eq(id))
            .unique(&state.db)
            .await?
            .ok_or_else(|| Error::invalid("starting_after", "No such delivery for this cursor."))?;
        find = find.filter(crate::service::paging::older_than(
            wd::Column::Created,
            wd::Column::Id,
            cursor.created,
            cursor.id,
        ));
    }
    crate::service::paging::newest_page(&state.db, find, wd::Column::Created, wd::Column::Id, limit)
        .await
}

/// Recent attempts of several endpoints (GraphQL), newest first, `per` each.
pub async fn recent_deliveries(
    state: &AppState,
    endpoint_ids: &[WebhookEndpointId],
    per: u64,
) -> Result<std::collections::HashMap<WebhookEndpointId, Vec<wd::Model>>> {
    let mut out = std::collections::HashMap::new();
    for id in endpoint_ids {
        let rows = wd::Entity::find()
            .filter(wd::Column::EndpointId.eq(id))
            .order_by_desc(wd::Column::Created)
            .order_by_desc(wd::Column::Id)
            .limit(per)
            .all(&state.db)
            .await?;
        out.insert(id.clone(), rows);
    }
    Ok(out)
}

/// Queues one more delivery of `event` to the endpoint.
pub async fn resend(
    state: &AppState,
    p: &Principal,
    id: &WebhookEndpointId,
    event_id: &str,
) -> Result<wd::Model> {
    p.require_secret_key()?;
    let endpoint = get(state, p, id).await?;
    if endpoint.status != EndpointStatus::Enabled {
        return Err(Error::invalid(
            "event",
            "This endpoint is disabled; enable it before resending.",
        ));
    }
    let unknown = || Error::invalid("event", "No such event.");
    let event_id = EventId::parse(event_id).ok_or_else(unknown)?;
    let e = event::Entity::find_by_id(&event_id)
        .filter(event::Column::MerchantId.eq(&p.merchant_id))
        .filter(event::Column::Livemode.eq(p.livemode))
        .unique(&state.db)
        .await?
        .ok_or_else(unknown)?;
    state
        .writer
        .transaction(|tx| async move {
            let previous = wd::Entity::find()
                .filter(wd::Column::EndpointId.eq(id))
                .filter(wd::Column::EventId.eq(&event_id))
                .select_only()
                .column_as(Expr::col(wd::Column::Attempt).max(), "max")
                .into_tuple::<Option<i32>>()
                .one(&tx)
                .await?
                .flatten()
                .unwrap_or(0);
            let row = delivery::pending_delivery(
                id,
                &event_id,
                &e.r#type,
                e.created,
                previous + 1,
                state.clock.now_ms(),
            )
            .insert(&tx)
            .await?;
            wake::queued_in(state, &tx).await?;
            Ok(row)
        })
        .await
}
