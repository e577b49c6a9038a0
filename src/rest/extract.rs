//! Extractors that turn every malformed request into the SPEC §6 shape:
//! `Bytes` → content type → `serde_path_to_error`.
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::validation::{self, Rules};

/// JSON body for POST routes without parameters: empty or `{}`.
pub struct OptionalJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    is_json_type(req.headers())
}

/// `application/json` or `application/…+json`: the one content-type rule of
/// every JSON body, REST and GraphQL.
pub fn is_json_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// `application/x-www-form-urlencoded`: Stripe's SDKs' bodies (SPEC §14).
fn is_form(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A form body, as the JSON one would be (`rest::form`).
fn parse_form<T: DeserializeOwned + Rules>(bytes: &[u8]) -> Result<T, Error> {
    crate::rest::form::typed(crate::rest::form::decode(bytes)?)
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::BodyTooLarge
        } else {
            Error::JsonInvalid("unreadable body".into())
        }
    })
}

pub fn parse<T: DeserializeOwned + Rules>(bytes: &[u8]) -> Result<T, Error> {
    let controls = validation::controls_in_json(bytes);
    if !controls.is_empty() {
        return Err(Error::Validation(controls));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) if e.inner().is_data() => {
            // A type error: the body is valid JSON, so read it whole and
            // report every invalid field, not only the first.
            return Err(match serde_json::from_slice(bytes) {
                Ok(body) => validation::all_errors::<T>(body, e),
                Err(_) => validation::from_serde(e),
            });
        }
        Err(e) => return Err(validation::from_serde(e)),
    };
    // Trailing characters after the JSON value.
    de.end().map_err(|e| {
        Error::JsonInvalid(format!(
            "trailing characters at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    Ok(value)
}

/// A JSON body parsed with `param` paths in its errors. Rules (`validator`
/// and cross-field) run in the service, so REST and GraphQL share them.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Rules, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if is_form(&req) {
            let bytes = body_bytes(req, state).await?;
            return Ok(Json(parse_form(&bytes)?));
        }
        if !is_json(&req) {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = body_bytes(req, state).await?;
        Ok(Json(parse(&bytes)?))
    }
}

impl<T: DeserializeOwned + Default + Rules, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let has_type = req.headers().contains_key(CONTENT_TYPE);
        let (json, form) = (is_json(&req), is_form(&req));
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        if form {
            return Ok(OptionalJson(parse_form(&bytes)?));
        }
        if has_type && !json {
            return Err(Error::UnsupportedMediaType);
        }
        Ok(OptionalJson(parse(&bytes)?))
    }
}

/// Query string with unknown parameters rejected and typed errors as §6.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            validation::no_controls(&k, &v)?;
        }
        // `expand` is read by `Expand`, not by the route's own query.
        let rest = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| !is_expand(k)))
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(rest.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = validation::serde_path(e.path());
                validation::from_message(&path, &e.into_inner().to_string())
            })
    }
}

/// A typed id from the path: one that cannot be of this kind is the same
/// `404` as an unknown one, before any query.
pub struct PathId<T>(pub T);

impl<T: entity::types::IdKind + Send, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::RouteNotFound)?;
        T::parse_id(&raw)
            .map(PathId)
            .ok_or_else(|| Error::not_found(T::KIND, raw))
    }
}

/// `expand`, `expand[]` or `expand[N]`: how Stripe's SDKs send expansions.
fn is_expand(key: &str) -> bool {
    key == "expand"
        || key
            .strip_prefix("expand[")
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
}

/// The expansions a request asks for (`expand[]=payment_intent`), each
/// checked against `allowed` (`400 parameter_invalid`, `param` `expand`).
pub struct Expand(pub Vec<String>);

impl Expand {
    pub fn allowing(self, allowed: &[&str]) -> Result<Vec<String>, Error> {
        for e in &self.0 {
            if !allowed.contains(&e.as_str()) {
                return Err(Error::invalid(
                    "expand",
                    format!(
                        "This field cannot be expanded: {e}. Expandable: {}.",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Expand {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        let mut out = Vec::new();
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if is_expand(&k) {
                validation::no_controls(&k, &v)?;
                if out.len() >= 10 {
                    return Err(Error::invalid(
                        "expand",
                        "At most 10 fields can be expanded.",
                    ));
                }
                out.push(v.into_owned());
            }
        }
        Ok(Expand(out))
    }
}
