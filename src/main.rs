//! The `ikawaari` command line (SPEC §10). Results go to stdout, the secret
//! alone on the last line; logs go to stderr.
use clap::{Parser, Subcommand};
use ikawaari::auth::Scope;
use ikawaari::config::{DEFAULTS, DbArgs, LogArgs, LogFormat, ServeArgs};
use ikawaari::service::credentials::{self, TokenKind};
use ikawaari::{AppState, Clock, Config};

/// mimalloc: a request allocates and frees many small buffers (JSON, SQL,
/// headers); glibc malloc/free were a quarter of a read's CPU in a profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ikawaari",
    version,
    about = "Ikawaari Checkout: hosted checkout for West African merchants"
)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the API, hosted page and docs on one port.
    Serve(Box<ServeArgs>),
    /// Apply pending migrations.
    Migrate,
    /// Recompute the dashboard counters and daily rollup from the stored
    /// sessions and refunds (after loading data behind the service's back).
    RebuildRollups,
    /// Load synthetic test-mode sessions straight into the database, for
    /// the scale benchmarks (bench/scale.sh), then rebuild the rollups.
    Seed {
        /// How many sessions.
        #[arg(long)]
        sessions: u64,
        /// The merchant (default: the first one created).
        #[arg(long)]
        merchant: Option<String>,
        /// Ids from `cs_test_seed<first>` on.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Every session open and payable (the pay benchmark's pool).
        #[arg(long)]
        open: bool,
    },
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage secret API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage app tokens.
    AppToken {
        #[command(subcommand)]
        command: AppTokenCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the GraphQL schema (SDL).
    GraphqlSchema,
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and its first test key.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Test,
    Live,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a secret key (all scopes unless restricted).
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long, default_value = "payments:read,payments:write")]
        scopes: String,
    },
    /// Revoke a key or app token by its displayed prefix.
    Revoke { prefix: String },
}

#[derive(Subcommand)]
enum AppTokenCommand {
    /// Create an app token bound to one merchant and mode.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long)]
        scopes: String,
    },
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = format == LogFormat::Json;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// mimalloc's defaults keep memory it has freed: arenas are committed
/// eagerly and pages are purged 10 ms late. Committing on demand and
/// purging at once took the RSS after a 256-connection load from 84 to
/// 57 MiB with no throughput change measured (`bench/README.md`). An
/// operator's `MIMALLOC_ARENA_EAGER_COMMIT` / `MIMALLOC_PURGE_DELAY` win.
fn tune_allocator() {
    // `mi_option_t` values of mimalloc.h (v2 and v3 alike).
    const OPTIONS: [(std::ffi::c_int, &std::ffi::CStr); 2] = [
        (4, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (15, c"MIMALLOC_PURGE_DELAY"),
    ];
    unsafe extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    for (option, env) in OPTIONS {
        // SAFETY: `getenv` of a constant name, and a plain setter of
        // mimalloc's option table, before any other thread exists.
        unsafe {
            if libc::getenv(env.as_ptr()).is_null() {
                mi_option_set(option, 0);
            }
        }
    }
}

/// Runs `tune_allocator` before `main`, before the first Rust allocation
/// creates mimalloc's first arena (set in `main`, that arena is already
/// committed: RSS at start 41 instead of 24 MiB).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn before_main() {
        tune_allocator();
    }
    before_main
};

fn main() {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let cli = Cli::parse();
    init_tracing(cli.log.log_format);
    if let Err(e) = dispatch(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn state_for(db: &DbArgs) -> Result<AppState, Box<dyn std::error::Error>> {
    let conn = ikawaari::db::connect_unbounded(&db.database_url, 5).await?;
    ikawaari::db::migrate(&conn).await?;
    let config = Config::with_defaults(
        &db.database_url,
        &format!("http://{}/checkout", DEFAULTS.bind),
    );
    Ok(AppState::new(conn, config, Clock::default()))
}

fn describe(e: ikawaari::error::Error) -> Box<dyn std::error::Error> {
    let (_, body) = e.body();
    body.message.into()
}

async fn dispatch(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(args) => serve(cli.db, *args).await,
        Command::Openapi => {
            println!("{}", ikawaari::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::GraphqlSchema => {
            print!("{}", ikawaari::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            state_for(&cli.db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::RebuildRollups => {
            let state = state_for(&cli.db).await?;
            ikawaari::service::tally::rebuild(&state)
                .await
                .map_err(describe)?;
            println!("rollups rebuilt");
            Ok(())
        }
        Command::Seed {
            sessions,
            merchant,
            first,
            open,
        } => seed(&cli.db, sessions, merchant, first, open).await,
        Command::Merchant {
            command: MerchantCommand::Create { name },
        } => create_merchant(&cli.db, &name).await,
        Command::Key {
            command:
                KeyCommand::Create {
                    merchant,
                    mode,
                    scopes,
                },
        } => issue_and_print(&cli.db, &merchant, mode, TokenKind::SecretKey, &scopes).await,
        Command::Key {
            command: KeyCommand::Revoke { prefix },
        } => revoke(&cli.db, &prefix).await,
        Command::AppToken {
            command:
                AppTokenCommand::Create {
                    merchant,
                    mode,
                    scopes,
                },
        } => issue_and_print(&cli.db, &merchant, mode, TokenKind::AppToken, &scopes).await,
    }
}

/// `merchant create`: the merchant, then its first test key alone on the last line.
async fn create_merchant(db: &DbArgs, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let state = state_for(db).await?;
    let m = credentials::create_merchant(&state, name)
        .await
        .map_err(describe)?;
    let key = credentials::issue(
        &state,
        &m.id,
        false,
        TokenKind::SecretKey,
        &[Scope::Read, Scope::Write],
    )
    .await
    .map_err(describe)?;
    println!("merchant: {}", m.id);
    println!("{}", key.secret);
    Ok(())
}

/// `key revoke`: the prefix, then the revoked credential's id.
async fn revoke(db: &DbArgs, prefix: &str) -> Result<(), Box<dyn std::error::Error>> {
    let state = state_for(db).await?;
    let id = credentials::revoke(&state, prefix)
        .await
        .map_err(describe)?;
    println!("revoked: {prefix}");
    println!("{id}");
    Ok(())
}

/// `key create` / `app-token create`: the prefix, then the secret alone on the last line.
async fn issue_and_print(
    db: &DbArgs,
    merchant: &str,
    mode: Mode,
    kind: TokenKind,
    scopes: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let state = state_for(db).await?;
    let scopes = credentials::parse_scopes(scopes).map_err(describe)?;
    let t = credentials::issue(&state, merchant, matches!(mode, Mode::Live), kind, &scopes)
        .await
        .map_err(describe)?;
    println!("prefix: {}", t.prefix);
    println!("{}", t.secret);
    Ok(())
}

async fn serve(db: DbArgs, args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    // Migrations without the serving pools' statement timeout.
    let migrating = ikawaari::db::connect_unbounded(&db.database_url, 1).await?;
    ikawaari::db::migrate(&migrating).await?;
    migrating.close().await?;
    let conn = ikawaari::db::connect(&db.database_url, 10).await?;
    // PostgreSQL: reads on a pool of their own, without the release check
    // the write pool needs.
    let reads = if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        ikawaari::db::connect_reads(&db.database_url, 10).await?
    } else {
        conn.clone()
    };
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    let addr = listener.local_addr()?;
    let mut config = Config::new(&db, &args, addr);
    config.secrets_key = ikawaari::config::load_secrets_key(&args)?;
    let state = AppState::with_pools(reads, conn, config, Clock::default());
    match credentials::seed_demo(&state).await.map_err(describe)? {
        Some((m, key)) => {
            println!("merchant: {} ({})", m.id, m.display_name);
            println!("test key: {}", key.secret);
        }
        None => println!(
            "test key: shown once at first start; create another with `ikawaari key create --merchant acct_… --mode test`"
        ),
    }
    println!("API: http://{addr}/api/v1");
    println!("Swagger UI: http://{addr}/swagger-ui");
    println!("GraphiQL: http://{addr}/graphql");
    println!("listening on {addr}");
    ikawaari::workers::recover(&state).await.map_err(describe)?;
    ikawaari::service::connector::warn_if_insecure(&state)
        .await
        .map_err(describe)?;
    ikawaari::workers::spawn(state.clone());
    let config = state.config.clone();
    let stop = state.shutdown.clone();
    let app = ikawaari::build_app(state);
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        stop.cancel();
    };
    ikawaari::run(listener, app, &config, shutdown).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn seed(
    db: &DbArgs,
    n: u64,
    merchant: Option<String>,
    first: u64,
    open: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    use sea_orm::{EntityTrait, QueryOrder};
    let state = state_for(db).await?;
    let merchant = match merchant {
        Some(m) => ikawaari::domain::MerchantId::parse(&m).ok_or("no such merchant id")?,
        None => {
            entity::merchant::Entity::find()
                .order_by_asc(entity::merchant::Column::Created)
                .one(&state.db)
                .await?
                .ok_or("no merchant: run `ikawaari merchant create` or `serve` first")?
                .id
        }
    };
    let now = state.clock.now();
    ikawaari::seed::sessions(&state, &merchant, first, n, now, open)
        .await
        .map_err(describe)?;
    println!("seeded {n} sessions for {merchant}");
    Ok(())
}
