//! From connector rows to the `Connector` a payment talks to: which one a
//! method goes to, what a session can be paid with, and the built
//! connectors (their token caches) kept per process.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entity::connector as conn;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::AppState;
use crate::domain::payment_method::PaymentMethodInput;
use crate::domain::{ConnectorStatus, ConnectorType, MerchantId, PaymentMethodKind, Provider};
use crate::error::{Error, Result};
use crate::processor::{Connector, mtn_momo, wave};
use crate::service::views::Methods;

/// How long a process trusts its list of a merchant's enabled connectors
/// for the hosted page's `payment_methods` (a pay reads the database).
const LIST_TTL: Duration = Duration::from_secs(2);

type Enabled = (Instant, Arc<Vec<conn::Model>>);
/// A built connector and the row version (`updated`) it was built from.
type Built = (i64, Arc<dyn Connector>);

/// The connectors built in this process, by id and version (`updated`):
/// an MTN connector keeps its OAuth token between payments.
#[derive(Default)]
pub struct Instances {
    built: Mutex<HashMap<String, Built>>,
    enabled: Mutex<HashMap<(String, bool), Enabled>>,
}

impl Instances {
    /// After a change by this process: the next read asks the database.
    pub fn forget(&self, merchant: &MerchantId, livemode: bool) {
        self.enabled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(merchant.to_string(), livemode));
    }
}

/// The connector of row `c`, built once per version.
pub fn instance(state: &AppState, c: &conn::Model) -> Result<Arc<dyn Connector>> {
    let key = c.id.to_string();
    if let Some((v, built)) = state
        .connectors
        .built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        && *v == c.updated
    {
        return Ok(built.clone());
    }
    let json = state
        .config
        .secrets_key
        .open(&c.credentials)
        .ok_or_else(|| Error::Internal("connector credentials not sealed under this key".into()))?;
    let timeout = state.config.provider_timeout();
    let bad = |e: serde_json::Error| Error::Internal(format!("stored credentials: {e}"));
    let built: Arc<dyn Connector> = match c.kind {
        ConnectorType::MtnMomo => Arc::new(mtn_momo::MtnMomo::new(
            &state.config.mtn_momo_base(c.livemode),
            serde_json::from_str(&json).map_err(bad)?,
            timeout,
        )),
        ConnectorType::Wave => Arc::new(wave::Wave::new(
            &state.config.wave_url,
            serde_json::from_str(&json).map_err(bad)?,
            timeout,
        )),
    };
    state
        .connectors
        .built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (c.updated, built.clone()));
    Ok(built)
}

/// The merchant's enabled connectors in a mode, from the database.
async fn enabled_now(
    state: &AppState,
    merchant: &MerchantId,
    livemode: bool,
) -> Result<Vec<conn::Model>> {
    Ok(conn::Entity::find()
        .filter(conn::Column::MerchantId.eq(merchant))
        .filter(conn::Column::Livemode.eq(livemode))
        .filter(conn::Column::Status.eq(ConnectorStatus::Enabled))
        .filter(conn::Column::DeletedAt.is_null())
        .all(&state.db)
        .await?)
}

/// `enabled_now`, trusted for `LIST_TTL` (the public view's methods).
async fn enabled_recent(
    state: &AppState,
    merchant: &MerchantId,
    livemode: bool,
) -> Result<Arc<Vec<conn::Model>>> {
    let key = (merchant.to_string(), livemode);
    if let Some((at, list)) = state
        .connectors
        .enabled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        && at.elapsed() < LIST_TTL
    {
        return Ok(list.clone());
    }
    let list = Arc::new(enabled_now(state, merchant, livemode).await?);
    state
        .connectors
        .enabled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (Instant::now(), list.clone()));
    Ok(list)
}

fn provider_kind(p: Provider) -> Option<ConnectorType> {
    match p {
        Provider::MtnMomo => Some(ConnectorType::MtnMomo),
        Provider::Wave => Some(ConnectorType::Wave),
        Provider::OrangeMoney | Provider::MoovMoney => None,
    }
}

/// What a session can be paid with (SPEC §11 `payment_methods`): in test
/// mode everything §4 lists (a provider with a connector goes to its
/// sandbox); in live mode what the merchant's connectors take. Within the
/// session's own `payment_method_types`.
pub async fn methods(
    state: &AppState,
    merchant: &MerchantId,
    livemode: bool,
    accepted: &[PaymentMethodKind],
) -> Result<Methods> {
    let card = !livemode && accepted.contains(&PaymentMethodKind::Card);
    let mobile_money = if accepted.contains(&PaymentMethodKind::MobileMoney) {
        let enabled = enabled_recent(state, merchant, livemode).await?;
        Provider::ALL
            .iter()
            .copied()
            .filter(|p| {
                !livemode || provider_kind(*p).is_some_and(|k| enabled.iter().any(|c| c.kind == k))
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Methods { card, mobile_money })
}

/// Where a payment goes: the merchant's connector for the method, or (test
/// mode, no connector for it) the test processor. Live mode with no
/// connector at all: `503 processor_unavailable` (SPEC §4); a method no
/// connector takes: `400 payment_method_unavailable`.
pub async fn provider_for(
    state: &AppState,
    merchant: &MerchantId,
    livemode: bool,
    method: &PaymentMethodInput,
) -> Result<Option<(conn::Model, Arc<dyn Connector>)>> {
    let enabled = enabled_now(state, merchant, livemode).await?;
    if livemode && enabled.is_empty() {
        return Err(Error::ProcessorUnavailable);
    }
    let kind = match method {
        PaymentMethodInput::MobileMoney { provider, .. } => provider_kind(*provider),
        PaymentMethodInput::Card { .. } if livemode => {
            return Err(Error::MethodUnavailable {
                param: "payment_method.type",
            });
        }
        PaymentMethodInput::Card { .. } => None,
    };
    match kind.and_then(|k| enabled.into_iter().find(|c| c.kind == k)) {
        Some(c) => {
            let built = instance(state, &c)?;
            Ok(Some((c, built)))
        }
        None if livemode => Err(Error::MethodUnavailable {
            param: "payment_method.mobile_money.provider",
        }),
        None => Ok(None),
    }
}

/// The address a merchant registers at the provider for connector `c`.
pub fn notification_url(state: &AppState, c: &conn::Model) -> String {
    format!(
        "{}/api/providers/{}/{}",
        state.config.public_url(),
        c.kind.as_str(),
        c.id
    )
}
