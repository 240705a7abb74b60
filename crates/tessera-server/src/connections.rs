//! The accept loop: how many connections the server holds, and how long each may sit idle or
//! take to send a request.
//!
//! `axum::serve` sets no timer on hyper, so a connection that never finishes its headers, or
//! never sends anything, stays open forever, and it accepts without limit: an attacker with a few
//! hundred sockets exhausts the process's file descriptors, and then the store cannot open its
//! files either. This loop replaces it:
//!
//! - **Header-read timeout**: the first byte must arrive within `header_read_timeout` of the
//!   connection opening (checked here), and then hyper's HTTP/1 timer requires the request line
//!   and headers within `header_read_timeout` of the connection being ready for a request — when
//!   it opens, or when the previous answer has been sent — so it also bounds an idle keep-alive
//!   connection.
//! - **Idle timeout** (a watchdog per connection): a connection with no request in progress for
//!   `idle_timeout` is shut down gracefully. HTTP/2 has no header timer, so this is what closes
//!   its idle connections. A request is in progress until its answer's body has been sent, so a
//!   long-lived event stream (the revocation feed) is never cut.
//! - **Connection cap**: a permit per connection. At the cap the loop stops accepting; new
//!   connections wait in the kernel's listen queue until one closes (back-pressure), rather than
//!   being accepted and dropped. The cap is lowered at start-up to fit the open-file limit.
//! - **Header size**: hyper's read buffer (HTTP/1) and header list (HTTP/2) are capped at
//!   `max_header_bytes`; a larger request head gets `431` and the connection closes.
//!
//! Each request carries the peer address as [`ConnectInfo`], for per-source limits.

use axum::extract::ConnectInfo;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// Concurrent HTTP/2 streams per connection: enough for a browser's parallel requests, few
/// enough that one connection cannot start thousands of handlers at once.
const HTTP2_MAX_CONCURRENT_STREAMS: u32 = 100;

/// File descriptors kept for everything but client connections: the store's files and pool,
/// the key-encryption key, outgoing back-channel and feed connections, logs.
const RESERVED_FILE_DESCRIPTORS: u64 = 128;

/// The smallest cap the open-file limit may lower `max_connections` to.
const MIN_CONNECTIONS: usize = 16;

/// After the shutdown signal, how long open connections get to finish their answers before the
/// server stops anyway (an event stream never finishes by itself).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long an idle connection told to close gets to do so before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The limits the accept loop enforces (`[http]` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time allowed for a request line and headers, from when the connection is ready for one.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Largest request head in bytes.
    pub max_header_bytes: usize,
}

impl ConnectionLimits {
    /// Lowers `max_connections` to what the process's open-file limit leaves after
    /// [`RESERVED_FILE_DESCRIPTORS`], first raising the soft limit to the hard one (as Go's
    /// runtime and most servers do). Returns a warning when the cap had to be lowered.
    pub fn fit_to_open_file_limit(&mut self) -> Option<String> {
        let available = open_file_limit()?;
        let fits = connections_that_fit(available);
        if fits >= self.max_connections {
            return None;
        }
        let warning = format!(
            "http.max_connections lowered from {} to {fits}: the open-file limit is {available} \
             and {RESERVED_FILE_DESCRIPTORS} are kept for the store and outgoing connections \
             (raise it with `ulimit -n` or LimitNOFILE= in the systemd unit)",
            self.max_connections
        );
        self.max_connections = fits;
        Some(warning)
    }
}

/// How many client connections an open-file limit leaves room for.
fn connections_that_fit(open_file_limit: u64) -> usize {
    usize::try_from(open_file_limit.saturating_sub(RESERVED_FILE_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(MIN_CONNECTIONS)
}

/// The soft open-file limit after raising it as far as the hard limit allows; `None` when
/// unlimited or unknown.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        // Failing to raise it is not an error: the current limit is then what we fit into.
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Accepts connections on `listener` and serves `app` on each under `limits` until `shutdown`
/// completes; then stops accepting, lets open connections finish (at most
/// [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(HTTP2_MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stop) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        // Take a permit before accepting: at the cap, connections queue in the kernel.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors or a connection reset before accept: wait a little
                    // rather than spin, and keep serving the connections already open.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_one(&builder, stream, peer, app, limits, stop).await;
            drop(permit);
        });
    }

    drop(listener);
    stopping.send_replace(true);
    // Every connection holds a permit until it ends: holding them all means all have ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("stopping with connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Serves one connection until the peer closes it, it errs, it is idle too long, or the server
/// stops.
async fn serve_one(
    builder: &auto::Builder<TokioExecutor>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    // hyper-util reads the first bytes (to tell HTTP/1 from HTTP/2) with no timer, and hyper's
    // header timer starts only after that, so a socket that never sends a byte would be held
    // until the idle timeout. The first byte must arrive within the header-read timeout.
    let mut first_byte = [0u8; 1];
    match tokio::time::timeout(limits.header_read_timeout, stream.peek(&mut first_byte)).await {
        Ok(Ok(read)) if read > 0 => {}
        Ok(Ok(_)) | Ok(Err(_)) => return,
        Err(_) => {
            tracing::debug!(%peer, "closing a connection that sent nothing");
            return;
        }
    }
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_progress = activity.begin();
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await?;
                // The request stays in progress until its body has been sent (or dropped).
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    axum::body::Body::new(body.map_frame(move |frame| {
                        let _ = &in_progress;
                        frame
                    }))
                }))
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let mut shutting_down = false;
    let idle_close_deadline = tokio::time::sleep(Duration::MAX);
    tokio::pin!(idle_close_deadline);
    let mut closing_idle = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    // Header timeouts, oversized heads, resets: the client's doing, not ours.
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                return;
            }
            () = activity.idle_for(limits.idle_timeout), if !shutting_down => {
                tracing::debug!(%peer, "closing an idle connection");
                connection.as_mut().graceful_shutdown();
                shutting_down = true;
                closing_idle = true;
                idle_close_deadline.as_mut().reset(Instant::now() + IDLE_CLOSE_GRACE);
            }
            // HTTP/2's graceful close waits for the peer to acknowledge a PING; a peer that
            // never answers would keep the connection (and its permit) forever.
            () = &mut idle_close_deadline, if closing_idle => {
                tracing::debug!(%peer, "dropping an idle connection that did not close");
                return;
            }
            _ = stop.wait_for(|stopping| *stopping), if !shutting_down => {
                connection.as_mut().graceful_shutdown();
                shutting_down = true;
            }
        }
    }
}

/// Requests in progress on one connection and when the last one began or ended.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    in_progress: AtomicUsize,
    /// Milliseconds after `opened` of the last change of `in_progress`.
    last_change_ms: AtomicU64,
}

/// Marks a request in progress until dropped.
#[derive(Debug)]
struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_progress: AtomicUsize::new(0),
            last_change_ms: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> InProgress {
        self.in_progress.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InProgress(self.clone())
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.store(ms, Ordering::Release);
    }

    fn last_change(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_change_ms.load(Ordering::Acquire))
    }

    /// Completes once no request has been in progress for `idle_timeout`. It wakes at most once
    /// per `idle_timeout` (plus once after each quiet spell), so it costs nothing per request.
    async fn idle_for(&self, idle_timeout: Duration) {
        let mut deadline = self.last_change() + idle_timeout;
        loop {
            tokio::time::sleep_until(deadline).await;
            if self.in_progress.load(Ordering::Acquire) > 0 {
                deadline = Instant::now() + idle_timeout;
                continue;
            }
            let quiet_until = self.last_change() + idle_timeout;
            if Instant::now() >= quiet_until {
                return;
            }
            deadline = quiet_until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 300 idle sockets under a 256-descriptor limit once left the store no descriptor to open
    /// its files: the cap must leave the reserve free.
    #[test]
    fn the_cap_leaves_descriptors_for_the_store() {
        assert_eq!(connections_that_fit(256), 128);
        assert_eq!(connections_that_fit(1_048_576), 1_048_448);
        // A limit too small to honour the reserve still serves a few connections.
        assert_eq!(connections_that_fit(100), MIN_CONNECTIONS);
    }

    #[tokio::test]
    async fn idle_means_no_request_in_progress_for_the_whole_timeout() {
        let activity = Arc::new(Activity::new());
        let timeout = Duration::from_millis(100);
        let request = activity.begin();
        // A request in progress (an event stream, say) is never idle, however long it lasts.
        let idle = tokio::time::timeout(10 * timeout, activity.idle_for(timeout));
        assert!(idle.await.is_err());
        drop(request);
        let ended = Instant::now();
        activity.idle_for(timeout).await;
        assert!(Instant::now() >= ended + timeout);
    }
}
