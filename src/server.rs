//! The HTTP/1.1 server loop: hyper's connection driver with the limits
//! `axum::serve` does not have (SPEC §10) — a cap on concurrent connections
//! (beyond it new connections wait in the listen backlog while existing ones
//! keep being served), a deadline to receive a request's headers (slowloris),
//! an idle keep-alive deadline, and graceful shutdown.
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
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
/// in-flight requests (at most 30 s) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
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
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: activity.clone(),
            rewrite: None,
        });
        let service = connection_service(app.clone(), peer, activity.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(io, service)
            .with_upgrades();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let _permit = permit;
            watchdog(conn, &activity, limits, stopping).await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends.
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
                guard.activity.upgraded.store(true, Ordering::Relaxed);
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
            _ = activity.changed.notified() => {}
            _ = stopping.wait_for(|s| *s), if !graceful => {
                graceful = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

const NONE: u64 = u64::MAX;

/// What the watchdog needs to know about one connection, in milliseconds
/// since the connection opened.
struct Activity {
    opened: Instant,
    last_io: AtomicU64,
    /// When the bytes of a request not yet handed to the app began to arrive.
    head_started: AtomicU64,
    in_flight: AtomicU32,
    upgraded: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_io: AtomicU64::new(0),
            // A new connection owes its first request's headers.
            head_started: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            upgraded: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.opened + Duration::from_millis(ms)
    }

    fn deadline(&self, limits: Limits) -> Option<Instant> {
        if self.upgraded.load(Ordering::Relaxed) || self.in_flight.load(Ordering::Relaxed) > 0 {
            // Handlers have their own timeouts; WebSockets their own protocol.
            return None;
        }
        match self.head_started.load(Ordering::Relaxed) {
            NONE => Some(self.at(self.last_io.load(Ordering::Relaxed)) + limits.keepalive_timeout),
            started => Some(self.at(started) + limits.header_timeout),
        }
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self
                .head_started
                .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // The idle deadline became a (nearer) header deadline.
            self.changed.notify_one();
        }
    }
}

/// Marks a request in flight from its headers' arrival until its response.
struct InFlight {
    activity: Arc<Activity>,
}

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.head_started.store(NONE, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.changed.notify_one();
        InFlight { activity }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.activity;
        a.last_io.store(a.now_ms(), Ordering::Relaxed);
        a.in_flight.fetch_sub(1, Ordering::Relaxed);
        a.changed.notify_one();
    }
}

/// The TCP stream, noting when bytes move. It also gives hyper's own
/// bodiless answers to requests it could not parse (`400`, `431`: they
/// never reach the app) the one error shape.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// A replacement being written: (bytes, written so far, length of hyper's original).
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

/// hyper's own error answer (`HTTP/1.1 400 Bad Request` or `431 …` with
/// `content-length: 0`, written at once) → the same status with a §6 body
/// and `connection: close`. The app never sends a 400 or 431 without a body.
fn shaped_protocol_error(head: &[u8]) -> Option<Vec<u8>> {
    let (status, code, message) = if head.starts_with(b"HTTP/1.1 400 ") {
        (
            "400 Bad Request",
            "request_malformed",
            "The request is not valid HTTP/1.1.",
        )
    } else if head.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            "request_headers_too_large",
            "The request's headers are too large.",
        )
    } else {
        return None;
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let lower = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0") {
        return None;
    }
    let body = serde_json::json!({"error": {
        "type": "invalid_request_error", "code": code, "message": message,
    }})
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl Tracked {
    /// Writes the pending replacement; reports hyper's original as written.
    fn drain_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        while let Some((bytes, done, original)) = &mut self.rewrite {
            if *done == bytes.len() {
                let n = *original;
                self.rewrite = None;
                return Poll::Ready(Ok(n));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *done += n,
                other => return other,
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.rewrite.is_none()
            && let Some(bytes) = shaped_protocol_error(buf)
        {
            self.rewrite = Some((bytes, 0, buf.len()));
        }
        if self.rewrite.is_some() {
            return self.drain_rewrite(cx);
        }
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            let a = &self.activity;
            a.last_io.store(a.now_ms(), Ordering::Relaxed);
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if (self.rewrite.is_some() || bufs.iter().filter(|b| !b.is_empty()).count() == 1)
            && let Some(one) = bufs.iter().find(|b| !b.is_empty())
        {
            return self.poll_write(cx, one);
        }
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            let a = &self.activity;
            a.last_io.store(a.now_ms(), Ordering::Relaxed);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
