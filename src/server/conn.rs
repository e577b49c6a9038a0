//! One connection's bookkeeping: when bytes last moved, whether a request
//! is in flight, when its headers began — what the watchdog's deadlines are
//! computed from — and the TCP stream wrapper that records it.
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Limits;

const NONE: u64 = u64::MAX;

/// What the watchdog needs to know about one connection, in milliseconds
/// since the connection opened.
pub(super) struct Activity {
    opened: Instant,
    last_io: AtomicU64,
    /// When the bytes of a request not yet handed to the app began to arrive.
    head_started: AtomicU64,
    in_flight: AtomicU32,
    upgraded: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// Woken when a deadline may have moved nearer.
    pub(super) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    pub(super) fn new() -> Self {
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

    pub(super) fn deadline(&self, limits: Limits) -> Option<Instant> {
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
pub(super) struct InFlight {
    activity: Arc<Activity>,
}

impl InFlight {
    /// The response switched protocols: no connection deadline from now on.
    pub(super) fn mark_upgraded(&self) {
        self.activity.upgraded.store(true, Ordering::Relaxed);
    }

    pub(super) fn start(activity: Arc<Activity>) -> Self {
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
pub(super) struct Tracked {
    inner: TcpStream,
    /// The connection's place under the cap, held as long as the socket is
    /// open: an upgraded WebSocket outlives hyper's connection task, and
    /// keeps its place until the socket closes.
    _permit: tokio::sync::OwnedSemaphorePermit,
    activity: Arc<Activity>,
    /// A replacement being written: (bytes, written so far, length of hyper's original).
    rewrite: Option<(Vec<u8>, usize, usize)>,
    /// The origin of `doc_url`s (`rest::ops::docs_origin`).
    docs: Arc<str>,
}

/// hyper's own error answer (`HTTP/1.1 400 Bad Request` or `431 …` with
/// `content-length: 0`, written at once) → the same status with a §6 body
/// and `connection: close`. The app never sends a 400 or 431 without a body.
fn shaped_protocol_error(head: &[u8], docs: &str) -> Option<Vec<u8>> {
    use crate::error::codes::{REQUEST_HEADERS_TOO_LARGE, REQUEST_MALFORMED};
    let (status, entry) = if head.starts_with(b"HTTP/1.1 400 ") {
        ("400 Bad Request", &REQUEST_MALFORMED)
    } else if head.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            &REQUEST_HEADERS_TOO_LARGE,
        )
    } else {
        return None;
    };
    let (code, message) = (entry.code, entry.en);
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let lower = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0") {
        return None;
    }
    // Like every error: an id (in the header too) and its code's doc page.
    let request_id = crate::domain::ids::new_id("req");
    tracing::info!(%request_id, status, "request refused before it reached the app");
    let body = serde_json::json!({"error": {
        "type": entry.r#type, "code": code, "message": message,
        "request_id": request_id, "doc_url": format!("{docs}/docs/errors#{code}"),
    }})
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nrequest-id: {request_id}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl Tracked {
    pub(super) fn new(
        inner: TcpStream,
        activity: Arc<Activity>,
        permit: tokio::sync::OwnedSemaphorePermit,
        docs: Arc<str>,
    ) -> Self {
        Tracked {
            inner,
            _permit: permit,
            activity,
            rewrite: None,
            docs,
        }
    }

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
            && let Some(bytes) = shaped_protocol_error(buf, &self.docs)
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
