//! Sending one attempt: the HTTP clients (one that connects to public
//! addresses only), the signature headers, the request and what is read of
//! the answer.
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, USER_AGENT};

use super::PER_ENDPOINT;
use crate::AppState;
use crate::crypto::signature_header;
use crate::domain::webhook_url::{WebhookUrl, is_globally_reachable};
use crate::service::webhook::delivery::{AttemptResult, Target};
use crate::service::webhook::public_only;

/// What is read of a receiver's answer (then the connection is reused or dropped).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The worker's HTTP clients.
#[derive(Clone)]
pub(super) struct Clients {
    /// For endpoints that may be on any address (test mode, by default).
    open: reqwest::Client,
    /// For endpoints that must be on public addresses (`public_only`).
    public: reqwest::Client,
}

/// Resolves a host to its addresses only when every one is globally
/// reachable: the connection then goes to an address that was checked (no
/// DNS-rebinding bypass between the check and the connect).
struct PublicOnly;

/// Why `PublicOnly` refused a name (found again in the error's sources).
#[derive(Debug)]
struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves to a non-public address")
    }
}

impl std::error::Error for NotPublic {}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !is_globally_reachable(a.ip())) {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn client(state: &AppState, public_only: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(state.config.webhook_timeout_ms))
        .connect_timeout(Duration::from_millis(state.config.webhook_timeout_ms))
        .pool_max_idle_per_host(PER_ENDPOINT)
        // A proxy from the environment would bypass the address checks.
        .no_proxy();
    if public_only {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    } else {
        builder.build()
    }
}

impl Clients {
    pub(super) fn new(state: &AppState) -> reqwest::Result<Clients> {
        Ok(Clients {
            open: client(state, false)?,
            public: client(state, true)?,
        })
    }

    /// Signs and posts `t`, giving up after `timeout`.
    pub(super) async fn post(
        &self,
        state: &AppState,
        t: &Target,
        timeout: Duration,
    ) -> AttemptResult {
        let started = Instant::now();
        let elapsed = |started: Instant| started.elapsed().as_millis() as i64;
        let public = public_only(&state.config, t.livemode);
        // An IP literal never goes through the resolver: checked here (the
        // loosest shape rule, so only the address decides).
        if public
            && let Ok(u) = WebhookUrl::parse(&t.url, false)
            && u.ip().is_some_and(|ip| !is_globally_reachable(ip))
        {
            return AttemptResult {
                response_status: None,
                duration_ms: 0,
                error: Some("the endpoint's address is not public".into()),
                retry: false,
            };
        }
        let secrets: Vec<&str> = t.secrets.iter().map(String::as_str).collect();
        let now = state.clock.now();
        let signature = signature_header(&secrets, now, t.payload.as_bytes());
        // Standard Webhooks (SPEC §14): the event id is the message id, the
        // same on every retry of one delivery.
        let id = serde_json::from_str::<serde_json::Value>(&t.payload)
            .ok()
            .and_then(|v| v.get("id")?.as_str().map(str::to_string))
            .unwrap_or_default();
        let standard = crate::crypto::standard_signature(&secrets, &id, now, t.payload.as_bytes());
        let client = if public { &self.public } else { &self.open };
        let sent = client
            .post(&t.url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "Ikawaari-Webhooks/1")
            .header("Ikawaari-Signature", signature)
            .header("webhook-id", &id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", standard)
            .body(t.payload.clone())
            .timeout(timeout)
            .send()
            .await;
        match sent {
            Ok(mut res) => {
                let status = res.status().as_u16();
                let mut read = 0;
                while let Ok(Some(chunk)) = res.chunk().await {
                    read += chunk.len();
                    if read > MAX_RESPONSE_BYTES {
                        break;
                    }
                }
                AttemptResult {
                    response_status: Some(status),
                    duration_ms: elapsed(started),
                    error: (!(200..300).contains(&status))
                        .then(|| format!("the endpoint answered {status}")),
                    retry: true,
                }
            }
            Err(e) => AttemptResult {
                response_status: None,
                duration_ms: elapsed(started),
                error: Some(describe(&e)),
                retry: true,
            },
        }
    }
}

/// A failed request in a merchant's words, without internals.
fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<NotPublic>() {
            return NotPublic.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "the endpoint did not answer within the timeout".into()
    } else if e.is_connect() {
        "could not connect to the endpoint".into()
    } else if e.is_redirect() {
        "the endpoint answered with a redirect (not followed)".into()
    } else {
        "the request to the endpoint failed".into()
    }
}
