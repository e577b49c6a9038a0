//! Connectors as merchant objects (SPEC §11): create (credentials checked
//! with the provider, then sealed), list, retrieve, update, delete. Managed
//! with a secret key (they hold credentials), read with `payments:read`.
mod instances;
mod notify;

use entity::connector as conn;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

pub use instances::{Instances, instance, methods, notification_url, provider_for};
pub use notify::notify;

use crate::AppState;
use crate::db::Unique;
use crate::domain::principal::{Principal, Scope};
use crate::domain::{ConnectorId, ConnectorStatus, ConnectorType, ids};
use crate::error::{Conflict, Error, Result};
use crate::processor::{mtn_momo, wave};

/// A create, as parsed at the edge.
pub struct NewConnector {
    pub kind: ConnectorType,
    pub credentials: serde_json::Value,
    pub description: Option<String>,
}

/// An update: each `Some` replaces.
#[derive(Default)]
pub struct ConnectorUpdate {
    pub credentials: Option<serde_json::Value>,
    pub disabled: Option<bool>,
    pub description: Option<String>,
}

/// Credentials of either type, typed.
pub enum Credentials {
    MtnMomo(mtn_momo::Credentials),
    Wave(wave::Credentials),
}

impl Credentials {
    /// The `credentials` object of a request: every field a non-empty
    /// string (≤ 256 characters, no control characters), none unknown.
    pub fn parse(kind: ConnectorType, v: &serde_json::Value) -> Result<Credentials> {
        if !v.is_object() {
            return Err(Error::invalid(
                "credentials",
                "credentials must be an object.",
            ));
        }
        check_strings(v, "credentials")?;
        let typed = match kind {
            ConnectorType::MtnMomo => from_value(v).map(Credentials::MtnMomo),
            ConnectorType::Wave => from_value(v).map(Credentials::Wave),
        }?;
        if let Credentials::MtnMomo(c) = &typed {
            let env = c.target_environment.as_str();
            if !env.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::invalid(
                    "credentials.target_environment",
                    "target_environment is a name such as sandbox or mtnivorycoast.",
                ));
            }
        }
        Ok(typed)
    }

    fn sealed(&self, state: &AppState) -> Result<String> {
        let json = match self {
            Credentials::MtnMomo(c) => serde_json::to_string(c),
            Credentials::Wave(c) => serde_json::to_string(c),
        }
        .map_err(|e| Error::Internal(format!("credentials: {e}")))?;
        Ok(state.config.secrets_key.seal(&json))
    }

    /// `{name: "••••<last 4>"}` for every credential (nested ones as `a.b`).
    fn hint(v: &serde_json::Value) -> String {
        fn walk(
            prefix: &str,
            v: &serde_json::Value,
            out: &mut serde_json::Map<String, serde_json::Value>,
        ) {
            if let Some(o) = v.as_object() {
                for (k, x) in o {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, x, out);
                }
            } else if let Some(s) = v.as_str() {
                // The last 4 only of a long enough value: a short one whole
                // would be the secret itself.
                let chars: Vec<char> = s.chars().collect();
                let tail: String = match chars.len() {
                    n if n >= 12 => chars[n - 4..].iter().collect(),
                    _ => String::new(),
                };
                out.insert(prefix.to_string(), format!("••••{tail}").into());
            }
        }
        let mut out = serde_json::Map::new();
        walk("", v, &mut out);
        serde_json::Value::Object(out).to_string()
    }
}

fn from_value<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let path = e.path().to_string();
        let param = if path == "." || path.is_empty() {
            "credentials".to_string()
        } else {
            format!("credentials.{path}")
        };
        let inner = e.into_inner().to_string();
        match inner.strip_prefix("missing field `") {
            Some(rest) => {
                let field = rest.split('`').next().unwrap_or_default();
                let param = if param == "credentials" {
                    format!("credentials.{field}")
                } else {
                    format!("{param}.{field}")
                };
                Error::Validation(vec![crate::error::FieldError::missing(param)])
            }
            None => Error::invalid(param, format!("Invalid credentials: {inner}.")),
        }
    })
}

fn check_strings(v: &serde_json::Value, at: &str) -> Result<()> {
    let Some(o) = v.as_object() else {
        return Ok(());
    };
    for (k, x) in o {
        let param = format!("{at}.{k}");
        match x {
            serde_json::Value::Object(_) => check_strings(x, &param)?,
            serde_json::Value::String(s)
                if !s.trim().is_empty()
                    && s.chars().count() <= 256
                    && !s.chars().any(char::is_control) => {}
            _ => {
                return Err(Error::invalid(
                    param,
                    "Each credential is a non-empty string of at most 256 characters.",
                ));
            }
        }
    }
    Ok(())
}

fn description(d: Option<String>) -> Result<Option<String>> {
    match d {
        Some(d) if d.chars().count() > 500 || d.chars().any(char::is_control) => Err(
            Error::invalid("description", "description must be at most 500 characters."),
        ),
        other => Ok(other),
    }
}

/// Asks the provider whether it takes these credentials: refused →
/// `400 connector_credentials_invalid` (its words); unreachable → `503`.
async fn check(state: &AppState, livemode: bool, creds: &Credentials) -> Result<()> {
    let timeout = state.config.provider_timeout();
    let answer = match creds {
        Credentials::MtnMomo(c) => {
            mtn_momo::MtnMomo::new(&state.config.mtn_momo_base(livemode), c.clone(), timeout)
                .check()
                .await
        }
        Credentials::Wave(c) => {
            wave::Wave::new(&state.config.wave_url, c.clone(), timeout)
                .check()
                .await
        }
    };
    match answer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(words)) => Err(Error::CredentialsInvalid(words)),
        Err(e) => {
            tracing::warn!(error = %e, "connector credentials could not be checked");
            Err(Error::ProcessorUnavailable)
        }
    }
}

pub async fn create(state: &AppState, p: &Principal, req: NewConnector) -> Result<conn::Model> {
    p.require_secret_key()?;
    let creds = Credentials::parse(req.kind, &req.credentials)?;
    let description = description(req.description)?;
    check(state, p.livemode, &creds).await?;
    let now = state.clock.now();
    let row = conn::ActiveModel {
        id: Set(ConnectorId::trusted(ids::new_id("conn"))),
        merchant_id: Set(p.merchant_id.clone()),
        livemode: Set(p.livemode),
        kind: Set(req.kind),
        status: Set(ConnectorStatus::Enabled),
        credentials: Set(creds.sealed(state)?),
        credentials_hint: Set(Credentials::hint(&req.credentials)),
        description: Set(description),
        created: Set(now),
        updated: Set(state.clock.now_ms()),
        deleted_at: Set(None),
    };
    let created = state
        .writer
        .one(|c| async move { row.insert(&c).await })
        .await
        .map_err(one_enabled)?;
    state.connectors.forget(&p.merchant_id, p.livemode);
    Ok(created)
}

/// The partial unique index's refusal, as the conflict it is.
fn one_enabled(e: sea_orm::DbErr) -> Error {
    if crate::db::is_unique_violation(&e) {
        Error::Conflict(Conflict::ConnectorExists)
    } else {
        e.into()
    }
}

pub async fn list(state: &AppState, p: &Principal) -> Result<Vec<conn::Model>> {
    p.require(Scope::Read)?;
    Ok(conn::Entity::find()
        .filter(conn::Column::MerchantId.eq(&p.merchant_id))
        .filter(conn::Column::Livemode.eq(p.livemode))
        .filter(conn::Column::DeletedAt.is_null())
        .order_by_desc(conn::Column::Created)
        .order_by_desc(conn::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn get(state: &AppState, p: &Principal, id: &ConnectorId) -> Result<conn::Model> {
    p.require(Scope::Read)?;
    conn::Entity::find_by_id(id)
        .filter(conn::Column::MerchantId.eq(&p.merchant_id))
        .filter(conn::Column::Livemode.eq(p.livemode))
        .filter(conn::Column::DeletedAt.is_null())
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("connector", id))
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &ConnectorId,
    upd: ConnectorUpdate,
) -> Result<conn::Model> {
    p.require_secret_key()?;
    let current = get(state, p, id).await?;
    let description = description(upd.description)?;
    let mut row: conn::ActiveModel = current.clone().into();
    if let Some(v) = &upd.credentials {
        let creds = Credentials::parse(current.kind, v)?;
        check(state, p.livemode, &creds).await?;
        row.credentials = Set(creds.sealed(state)?);
        row.credentials_hint = Set(Credentials::hint(v));
    }
    if let Some(disabled) = upd.disabled {
        row.status = Set(if disabled {
            ConnectorStatus::Disabled
        } else {
            ConnectorStatus::Enabled
        });
    }
    if description.is_some() {
        row.description = Set(description);
    }
    row.updated = Set(state.clock.now_ms());
    let updated = state
        .writer
        .one(|c| async move { row.update(&c).await })
        .await
        .map_err(one_enabled)?;
    state.connectors.forget(&p.merchant_id, p.livemode);
    Ok(updated)
}

/// Soft: payments in flight through it are still looked up with its
/// credentials; it takes no new ones and is gone from every read.
pub async fn delete(state: &AppState, p: &Principal, id: &ConnectorId) -> Result<()> {
    p.require_secret_key()?;
    get(state, p, id).await?;
    let q = conn::Entity::update_many()
        .col_expr(
            conn::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(state.clock.now()),
        )
        .filter(conn::Column::Id.eq(id));
    state
        .writer
        .one(|c| async move { q.exec(&c).await })
        .await?;
    state.connectors.forget(&p.merchant_id, p.livemode);
    Ok(())
}

/// At start: an `http` public URL with live connectors is allowed (TLS may
/// end at a proxy in front) but said, once.
pub async fn warn_if_insecure(state: &AppState) -> Result<()> {
    use sea_orm::PaginatorTrait;
    let public = state.config.public_url();
    if !public.starts_with("http://") {
        return Ok(());
    }
    let live = conn::Entity::find()
        .filter(conn::Column::Livemode.eq(true))
        .filter(conn::Column::DeletedAt.is_null())
        .count(&state.db)
        .await?;
    if live > 0 {
        tracing::warn!(
            public_url = %public,
            live_connectors = live,
            "IKAWAARI_PUBLIC_URL is http: providers will notify over plain HTTP unless TLS ends at a proxy in front"
        );
    }
    Ok(())
}
