//! One `Config`, read once from flags and environment (SPEC §10). Every
//! default lives in `DEFAULTS`; clap and `Config::with_defaults` both read it.
use std::time::Duration;

use clap::{Args, ValueEnum};

/// SPEC §10's defaults, in one place.
pub struct Defaults {
    pub database_url: &'static str,
    pub bind: &'static str,
    pub test_momo_delay_ms: u64,
    pub pay_rate_limit: u32,
    pub sweep_interval_ms: u64,
    pub cors_origins: &'static str,
    pub max_connections: usize,
    pub header_timeout_ms: u64,
    pub keepalive_timeout_ms: u64,
    pub body_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub credential_recheck_ms: u64,
    pub webhook_retry_base_ms: u64,
    pub webhook_timeout_ms: u64,
    pub webhook_allow_private: bool,
    pub webhook_merchant_in_flight: u32,
    pub webhook_breaker_after: u32,
    pub webhook_breaker_cooldown_ms: u64,
    pub secrets_key_file: &'static str,
    /// How often a request in flight renews its `Idempotency-Key`: several
    /// renewals may fail before the key looks abandoned (after 60 s).
    pub idempotency_heartbeat_ms: u64,
    pub provider_timeout_ms: u64,
    pub provider_poll_ms: u64,
}

pub const DEFAULTS: Defaults = Defaults {
    database_url: "sqlite://ikawaari.db?mode=rwc",
    bind: "127.0.0.1:8080",
    test_momo_delay_ms: 3000,
    pay_rate_limit: 60,
    sweep_interval_ms: 30_000,
    cors_origins: "*",
    max_connections: 10_000,
    header_timeout_ms: 10_000,
    keepalive_timeout_ms: 60_000,
    body_timeout_ms: 10_000,
    request_timeout_ms: 30_000,
    credential_recheck_ms: 5_000,
    webhook_retry_base_ms: 60_000,
    webhook_timeout_ms: 10_000,
    webhook_allow_private: true,
    webhook_merchant_in_flight: 16,
    webhook_breaker_after: 5,
    webhook_breaker_cooldown_ms: 60_000,
    secrets_key_file: "ikawaari.key",
    idempotency_heartbeat_ms: 10_000,
    provider_timeout_ms: 10_000,
    provider_poll_ms: 5_000,
};

// No PostgreSQL statement outlives the request it serves, a lock wait ends
// before either, and a key in flight is renewed several times within the 60 s
// after which it would look abandoned.
const _: () = {
    assert!(crate::db::STATEMENT_TIMEOUT.as_millis() < DEFAULTS.request_timeout_ms as u128);
    assert!(crate::db::LOCK_TIMEOUT.as_millis() < crate::db::STATEMENT_TIMEOUT.as_millis());
    assert!(DEFAULTS.idempotency_heartbeat_ms * 4 <= 60_000);
};

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// SQLite (`sqlite://file.db?mode=rwc`) or PostgreSQL (`postgres://…`) URL.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULTS.database_url, global = true)]
    pub database_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Settings every command shares.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log lines on stderr as `text` or `json`.
    #[arg(long, env = "IKAWAARI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true, hide = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[arg(long, env = "IKAWAARI_BIND", default_value = DEFAULTS.bind)]
    pub bind: String,
    /// Base of each session's `url`; default `http://<bind>/checkout`.
    #[arg(long, env = "IKAWAARI_CHECKOUT_URL")]
    pub checkout_url: Option<String>,
    #[arg(long, env = "IKAWAARI_TEST_MOMO_DELAY_MS", default_value_t = DEFAULTS.test_momo_delay_ms, hide = true)]
    pub test_momo_delay_ms: u64,
    /// Pay requests per minute per client address and per session; 0 = off.
    #[arg(long, env = "IKAWAARI_PAY_RATE_LIMIT", default_value_t = DEFAULTS.pay_rate_limit, hide = true)]
    pub pay_rate_limit: u32,
    #[arg(long, env = "IKAWAARI_SWEEP_INTERVAL_MS", default_value_t = DEFAULTS.sweep_interval_ms, hide = true)]
    pub sweep_interval_ms: u64,
    /// Comma-separated origins allowed on public routes, or `*`.
    #[arg(long, env = "IKAWAARI_CORS_ORIGINS", default_value = DEFAULTS.cors_origins, hide = true)]
    pub cors_origins: String,
    /// Concurrent client connections; beyond it new connections wait.
    #[arg(long, env = "IKAWAARI_MAX_CONNECTIONS", default_value_t = DEFAULTS.max_connections, hide = true)]
    pub max_connections: usize,
    /// Time to receive a request's headers.
    #[arg(long, env = "IKAWAARI_HEADER_TIMEOUT_MS", default_value_t = DEFAULTS.header_timeout_ms, hide = true)]
    pub header_timeout_ms: u64,
    /// Idle keep-alive time before the server closes a connection.
    #[arg(long, env = "IKAWAARI_KEEPALIVE_TIMEOUT_MS", default_value_t = DEFAULTS.keepalive_timeout_ms, hide = true)]
    pub keepalive_timeout_ms: u64,
    /// Longest wait for the next piece of a request body.
    #[arg(long, env = "IKAWAARI_BODY_TIMEOUT_MS", default_value_t = DEFAULTS.body_timeout_ms, hide = true)]
    pub body_timeout_ms: u64,
    /// Comma-separated CIDRs whose `X-Forwarded-For` is believed.
    #[arg(
        long,
        env = "IKAWAARI_TRUSTED_PROXIES",
        default_value = "",
        hide = true
    )]
    pub trusted_proxies: String,
    /// First webhook retry wait; each next one doubles (±20 % jitter, ≤ 6 h).
    #[arg(long, env = "IKAWAARI_WEBHOOK_RETRY_BASE_MS", default_value_t = DEFAULTS.webhook_retry_base_ms)]
    pub webhook_retry_base_ms: u64,
    /// How long a webhook receiver has to answer.
    #[arg(long, env = "IKAWAARI_WEBHOOK_TIMEOUT_MS", default_value_t = DEFAULTS.webhook_timeout_ms, hide = true)]
    pub webhook_timeout_ms: u64,
    /// Whether test-mode webhook endpoints may be on loopback, private and
    /// other non-public addresses (an integrator's own machine); `false`
    /// holds them to the live-mode address rule, at create and at delivery.
    #[arg(
        long,
        env = "IKAWAARI_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = DEFAULTS.webhook_allow_private,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub webhook_allow_private: bool,
    /// Webhook attempts in flight per merchant, below the 64 of a process:
    /// one merchant's hanging endpoints never hold every slot.
    #[arg(long, env = "IKAWAARI_WEBHOOK_MERCHANT_IN_FLIGHT", default_value_t = DEFAULTS.webhook_merchant_in_flight,
          value_parser = clap::value_parser!(u32).range(1..64), hide = true)]
    pub webhook_merchant_in_flight: u32,
    /// Attempts in a row without an answer (timeout, no connection) that
    /// open an endpoint's circuit breaker; 0 = never.
    #[arg(long, env = "IKAWAARI_WEBHOOK_BREAKER_AFTER", default_value_t = DEFAULTS.webhook_breaker_after, hide = true)]
    pub webhook_breaker_after: u32,
    /// How long an open breaker holds an endpoint's deliveries before one trial.
    #[arg(long, env = "IKAWAARI_WEBHOOK_BREAKER_COOLDOWN_MS", default_value_t = DEFAULTS.webhook_breaker_cooldown_ms, hide = true)]
    pub webhook_breaker_cooldown_ms: u64,
    /// Key sealing webhook secrets at rest: 64 hex characters. Every process
    /// sharing a database needs the same one.
    /// Parsed at once into a `SecretsKey`, whose `Debug` never shows it:
    /// `ServeArgs` derives `Debug`, and a raw `String` here would print it.
    /// The server's public base URL, for provider notification and return
    /// addresses (default: `http://<bind>`).
    #[arg(long, env = "IKAWAARI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// MTN MoMo's base URL (default: MTN's production host in live mode,
    /// its sandbox in test mode).
    #[arg(long, env = "IKAWAARI_MTN_MOMO_URL")]
    pub mtn_momo_url: Option<String>,
    /// Wave's base URL.
    #[arg(long, env = "IKAWAARI_WAVE_URL", default_value = crate::processor::wave::DEFAULT_URL)]
    pub wave_url: String,
    /// How long a provider has to answer one call.
    #[arg(long, env = "IKAWAARI_PROVIDER_TIMEOUT_MS", default_value_t = DEFAULTS.provider_timeout_ms, hide = true)]
    pub provider_timeout_ms: u64,
    /// The first wait before a processing provider attempt is looked up
    /// (doubling to 60 s).
    #[arg(long, env = "IKAWAARI_PROVIDER_POLL_MS", default_value_t = DEFAULTS.provider_poll_ms, hide = true)]
    pub provider_poll_ms: u64,
    #[arg(long, env = "IKAWAARI_SECRETS_KEY", hide_env_values = true, value_parser = parse_secrets_key)]
    pub secrets_key: Option<crate::crypto::SecretsKey>,
    /// Without `IKAWAARI_SECRETS_KEY`: the file holding it, created (0600) on first start.
    #[arg(long, env = "IKAWAARI_SECRETS_KEY_FILE", default_value = DEFAULTS.secrets_key_file)]
    pub secrets_key_file: String,
}

/// Everything the running service needs; tests build one with `Config::with_defaults`.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub checkout_url: String,
    pub test_momo_delay_ms: u64,
    pub pay_rate_limit: u32,
    pub sweep_interval_ms: u64,
    pub cors_origins: String,
    /// Request timeout.
    pub request_timeout_ms: u64,
    pub limits: crate::server::Limits,
    pub body_timeout_ms: u64,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How often an open GraphQL subscription re-checks its credential.
    pub credential_recheck_ms: u64,
    pub webhook_retry_base_ms: u64,
    pub webhook_timeout_ms: u64,
    /// Test-mode webhook endpoints may be on non-public addresses.
    pub webhook_allow_private: bool,
    /// Webhook attempts in flight per merchant (per process).
    pub webhook_merchant_in_flight: u32,
    /// Unanswered attempts in a row that open an endpoint's breaker; 0 = never.
    pub webhook_breaker_after: u32,
    pub webhook_breaker_cooldown_ms: u64,
    /// Seals webhook secrets in the database.
    pub secrets_key: crate::crypto::SecretsKey,
    /// How often a request in flight renews its `Idempotency-Key`.
    pub idempotency_heartbeat: Duration,
    /// `IKAWAARI_PUBLIC_URL`, if set (else derived from `checkout_url`).
    pub public_url: Option<String>,
    pub mtn_momo_url: Option<String>,
    pub wave_url: String,
    pub provider_timeout_ms: u64,
    pub provider_poll_ms: u64,
    /// A processing provider attempt with no final answer after this long
    /// fails (`expired_authorization`).
    pub provider_expiry_secs: i64,
}

impl Config {
    /// The public address of payment link `id`: the server's root (the
    /// checkout URL without its `/checkout`), then `/l/{id}`.
    pub fn payment_link_url(&self, id: &str) -> String {
        let c = self.checkout_url.as_str();
        format!("{}/l/{id}", c.strip_suffix("/checkout").unwrap_or(c))
    }

    /// The server's public base (no trailing slash): `IKAWAARI_PUBLIC_URL`,
    /// else the checkout URL's root.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let c = self.checkout_url.as_str();
                c.strip_suffix("/checkout").unwrap_or(c).to_string()
            }
        }
    }

    /// MTN's base URL for a mode.
    pub fn mtn_momo_base(&self, livemode: bool) -> String {
        match (&self.mtn_momo_url, livemode) {
            (Some(u), _) => u.clone(),
            (None, true) => crate::processor::mtn_momo::PRODUCTION_URL.into(),
            (None, false) => crate::processor::mtn_momo::SANDBOX_URL.into(),
        }
    }

    pub fn provider_timeout(&self) -> Duration {
        Duration::from_millis(self.provider_timeout_ms.max(1))
    }

    pub fn new(db: &DbArgs, serve: &ServeArgs, bound: std::net::SocketAddr) -> Config {
        let checkout_url = serve
            .checkout_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}/checkout"));
        Config {
            test_momo_delay_ms: serve.test_momo_delay_ms,
            pay_rate_limit: serve.pay_rate_limit,
            sweep_interval_ms: serve.sweep_interval_ms,
            cors_origins: serve.cors_origins.clone(),
            limits: crate::server::Limits {
                max_connections: serve.max_connections,
                header_timeout: Duration::from_millis(serve.header_timeout_ms),
                keepalive_timeout: Duration::from_millis(serve.keepalive_timeout_ms),
            },
            body_timeout_ms: serve.body_timeout_ms,
            trusted_proxies: parse_cidrs(&serve.trusted_proxies),
            webhook_retry_base_ms: serve.webhook_retry_base_ms,
            webhook_timeout_ms: serve.webhook_timeout_ms,
            webhook_allow_private: serve.webhook_allow_private,
            webhook_merchant_in_flight: serve.webhook_merchant_in_flight,
            webhook_breaker_after: serve.webhook_breaker_after,
            webhook_breaker_cooldown_ms: serve.webhook_breaker_cooldown_ms,
            public_url: serve.public_url.clone(),
            mtn_momo_url: serve.mtn_momo_url.clone(),
            wave_url: serve.wave_url.clone(),
            provider_timeout_ms: serve.provider_timeout_ms,
            provider_poll_ms: serve.provider_poll_ms,
            ..Config::with_defaults(&db.database_url, &checkout_url)
        }
    }

    /// `DEFAULTS` for everything but the database and checkout URLs.
    pub fn with_defaults(database_url: &str, checkout_url: &str) -> Config {
        Config {
            database_url: database_url.to_string(),
            checkout_url: checkout_url.trim_end_matches('/').to_string(),
            test_momo_delay_ms: DEFAULTS.test_momo_delay_ms,
            pay_rate_limit: DEFAULTS.pay_rate_limit,
            sweep_interval_ms: DEFAULTS.sweep_interval_ms,
            cors_origins: DEFAULTS.cors_origins.into(),
            request_timeout_ms: DEFAULTS.request_timeout_ms,
            limits: crate::server::Limits {
                max_connections: DEFAULTS.max_connections,
                header_timeout: Duration::from_millis(DEFAULTS.header_timeout_ms),
                keepalive_timeout: Duration::from_millis(DEFAULTS.keepalive_timeout_ms),
            },
            body_timeout_ms: DEFAULTS.body_timeout_ms,
            trusted_proxies: Vec::new(),
            credential_recheck_ms: DEFAULTS.credential_recheck_ms,
            webhook_retry_base_ms: DEFAULTS.webhook_retry_base_ms,
            webhook_timeout_ms: DEFAULTS.webhook_timeout_ms,
            webhook_allow_private: DEFAULTS.webhook_allow_private,
            webhook_merchant_in_flight: DEFAULTS.webhook_merchant_in_flight,
            webhook_breaker_after: DEFAULTS.webhook_breaker_after,
            webhook_breaker_cooldown_ms: DEFAULTS.webhook_breaker_cooldown_ms,
            secrets_key: crate::crypto::SecretsKey::random(),
            idempotency_heartbeat: Duration::from_millis(DEFAULTS.idempotency_heartbeat_ms),
            public_url: None,
            mtn_momo_url: None,
            wave_url: crate::processor::wave::DEFAULT_URL.into(),
            provider_timeout_ms: DEFAULTS.provider_timeout_ms,
            provider_poll_ms: DEFAULTS.provider_poll_ms,
            provider_expiry_secs: 600,
        }
    }
}

fn parse_secrets_key(s: &str) -> Result<crate::crypto::SecretsKey, String> {
    crate::crypto::SecretsKey::from_hex(s).ok_or_else(|| "expected 64 hex characters".into())
}

/// The secrets key from `IKAWAARI_SECRETS_KEY`, else from its file (created
/// with a fresh random key, readable by the owner only, on first start).
pub fn load_secrets_key(serve: &ServeArgs) -> std::io::Result<crate::crypto::SecretsKey> {
    use crate::crypto::SecretsKey;
    let invalid = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{what}: expected 64 hex characters"),
        )
    };
    if let Some(key) = &serve.secrets_key {
        return Ok(key.clone());
    }
    let path = std::path::Path::new(&serve.secrets_key_file);
    match std::fs::read_to_string(path) {
        Ok(s) => SecretsKey::from_hex(&s).ok_or_else(|| invalid(&serve.secrets_key_file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretsKey::random();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            std::io::Write::write_all(&mut opts.open(path)?, key.to_hex().as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// `10.0.0.0/8, 192.168.1.7` → networks (a bare address is a /32 or /128).
/// Entries that do not parse are logged and ignored.
pub fn parse_cidrs(list: &str) -> Vec<ipnet::IpNet> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let net = s
                .parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from));
            if net.is_none() {
                tracing::warn!(entry = s, "IKAWAARI_TRUSTED_PROXIES: not a CIDR, ignored");
            }
            net
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: super::ServeArgs,
    }

    #[test]
    fn the_secrets_key_never_shows_in_debug_output() {
        let key = "6b1f0c3e2d4a59788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
        let cli = Cli::try_parse_from(["ikawaari", "--secrets-key", key]).unwrap();
        let shown = format!("{:?}", cli.serve);
        assert!(
            !shown.contains(key) && !shown.contains("6b1f0c3e"),
            "{shown}"
        );
        assert_eq!(super::load_secrets_key(&cli.serve).unwrap().to_hex(), key);
        assert!(Cli::try_parse_from(["ikawaari", "--secrets-key", "zz"]).is_err());
    }

    #[test]
    fn webhook_allow_private_defaults_to_true_and_reads_a_boolean() {
        let parse = |args: &[&str]| {
            let argv = std::iter::once("ikawaari").chain(args.iter().copied());
            Cli::try_parse_from(argv).map(|c| c.serve.webhook_allow_private)
        };
        assert!(parse(&[]).unwrap());
        assert!(!parse(&["--webhook-allow-private", "false"]).unwrap());
        assert!(!parse(&["--webhook-allow-private=0"]).unwrap());
        assert!(parse(&["--webhook-allow-private", "true"]).unwrap());
        assert!(parse(&["--webhook-allow-private", "maybe"]).is_err());
    }
}
