//! Calling a provider: one pooled client per process (10 s per call, SPEC
//! §11), its failures sorted into *unreachable* (nothing sent) and
//! *ambiguous* (perhaps received), and a log line per call with the
//! request id, never with credentials, bodies or phone numbers.
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ConnError;

/// What is read of a provider's answer at most.
const MAX_BODY: usize = 256 * 1024;

/// The process's client for provider calls (`timeout`: the whole call).
pub fn client(timeout: Duration) -> reqwest::Client {
    static CLIENT: OnceLock<(Duration, reqwest::Client)> = OnceLock::new();
    let (t, c) = CLIENT.get_or_init(|| (timeout, build(timeout)));
    if *t == timeout {
        c.clone()
    } else {
        build(timeout)
    }
}

fn build(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ikawaari-checkout/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building a client with these settings only fails without a TLS backend.
        .unwrap_or_default()
}

/// A provider's answer: its status and (bounded) body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The provider's own words for a refusal (`message`, else `code`),
    /// bounded; never a credential (providers do not echo them).
    pub fn words(&self) -> String {
        let v = self.json();
        let field = |k: &str| {
            v.as_ref()
                .and_then(|v| v.get(k))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        };
        let w = field("message")
            .or_else(|| field("code"))
            .or_else(|| field("error"))
            .unwrap_or_else(|| format!("HTTP {}", self.status));
        let w: String = w.chars().take(200).collect();
        w.trim_end_matches(['.', ' ']).to_string()
    }

    pub fn code(&self) -> Option<String> {
        self.json()?.get("code")?.as_str().map(str::to_string)
    }
}

/// Sends `req`, logs the call (provider, operation, status, latency) and
/// sorts a failure: no connection → unreachable; anything after the
/// request may have left → ambiguous.
pub async fn send(
    provider: &'static str,
    operation: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, ConnError> {
    let started = Instant::now();
    let sent = req.send().await;
    let ms = started.elapsed().as_millis() as u64;
    let res = match sent {
        Ok(r) => r,
        Err(e) => {
            let unreachable = e.is_connect() || e.is_builder();
            tracing::warn!(
                provider,
                operation,
                ms,
                unreachable,
                timeout = e.is_timeout(),
                "provider call failed"
            );
            let what = if e.is_timeout() {
                "timed out".to_string()
            } else {
                without_url(&e)
            };
            return Err(if unreachable {
                ConnError::Unreachable(what)
            } else {
                ConnError::Ambiguous(what)
            });
        }
    };
    let status = res.status().as_u16();
    let body = read_bounded(res).await;
    tracing::info!(provider, operation, status, ms, "provider call");
    match body {
        Some(body) => Ok(Answer { status, body }),
        None => Err(ConnError::Ambiguous(format!(
            "{operation}: the answer (HTTP {status}) could not be read"
        ))),
    }
}

async fn read_bounded(mut res: reqwest::Response) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.ok()? {
        if out.len() + chunk.len() > MAX_BODY {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out)
}

/// A transport error's text without its URL (which may carry a reference).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.without_url_ref().to_string();
    s.truncate(200);
    s
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(self);
        let mut last = None;
        while let Some(s) = source {
            last = Some(s.to_string());
            source = s.source();
        }
        last.unwrap_or_else(|| "transport error".into())
    }
}
