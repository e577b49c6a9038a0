//! One `Config`, read from flags and environment (SPEC §10).
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// SQLite (`sqlite://file.db?mode=rwc`) or PostgreSQL (`postgres://…`) URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://ikawaari.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[arg(long, env = "IKAWAARI_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Base of each session's `url`; default `http://<bind>/checkout`.
    #[arg(long, env = "IKAWAARI_CHECKOUT_URL")]
    pub checkout_url: Option<String>,
    #[arg(
        long,
        env = "IKAWAARI_TEST_MOMO_DELAY_MS",
        default_value_t = 3000,
        hide = true
    )]
    pub test_momo_delay_ms: u64,
    /// Pay requests per minute per client address and per session; 0 = off.
    #[arg(
        long,
        env = "IKAWAARI_PAY_RATE_LIMIT",
        default_value_t = 60,
        hide = true
    )]
    pub pay_rate_limit: u32,
    #[arg(
        long,
        env = "IKAWAARI_SWEEP_INTERVAL_MS",
        default_value_t = 30_000,
        hide = true
    )]
    pub sweep_interval_ms: u64,
    /// Comma-separated origins allowed on public routes, or `*`.
    #[arg(long, env = "IKAWAARI_CORS_ORIGINS", default_value = "*", hide = true)]
    pub cors_origins: String,
    #[arg(long, env = "IKAWAARI_LOG_FORMAT", default_value = "text", hide = true)]
    pub log_format: String,
}

/// Everything the running service needs; tests build one with `Config::for_tests`.
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
}

impl Config {
    pub fn new(db: &DbArgs, serve: &ServeArgs, bound: std::net::SocketAddr) -> Config {
        Config {
            database_url: db.database_url.clone(),
            checkout_url: serve
                .checkout_url
                .clone()
                .unwrap_or_else(|| format!("http://{bound}/checkout"))
                .trim_end_matches('/')
                .to_string(),
            test_momo_delay_ms: serve.test_momo_delay_ms,
            pay_rate_limit: serve.pay_rate_limit,
            sweep_interval_ms: serve.sweep_interval_ms,
            cors_origins: serve.cors_origins.clone(),
            request_timeout_ms: 30_000,
        }
    }

    /// Defaults of SPEC §10 for everything but the database and checkout URLs.
    pub fn with_defaults(database_url: &str, checkout_url: &str) -> Config {
        Config {
            database_url: database_url.to_string(),
            checkout_url: checkout_url.trim_end_matches('/').to_string(),
            test_momo_delay_ms: 3000,
            pay_rate_limit: 60,
            sweep_interval_ms: 30_000,
            cors_origins: "*".into(),
            request_timeout_ms: 30_000,
        }
    }
}
