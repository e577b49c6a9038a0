//! The HTTP/1.1 server loop: hyper's connection driver with the limits
//! `axum::serve` does not have (SPEC §10) — a cap on concurrent connections
//! (beyond it new connections wait in the listen backlog while existing ones
//! keep being served), a deadline to receive a request's headers (slowloris),
//! an idle keep-alive deadline, and graceful shutdown.
mod conn;

use conn::{Activity, InFlight, Tracked};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    /// From a connection's first byte (or its opening) to a request's last header byte.
    pub header_timeout: Duration,
    /// Idle time between requests before the server closes a keep-alive connection.
    pub keepalive_timeout: Duration,
}

/// State-changing requests (anything but GET, HEAD, OPTIONS) run in their
/// own task: once started they finish whether or not the client is still
/// there, so a disconnect never cancels a transaction half way (sqlx 0.9.0
/// leaves a PostgreSQL connection inside a transaction when `BEGIN` is
/// cancelled) and never leaves a claim or an idempotency key dangling.
pub async fn run_to_completion(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    use tracing::Instrument;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(res) => res,
        Err(e) => crate::error::Error::Internal(format!("request task: {e}")).into_response(),
    }
}

/// The configured cap, lowered to what the process's file-descriptor limit
/// allows (less a reserve for the database pool, logs and the listener), so
/// clients can never exhaust descriptors.
fn connection_cap(configured: usize) -> usize {
    const RESERVE: u64 = 256;
    let mut cap = configured.clamp(1, Semaphore::MAX_PERMITS);
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0
            && lim.rlim_cur != libc::RLIM_INFINITY
        {
            let allowed = lim.rlim_cur.saturating_sub(RESERVE).max(1) as usize;
            if allowed < cap {
                tracing::warn!(
                    configured,
                    allowed,
                    "IKAWAARI_MAX_CONNECTIONS is above the open-file limit: using the limit"
                );
                cap = allowed;
            }
        }
    }
    cap
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes
/// in-flight requests (at most 30 s) and returns. `docs`: the origin of the
/// `doc_url` of the errors answered before the app (`rest::ops::docs_origin`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    docs: Arc<str>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connection_cap(limits.max_connections);
    let permits = Arc::new(Semaphore::new(cap));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the
                    // connections already open keep being served.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked::new(stream, activity.clone(), permit, docs.clone()));
        let service = connection_service(app.clone(), peer, activity.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(io, service)
            .with_upgrades();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            watchdog(conn, &activity, limits, stopping).await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection (an upgraded WebSocket too) holds a permit until it ends.
    let all_closed = permits.acquire_many(cap as u32);
    if tokio::time::timeout(Duration::from_secs(30), all_closed)
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after 30 s, closing them");
    }
    Ok(())
}

/// One connection's service: the router, with the peer address as axum's
/// `ConnectInfo` and the connection's activity kept up to date.
fn connection_service(
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = PinFut,
> + Clone {
    let f = move |mut req: hyper::Request<Incoming>| -> PinFut {
        req.extensions_mut().insert(ConnectInfo(peer));
        let guard = InFlight::start(activity.clone());
        let app = app.clone();
        Box::pin(async move {
            let res = app.oneshot(req).await;
            if let Ok(r) = &res
                && r.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS
            {
                guard.mark_upgraded();
            }
            drop(guard);
            res
        })
    };
    hyper::service::service_fn(f)
}

type PinFut = Pin<
    Box<
        dyn std::future::Future<Output = Result<axum::response::Response, std::convert::Infallible>>
            + Send,
    >,
>;

/// Drives `conn`, closes it when a deadline passes with nothing in flight,
/// and lets it finish its request in flight when the server stops.
async fn watchdog<I, S>(
    conn: hyper::server::conn::http1::UpgradeableConnection<I, S>,
    activity: &Activity,
    limits: Limits,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    let mut graceful = false;
    loop {
        let deadline = activity.deadline(limits);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut conn => return,
            _ = sleep => {
                if activity.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                    // Dropping the connection closes the socket.
                    return;
                }
            }
            _ = activity.changed() => {}
            _ = stopping.wait_for(|s| *s), if !graceful => {
                graceful = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
