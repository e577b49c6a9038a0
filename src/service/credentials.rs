//! Merchants, secret keys and app tokens: creation, revocation, authentication.
//! Tokens are stored only as a SHA-256 hash plus a short display prefix.
use entity::{api_key, merchant};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryTrait, Set,
};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::Unique;
use crate::domain::MerchantId;
use crate::domain::ids::{new_id, random_token};
use crate::domain::principal::{Principal, Scope};
use crate::error::{Error, Result};

/// Random characters after the `ik_test_`-style prefix (32 × 5.95 = 190 bits).
const SECRET_LEN: usize = 32;
/// Characters of the secret kept visible in the display prefix.
const VISIBLE_LEN: usize = 8;

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    SecretKey,
    AppToken,
}

/// A freshly created credential: the only time its secret exists in clear.
pub struct IssuedToken {
    pub id: String,
    pub prefix: String,
    pub secret: String,
}

pub async fn create_merchant(state: &AppState, display_name: &str) -> Result<merchant::Model> {
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "Merchant name must be 1–100 characters.",
        ));
    }
    let m = merchant::ActiveModel {
        id: Set(MerchantId::trusted(new_id("acct"))),
        display_name: Set(name.to_string()),
        created: Set(state.clock.now()),
    };
    Ok(state
        .writer
        .one(|c| async move { m.insert(&c).await })
        .await?)
}

pub async fn issue(
    state: &AppState,
    merchant_id: &str,
    livemode: bool,
    kind: TokenKind,
    scopes: &[Scope],
) -> Result<IssuedToken> {
    let unknown = || Error::not_found("merchant", merchant_id);
    let merchant_id = MerchantId::parse(merchant_id).ok_or_else(unknown)?;
    merchant::Entity::find_by_id(merchant_id.clone())
        .unique(&state.db)
        .await?
        .ok_or_else(unknown)?;
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "At least one scope is required."));
    }
    let head = match (kind, livemode) {
        (TokenKind::AppToken, _) => "ik_app_",
        (TokenKind::SecretKey, true) => "ik_live_",
        (TokenKind::SecretKey, false) => "ik_test_",
    };
    let secret = format!("{head}{}", random_token(SECRET_LEN));
    let prefix = secret[..head.len() + VISIBLE_LEN].to_string();
    let scopes = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let row = api_key::ActiveModel {
        id: Set(new_id("key")),
        merchant_id: Set(merchant_id),
        kind: Set(if kind == TokenKind::AppToken {
            "app_token"
        } else {
            "secret_key"
        }
        .into()),
        livemode: Set(livemode),
        prefix: Set(prefix.clone()),
        key_hash: Set(hash_token(&secret)),
        scopes: Set(scopes),
        created: Set(state.clock.now()),
        revoked_at: Set(None),
    };
    let row = state
        .writer
        .one(|c| async move { row.insert(&c).await })
        .await?;
    Ok(IssuedToken {
        id: row.id,
        prefix,
        secret,
    })
}

/// Revokes the key or token with this display prefix; returns its id.
pub async fn revoke(state: &AppState, prefix: &str) -> Result<String> {
    let key = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .unique(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("key", prefix))?;
    let id = key.id.clone();
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(state.clock.now()));
    state
        .writer
        .one(|c| async move { active.update(&c).await })
        .await?;
    Ok(id)
}

pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal> {
    let well_formed = ["ik_test_", "ik_live_", "ik_app_"]
        .iter()
        .any(|h| token.starts_with(h))
        && token.len() < 200;
    if !well_formed {
        return Err(Error::ApiKeyInvalid);
    }
    // The entity's own select: columns under their own names (prefix "").
    static SHAPE: crate::db::Shape<(String,)> =
        crate::db::Shape::new(|(hash,): &(String,), backend| {
            api_key::Entity::find()
                .filter(api_key::Column::KeyHash.eq(hash))
                .build(backend)
        });
    let stmt = SHAPE.statement(state.db.get_database_backend(), &(hash_token(token),));
    let key = match state.db.query_one_raw(stmt).await? {
        Some(row) => Some(api_key::Model::from_query_result(&row, "")?),
        None => None,
    }
    .filter(|k| k.revoked_at.is_none())
    .ok_or(Error::ApiKeyInvalid)?;
    let scopes: Vec<Scope> = key.scopes.split(',').filter_map(Scope::parse).collect();
    Ok(Principal {
        merchant_id: key.merchant_id,
        livemode: key.livemode,
        can_read: scopes.contains(&Scope::Read),
        can_write: scopes.contains(&Scope::Write),
        app_token: token.starts_with("ik_app_"),
    })
}

/// Parses `payments:read,payments:write`.
pub fn parse_scopes(s: &str) -> Result<Vec<Scope>> {
    s.split(',')
        .map(|p| {
            Scope::parse(p)
                .ok_or_else(|| Error::invalid("scopes", format!("Unknown scope '{}'.", p.trim())))
        })
        .collect()
}

/// On an empty database: a demo merchant and its first test key.
pub async fn seed_demo(state: &AppState) -> Result<Option<(merchant::Model, IssuedToken)>> {
    use sea_orm::PaginatorTrait;
    if merchant::Entity::find().count(&state.db).await? > 0 {
        return Ok(None);
    }
    let m = create_merchant(state, "Boutique Démo Abidjan").await?;
    let key = issue(
        state,
        &m.id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read, Scope::Write],
    )
    .await?;
    Ok(Some((m, key)))
}
