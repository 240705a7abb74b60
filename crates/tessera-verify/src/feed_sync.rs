//! Keeping a [`RevocationMirror`] in sync with Tessera's revocation feed over HTTP
//! (`docs/revocation-feed.md`).
//!
//! [`FeedSync`] loads a snapshot (`GET /revocations`), then follows the Server-Sent Events
//! stream (`GET /revocations/stream`, resuming with `Last-Event-ID`). While the stream is down
//! it polls `GET /revocations?after=` every second and reconnects with backoff. It calls
//! [`RevocationMirror::mark_synced`] whenever the mirror is known current: after a snapshot,
//! each event, each successful poll and each keep-alive comment. If it cannot keep the mirror
//! current, the mirror goes stale and [`RevocationMirror::check`] refuses tokens (fail closed).
//!
//! It sends the client secret with every request, so it talks only `https`, or `http` to a
//! loopback host (`127.0.0.0/8`, `::1`, `localhost`), unless
//! [`insecure_allow_http`](FeedSync::insecure_allow_http) is set; any other URL ends the sync
//! before a single request is sent. Redirects are not followed. Each response body (a snapshot,
//! a page) and each SSE line and event is refused once it passes
//! [`max_response_bytes`](FeedSync::max_response_bytes) (default
//! [`DEFAULT_MAX_FEED_BYTES`]).
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use tessera_verify::feed_sync::FeedSync;
//! use tessera_verify::revocation::RevocationMirror;
//!
//! let mirror = Arc::new(RevocationMirror::new());
//! let sync = FeedSync::new("https://id.example.com", "orders-api", "s3cret", mirror.clone())
//!     .spawn();
//! // … in each request, after `verifier.verify_access_token(..)`:
//! // mirror.check(&token, now, Duration::from_secs(30))?;
//! # drop(sync);
//! # }
//! ```

use crate::clock::{Clock, SystemClock};
use crate::http::{self, BodyError, UrlRefusal};
use crate::revocation::{parse_cursor, FeedEntry, FeedPage, MirrorError, RevocationMirror};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

/// Entries asked for per poll (the server's maximum).
const POLL_LIMIT: usize = 1000;
/// The default limit on a response body of the feed (a page of entries or of a snapshot) and
/// on each SSE line and event: 32 MiB. The server sends at most 1000 entries in one, far
/// below it; snapshots larger than that come in several pages, each within the limit.
pub const DEFAULT_MAX_FEED_BYTES: usize = 32 * 1024 * 1024;
/// How often expired entries are dropped from the mirror.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Timeout of a snapshot or poll request, and of opening the stream.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of establishing a connection (as [`RemoteOptions`](crate::remote::RemoteOptions)).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a sync step failed. Reported to the [`on_error`](FeedSync::on_error) hook; the sync goes
/// on (retrying with backoff).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedSyncError {
    /// The request failed (connection, timeout, body).
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an unexpected status (`401`: the client id or secret is wrong).
    #[error("the feed answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The server refused the cursor (`400`): its database is not the one the cursor came from.
    /// The mirror is reloaded from a snapshot.
    #[error("the feed refused the cursor; reloading from a snapshot")]
    CursorRefused,
    /// The answer was not the documented JSON or SSE.
    #[error("malformed feed data: {0}")]
    Malformed(String),
    /// Entries could not be applied (for instance an unknown kind: update this library).
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// Nothing arrived on the stream, not even a keep-alive, for too long.
    #[error("the stream was silent too long")]
    Silent,
    /// The stream ended.
    #[error("the stream ended")]
    Ended,
    /// A request timed out.
    #[error("the request timed out")]
    Timeout,
    /// The feed's URL is not `https` (plain `http` is allowed only for loopback hosts, or with
    /// [`FeedSync::insecure_allow_http`]), or a response came from such a URL. Nothing was sent
    /// to it; the sync stops, since retrying cannot help.
    #[error("the feed URL {url} must use https (http only for loopback hosts)")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// The feed's URL is not a valid absolute URL; the sync stops.
    #[error("the feed URL {url:?} is not a valid absolute URL")]
    InvalidUrl {
        /// The text that was given.
        url: String,
    },
    /// A response body, or one SSE line or event, is larger than
    /// [`FeedSync::max_response_bytes`].
    #[error("a feed response or event is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

type ErrorHook = Arc<dyn Fn(&FeedSyncError) + Send + Sync>;

/// Keeps a [`RevocationMirror`] current from Tessera's feed. Build it, then
/// [`spawn`](Self::spawn) it on a tokio runtime (or await [`run`](Self::run)).
pub struct FeedSync {
    mirror: Arc<RevocationMirror>,
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: String,
    insecure_allow_http: bool,
    max_response_bytes: usize,
    clock: Arc<dyn Clock>,
    poll_interval: Duration,
    max_backoff: Duration,
    silence_timeout: Duration,
    on_error: Option<ErrorHook>,
    last_prune: Mutex<Option<Instant>>,
}

impl fmt::Debug for FeedSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedSync")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("poll_interval", &self.poll_interval)
            .field("insecure_allow_http", &self.insecure_allow_http)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl FeedSync {
    /// Syncs `mirror` from the issuer at `base_url` (for example `https://id.example.com`),
    /// authenticating as the confidential client `client_id` with `client_secret` (HTTP Basic).
    ///
    /// The URL is checked when the sync starts ([`run`](Self::run)): it must be `https`, or
    /// `http` to a loopback host, unless [`insecure_allow_http`](Self::insecure_allow_http).
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        mirror: Arc<RevocationMirror>,
    ) -> Self {
        Self {
            mirror,
            // Building the client fails only when the TLS backend cannot initialise, when
            // `reqwest::Client::new` panics too; falling back to it keeps that behaviour rather
            // than hiding the failure.
            http: http::client(None, CONNECT_TIMEOUT).unwrap_or_else(|_| reqwest::Client::new()),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            insecure_allow_http: false,
            max_response_bytes: DEFAULT_MAX_FEED_BYTES,
            clock: Arc::new(SystemClock),
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(45),
            on_error: None,
            last_prune: Mutex::new(None),
        }
    }

    /// Reads time from `clock` for [`RevocationMirror::mark_synced`] (default: the system
    /// clock). Use the same clock for `now` in [`RevocationMirror::check`].
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `http` for requests (proxies, TLS roots, …). It must not have a total request
    /// timeout, or the stream will be cut at that timeout (it is then resumed). It should not
    /// follow redirects (`reqwest::redirect::Policy::none()`): the URL rule is checked before
    /// each request, and a response that arrives from a refused URL after a redirect is
    /// refused, but by then the request has been sent there.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Allows plain `http` to any host (default `false`: only loopback hosts such as
    /// `127.0.0.1`, `::1` and `localhost` may use `http`).
    ///
    /// **Security warning:** only for development. Every request carries the client secret,
    /// and over plain HTTP anyone on the path reads it, and can also hide revocations from the
    /// mirror.
    pub fn insecure_allow_http(mut self, allow: bool) -> Self {
        self.insecure_allow_http = allow;
        self
    }

    /// Sets the largest response body (a snapshot or a page), SSE line and SSE event accepted
    /// (default [`DEFAULT_MAX_FEED_BYTES`]). Anything larger fails with
    /// [`FeedSyncError::TooLarge`] without being read whole.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// How often to poll while the stream is down (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Calls `hook` on every failure (to log it). Failures are otherwise silent; the sync goes
    /// on.
    pub fn on_error(mut self, hook: impl Fn(&FeedSyncError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Runs [`run`](Self::run) on the current tokio runtime. Abort the handle to stop.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Keeps the mirror current, forever; returns only when the URL is refused
    /// ([`FeedSyncError::InsecureUrl`] or [`FeedSyncError::InvalidUrl`], reported to the
    /// [`on_error`](Self::on_error) hook first), before any request is sent.
    pub async fn run(self) {
        if let Err(err) = self.url("") {
            self.report(&err);
            return;
        }
        let mut failures: u32 = 0;
        let mut need_snapshot = true;
        loop {
            if need_snapshot || self.mirror.cursor().is_none() {
                if let Err(err) = self.snapshot().await {
                    self.report(&err);
                    if is_refused_url(&err) {
                        return;
                    }
                    failures = failures.saturating_add(1);
                    sleep(self.backoff(failures)).await;
                    continue;
                }
            }
            let mut delivered = false;
            let error = match self.stream(&mut delivered).await {
                Ok(()) => FeedSyncError::Ended,
                Err(err) => err,
            };
            if delivered {
                failures = 0;
            }
            failures = failures.saturating_add(1);
            need_snapshot = forces_snapshot(&error);
            self.report(&error);
            if is_refused_url(&error) {
                return;
            }
            if need_snapshot {
                sleep(self.backoff(failures).min(self.poll_interval)).await;
                continue;
            }
            // The stream is down: poll until it is time to reconnect.
            let reconnect_at = Instant::now() + self.backoff(failures);
            loop {
                let wait = self
                    .poll_interval
                    .min(reconnect_at.saturating_duration_since(Instant::now()));
                sleep(wait).await;
                if Instant::now() >= reconnect_at {
                    break;
                }
                if let Err(err) = self.poll().await {
                    self.report(&err);
                    if is_refused_url(&err) {
                        return;
                    }
                    if forces_snapshot(&err) {
                        need_snapshot = true;
                        break;
                    }
                    if matches!(err, FeedSyncError::Status { status: 401 }) {
                        // Wrong credentials: no point asking every second.
                        sleep(reconnect_at.saturating_duration_since(Instant::now())).await;
                        break;
                    }
                }
            }
        }
    }

    fn report(&self, err: &FeedSyncError) {
        if let Some(hook) = &self.on_error {
            hook(err);
        }
    }

    /// 1 s, 2 s, 4 s, … up to the maximum.
    fn backoff(&self, failures: u32) -> Duration {
        let secs = 1u64 << failures.saturating_sub(1).min(6);
        Duration::from_secs(secs).min(self.max_backoff)
    }

    /// Records that the mirror is current, and drops expired entries once a minute.
    fn mark_synced(&self) {
        let now = self.clock.now_unix();
        self.mirror.mark_synced(now);
        let mut last_prune = self.last_prune.lock().unwrap_or_else(|p| p.into_inner());
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL) {
            *last_prune = Some(Instant::now());
            self.mirror.prune(now);
        }
    }

    /// The URL of `path` on the feed, if the URL policy allows it.
    fn url(&self, path: &str) -> Result<reqwest::Url, FeedSyncError> {
        let url = format!("{}{path}", self.base_url);
        http::checked_url(&url, self.insecure_allow_http).map_err(|refusal| match refusal {
            UrlRefusal::Invalid => FeedSyncError::InvalidUrl { url },
            UrlRefusal::Insecure => FeedSyncError::InsecureUrl { url },
        })
    }

    /// `GET path` with the client's credentials; refused, before anything is sent, when the
    /// URL breaks the policy.
    fn get(&self, path: &str) -> Result<reqwest::RequestBuilder, FeedSyncError> {
        let url = self.url(path)?;
        Ok(self.http.get(url).basic_auth(
            form_urlencode(&self.client_id),
            Some(form_urlencode(&self.client_secret)),
        ))
    }

    /// Checks where a response came from: a caller's own client may have followed a redirect.
    fn check_response(&self, response: &reqwest::Response) -> Result<(), FeedSyncError> {
        if http::url_allowed(response.url(), self.insecure_allow_http) {
            Ok(())
        } else {
            Err(FeedSyncError::InsecureUrl {
                url: response.url().to_string(),
            })
        }
    }

    /// `GET path`, answered with a page of at most `max_response_bytes`.
    async fn get_page(&self, path: &str) -> Result<FeedPage, FeedSyncError> {
        let mut response = self.get(path)?.timeout(REQUEST_TIMEOUT).send().await?;
        self.check_response(&response)?;
        check_status(response.status().as_u16())?;
        let body = http::read_body(&mut response, self.max_response_bytes)
            .await
            .map_err(|err| match err {
                BodyError::Http(err) => FeedSyncError::Http(err),
                BodyError::TooLarge => FeedSyncError::TooLarge {
                    limit: self.max_response_bytes,
                },
            })?;
        serde_json::from_slice(&body).map_err(|err| FeedSyncError::Malformed(err.to_string()))
    }

    /// Loads a snapshot, replacing the mirror.
    async fn snapshot(&self) -> Result<(), FeedSyncError> {
        let first = self.get_page("/revocations").await?;
        self.load_snapshot(first).await
    }

    /// Follows the pages of a snapshot from its first, then replaces the mirror with all of
    /// them at once: until then the mirror keeps what it had.
    async fn load_snapshot(&self, first: FeedPage) -> Result<(), FeedSyncError> {
        let mut snapshot = SnapshotPages::begin(first);
        while let Some(next) = snapshot.next.clone() {
            let page = self
                .get_page(&format!("/revocations?page={}", form_urlencode(&next)))
                .await?;
            snapshot.add(page)?;
        }
        self.mirror
            .apply_snapshot(&snapshot.entries, snapshot.cursor)?;
        self.mark_synced();
        Ok(())
    }

    /// Reads every page after the mirror's cursor.
    async fn poll(&self) -> Result<(), FeedSyncError> {
        loop {
            let Some(cursor) = self.mirror.cursor() else {
                return self.snapshot().await;
            };
            let page = self
                .get_page(&format!("/revocations?after={cursor}&limit={POLL_LIMIT}"))
                .await?;
            if page.resync {
                return self.load_snapshot(page).await;
            }
            self.mirror.apply_entries(&page.entries, page.cursor)?;
            self.mark_synced();
            if page.entries.len() < POLL_LIMIT {
                return Ok(());
            }
        }
    }

    /// Follows the stream from the mirror's cursor until it ends or fails; `delivered` tells
    /// whether any event was applied.
    async fn stream(&self, delivered: &mut bool) -> Result<(), FeedSyncError> {
        let mut request = self.get("/revocations/stream")?;
        if let Some(cursor) = self.mirror.cursor() {
            request = request.header("Last-Event-ID", cursor.to_string());
        }
        let mut response = timeout(REQUEST_TIMEOUT, request.send())
            .await
            .map_err(|_| FeedSyncError::Timeout)??;
        self.check_response(&response)?;
        check_status(response.status().as_u16())?;
        let mut parser = SseParser::new(self.max_response_bytes);
        // The pages of a snapshot received so far, while more are to come.
        let mut snapshot: Option<SnapshotPages> = None;
        loop {
            let chunk = timeout(self.silence_timeout, response.chunk())
                .await
                .map_err(|_| FeedSyncError::Silent)??;
            let Some(chunk) = chunk else {
                return Ok(());
            };
            for item in parser.push(&chunk)? {
                match item {
                    SseItem::Comment => {
                        self.mark_synced();
                        *delivered = true;
                    }
                    SseItem::Event(event) => {
                        self.apply_event(&event, &mut snapshot)?;
                        *delivered = true;
                    }
                }
            }
        }
    }

    fn apply_event(
        &self,
        event: &SseEvent,
        snapshot: &mut Option<SnapshotPages>,
    ) -> Result<(), FeedSyncError> {
        let malformed = |err: serde_json::Error| FeedSyncError::Malformed(err.to_string());
        match event.name.as_str() {
            "snapshot" | "resync" | "snapshot-continued" => {
                let page: FeedPage = serde_json::from_str(&event.data).map_err(malformed)?;
                let pages = if event.name == "snapshot-continued" {
                    let mut pages = snapshot.take().ok_or_else(|| {
                        FeedSyncError::Malformed("snapshot-continued without a snapshot".into())
                    })?;
                    pages.add(page)?;
                    pages
                } else {
                    SnapshotPages::begin(page)
                };
                if pages.next.is_some() {
                    // More pages follow: the mirror keeps what it had until the last.
                    *snapshot = Some(pages);
                    return Ok(());
                }
                self.mirror.apply_snapshot(&pages.entries, pages.cursor)?;
            }
            _ => {
                // An entry; its kind (known or not) is judged by the mirror.
                let entry: FeedEntry = serde_json::from_str(&event.data).map_err(malformed)?;
                let cursor = event
                    .id
                    .as_deref()
                    .and_then(parse_cursor)
                    .unwrap_or(entry.cursor);
                self.mirror
                    .apply_entries(std::slice::from_ref(&entry), cursor)?;
            }
        }
        self.mark_synced();
        Ok(())
    }
}

/// A snapshot being gathered page by page (`docs/revocation-feed.md`: a snapshot larger than a
/// page comes in several).
struct SnapshotPages {
    entries: Vec<FeedEntry>,
    cursor: u64,
    next: Option<String>,
}

impl SnapshotPages {
    fn begin(first: FeedPage) -> Self {
        Self {
            entries: first.entries,
            cursor: first.cursor,
            next: first.next,
        }
    }

    /// Adds the next page, which must belong to the same snapshot.
    fn add(&mut self, page: FeedPage) -> Result<(), FeedSyncError> {
        if !page.resync || page.cursor != self.cursor {
            return Err(FeedSyncError::Malformed(
                "a snapshot page does not continue its snapshot".into(),
            ));
        }
        self.entries.extend(page.entries);
        self.next = page.next;
        Ok(())
    }
}

/// Whether `err` means the mirror must be reloaded from a snapshot: the cursor was refused, or
/// entries could not be applied (an unknown kind: the snapshot will tell whether it is still
/// live; while it is, the mirror stays unsynced and goes stale).
fn forces_snapshot(err: &FeedSyncError) -> bool {
    matches!(err, FeedSyncError::CursorRefused | FeedSyncError::Mirror(_))
}

/// Whether `err` means the feed's URL is refused: retrying cannot help, so the sync stops.
fn is_refused_url(err: &FeedSyncError) -> bool {
    matches!(
        err,
        FeedSyncError::InsecureUrl { .. } | FeedSyncError::InvalidUrl { .. }
    )
}

fn check_status(status: u16) -> Result<(), FeedSyncError> {
    match status {
        200 => Ok(()),
        // We only send cursors the server gave us: a 400 means the cursor is from the future
        // (the server's database was replaced).
        400 => Err(FeedSyncError::CursorRefused),
        status => Err(FeedSyncError::Status { status }),
    }
}

/// `application/x-www-form-urlencoded` encoding, as RFC 6749 §2.3.1 wants for HTTP Basic.
fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One dispatched SSE event.
#[derive(Debug, Default, PartialEq, Eq)]
struct SseEvent {
    id: Option<String>,
    name: String,
    data: String,
}

#[derive(Debug, PartialEq, Eq)]
enum SseItem {
    Comment,
    Event(SseEvent),
}

/// An incremental `text/event-stream` parser (the subset the feed uses: `id`, `event`, `data`,
/// comments; lines end with LF, CRLF or CR). A line, or an event's data, longer than `limit`
/// bytes is refused as soon as it is seen, so it never grows past the limit plus one chunk.
#[derive(Debug, Default)]
struct SseParser {
    limit: usize,
    buf: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    /// The last line ended with a CR at the end of a chunk: skip an LF that starts the next.
    skip_lf: bool,
}

impl SseParser {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, FeedSyncError> {
        self.buf.extend_from_slice(bytes);
        let mut items = Vec::new();
        let mut start = 0;
        if self.skip_lf && !self.buf.is_empty() {
            self.skip_lf = false;
            if self.buf[0] == b'\n' {
                start = 1;
            }
        }
        loop {
            let rest = &self.buf[start..];
            let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                break;
            };
            let len = if rest[pos] == b'\r' {
                match rest.get(pos + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    // A CR at the end: the line ends; an LF starting the next chunk is its
                    // second half.
                    None => {
                        self.skip_lf = true;
                        1
                    }
                }
            } else {
                1
            };
            let line = std::str::from_utf8(&rest[..pos])
                .map_err(|_| FeedSyncError::Malformed("the stream is not UTF-8".into()))?
                .to_owned();
            start += pos + len;
            if line.len() > self.limit {
                return Err(FeedSyncError::TooLarge { limit: self.limit });
            }
            if let Some(item) = self.line(&line) {
                items.push(item);
            }
            if self.current.data.len() > self.limit {
                return Err(FeedSyncError::TooLarge { limit: self.limit });
            }
        }
        self.buf.drain(..start);
        if self.buf.len() > self.limit {
            return Err(FeedSyncError::TooLarge { limit: self.limit });
        }
        Ok(items)
    }

    fn line(&mut self, line: &str) -> Option<SseItem> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            let had_data = std::mem::take(&mut self.has_data);
            return had_data.then_some(SseItem::Event(event));
        }
        if line.starts_with(':') {
            return Some(SseItem::Comment);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => self.current.id = Some(value.to_owned()),
            "event" => value.clone_into(&mut self.current.name),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: serde_json::Value) -> FeedPage {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn snapshot_pages_gather_until_the_last_and_must_belong_together() {
        let entry = |c: &str| {
            serde_json::json!({"cursor": c, "kind": "token-revoked", "reason": "x",
                               "revoked_at": 1, "expires_at": 4_000_000_000_i64, "jti": c})
        };
        let mut pages = SnapshotPages::begin(page(serde_json::json!({
            "entries": [entry("1"), entry("2")], "cursor": "9", "resync": true, "next": "9.2"
        })));
        assert_eq!(pages.next.as_deref(), Some("9.2"));
        pages
            .add(page(serde_json::json!({
                "entries": [entry("5")], "cursor": "9", "resync": true
            })))
            .unwrap();
        assert_eq!(pages.next, None);
        let cursors: Vec<u64> = pages.entries.iter().map(|e| e.cursor).collect();
        assert_eq!(cursors, [1, 2, 5]);
        // A page of another snapshot, or an incremental page, does not continue it.
        for other in [
            serde_json::json!({"entries": [], "cursor": "10", "resync": true}),
            serde_json::json!({"entries": [], "cursor": "9", "resync": false}),
        ] {
            assert!(matches!(
                pages.add(page(other)),
                Err(FeedSyncError::Malformed(_))
            ));
        }
    }

    #[test]
    fn sse_events_split_across_chunks_and_line_endings() {
        let mut p = SseParser::new(DEFAULT_MAX_FEED_BYTES);
        assert!(p.push(b"id: 41\r\nevent: snap").unwrap().is_empty());
        let items = p
            .push(b"shot\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\nevent: x\rdata:1\rdata: 2\r")
            .unwrap();
        assert_eq!(
            items,
            vec![
                SseItem::Event(SseEvent {
                    id: Some("41".into()),
                    name: "snapshot".into(),
                    data: "{\"a\":1}".into()
                }),
                SseItem::Comment,
            ]
        );
        let items = p.push(b"\r").unwrap();
        assert_eq!(
            items,
            vec![SseItem::Event(SseEvent {
                id: None,
                name: "x".into(),
                data: "1\n2".into()
            })]
        );
        assert!(p.push(&[0xff, b'\n']).is_err());
    }

    #[test]
    fn basic_credentials_are_form_urlencoded() {
        assert_eq!(form_urlencode("orders-api"), "orders-api");
        assert_eq!(form_urlencode("a b:c%/é"), "a+b%3Ac%25%2F%C3%A9");
    }

    /// A canned feed on a blocking std server: a snapshot with `j1`, a stream that sends one
    /// entry and a keep-alive then closes, then refuses the cursor (`400`, as after a database
    /// restore), and a second snapshot with `j2`.
    fn fake_feed() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let snapshots = Arc::new(AtomicUsize::new(0));
        let counter = snapshots.clone();
        std::thread::spawn(move || {
            let mut streams = 0;
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let (status, kind, body) = if !head
                    .contains("authorization: basic yxbponmry3jldcuzqq==")
                {
                    ("401 Unauthorized", "application/json", "{}".to_owned())
                } else if head.starts_with("get /revocations/stream ") {
                    streams += 1;
                    if streams == 1 && head.contains("last-event-id: 5") {
                        let entry = r#"{"cursor":"6","kind":"session-revoked","reason":"logout","revoked_at":1,"expires_at":4000000000,"sid":"s6","sub":"u"}"#;
                        let body = format!(
                            "id: 6\nevent: session-revoked\ndata: {entry}\n\n: keep-alive\n\n"
                        );
                        ("200 OK", "text/event-stream", body)
                    } else {
                        ("400 Bad Request", "application/json", "{}".to_owned())
                    }
                } else if head.starts_with("get /revocations ") {
                    let jti = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                        "j1"
                    } else {
                        "j2"
                    };
                    let body = format!(
                        r#"{{"entries":[{{"cursor":"5","kind":"token-revoked","reason":"x","revoked_at":1,"expires_at":4000000000,"jti":"{jti}"}}],"cursor":"5","resync":true}}"#
                    );
                    ("200 OK", "application/json", body)
                } else {
                    let body = r#"{"entries":[],"cursor":"6","resync":false}"#.to_owned();
                    ("200 OK", "application/json", body)
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (base, snapshots)
    }

    fn user_token(jti: &str, sid: &str) -> crate::AccessToken {
        let claims = serde_json::json!({"sub": "u", "client_id": "c", "jti": jti, "iat": 1,
            "exp": 2, "sid": sid});
        crate::AccessToken {
            sub: "u".into(),
            client_id: "c".into(),
            jti: jti.into(),
            iat: 1,
            exp: 2,
            scopes: vec![],
            sid: Some(sid.into()),
            auth_time: None,
            roles: vec![],
            acr: None,
            amr: vec![],
            claims: claims.as_object().cloned().unwrap_or_default(),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn snapshot_stream_and_a_refused_cursor_resync() {
        let (base, snapshots) = fake_feed();
        let mirror = Arc::new(RevocationMirror::new());
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = errors.clone();
        let sync = FeedSync::new(base, "api", "s cret:", mirror.clone())
            .poll_interval(Duration::from_millis(50))
            .on_error(move |err| seen.lock().unwrap().push(err.to_string()))
            .spawn();
        let now = SystemClock.now_unix();
        let (mut saw_stream_entry, mut resynced) = (false, false);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !resynced {
            assert!(
                Instant::now() < deadline,
                "hang guard; errors: {:?}",
                errors.lock().unwrap()
            );
            saw_stream_entry |= mirror.is_revoked(&user_token("j0", "s6"), now);
            resynced = mirror.is_revoked(&user_token("j2", "s0"), now);
            sleep(Duration::from_millis(5)).await;
        }
        sync.abort();
        assert!(saw_stream_entry, "the stream's entry was applied");
        assert!(snapshots.load(std::sync::atomic::Ordering::SeqCst) >= 2);
        // The second snapshot replaced everything.
        assert!(!mirror.is_revoked(&user_token("j1", "s6"), now));
        assert!(mirror.last_synced_at().is_some());
        assert!(errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.contains("refused the cursor")));
    }

    /// An HTTP server on loopback that records each request's head and answers every one with
    /// `response`.
    fn recording_server(response: String) -> (String, Arc<Mutex<Vec<String>>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).to_ascii_lowercase());
                let _ = conn.write_all(response.as_bytes());
            }
        });
        (base, heads)
    }

    fn json_response(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    }

    /// Collects the errors reported by a sync.
    fn collect_errors() -> (
        Arc<Mutex<Vec<String>>>,
        impl Fn(&FeedSyncError) + Send + Sync + 'static,
    ) {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let seen = errors.clone();
        (errors, move |err: &FeedSyncError| {
            seen.lock().unwrap().push(format!("{err:?}"));
        })
    }

    /// A FeedSync given a plain-http URL to a host that is not loopback sends nothing: its
    /// client goes through a proxy on loopback, which would see the request (and the secret)
    /// if the URL rule were removed; with `insecure_allow_http` it does see it.
    #[tokio::test(flavor = "multi_thread")]
    async fn plain_http_to_a_remote_host_never_sends_the_secret() {
        let (proxy, heads) = recording_server(json_response("503 Service Unavailable", "", "{}"));
        let client = || {
            http::https_client_builder()
                .proxy(reqwest::Proxy::all(&proxy).unwrap())
                .build()
                .unwrap()
        };
        let mirror = Arc::new(RevocationMirror::new());
        let (errors, hook) = collect_errors();
        let sync = FeedSync::new("http://feed.example.com", "api", "s3cret", mirror.clone())
            .with_http_client(client())
            .poll_interval(Duration::from_millis(10))
            .on_error(hook);
        // `run` returns at once on a refused URL; the timeout only guards against a hang.
        let ended = timeout(Duration::from_secs(10), sync.run()).await;
        assert!(ended.is_ok(), "the sync should stop on a refused URL");
        assert!(
            heads.lock().unwrap().is_empty(),
            "{:?}",
            heads.lock().unwrap()
        );
        let errors = errors.lock().unwrap().clone();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("InsecureUrl"), "{errors:?}");
        assert!(mirror.last_synced_at().is_none());

        // The same set-up with the opt-in reaches the proxy, secret included: the assertion
        // above is not vacuous.
        let sync = FeedSync::new("http://feed.example.com", "api", "s3cret", mirror)
            .with_http_client(client())
            .insecure_allow_http(true)
            .spawn();
        let deadline = Instant::now() + Duration::from_secs(10);
        while heads.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "hang guard");
            sleep(Duration::from_millis(5)).await;
        }
        sync.abort();
        let head = heads.lock().unwrap()[0].clone();
        assert!(
            head.starts_with("get http://feed.example.com/revocations "),
            "{head}"
        );
        assert!(
            head.contains("authorization: basic yxbponmzy3jlda=="),
            "{head}"
        );
    }

    /// Waits until `errors` holds an error, then stops the sync.
    async fn first_error(sync: JoinHandle<()>, errors: &Arc<Mutex<Vec<String>>>) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(err) = errors.lock().unwrap().first() {
                sync.abort();
                return err.clone();
            }
            assert!(Instant::now() < deadline, "hang guard");
            sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_oversized_snapshot_is_refused_and_a_normal_one_accepted() {
        let body = r#"{"entries":[{"cursor":"5","kind":"token-revoked","reason":"x","revoked_at":1,"expires_at":4000000000,"jti":"j1"}],"cursor":"5","resync":true}"#;
        let limit = body.len() - 1;
        // Announced by Content-Length, and delimited by closing the connection.
        let close_delimited = format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{body}");
        for response in [json_response("200 OK", "", body), close_delimited] {
            let (base, _) = recording_server(response);
            let mirror = Arc::new(RevocationMirror::new());
            let (errors, hook) = collect_errors();
            let sync = FeedSync::new(&base, "api", "s", mirror.clone())
                .max_response_bytes(limit)
                .on_error(hook)
                .spawn();
            let err = first_error(sync, &errors).await;
            assert_eq!(err, format!("TooLarge {{ limit: {limit} }}"));
            assert!(mirror.last_synced_at().is_none());

            // One byte more and the same snapshot is applied.
            let mirror = Arc::new(RevocationMirror::new());
            let sync = FeedSync::new(&base, "api", "s", mirror.clone())
                .max_response_bytes(body.len())
                .spawn();
            let now = SystemClock.now_unix();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !mirror.is_revoked(&user_token("j1", "s0"), now) {
                assert!(Instant::now() < deadline, "hang guard");
                sleep(Duration::from_millis(5)).await;
            }
            sync.abort();
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn redirects_are_not_followed() {
        let (base, heads) = recording_server(json_response(
            "302 Found",
            "location: http://feed.example.com/revocations\r\n",
            "{}",
        ));
        let (errors, hook) = collect_errors();
        let sync = FeedSync::new(&base, "api", "s", Arc::new(RevocationMirror::new()))
            .on_error(hook)
            .spawn();
        let err = first_error(sync, &errors).await;
        assert_eq!(err, "Status { status: 302 }");
        assert!(heads.lock().unwrap()[0].starts_with("get /revocations "));
    }

    #[test]
    fn sse_lines_and_events_are_capped() {
        // A line that never ends is refused once the buffer passes the limit.
        let mut p = SseParser::new(16);
        assert!(p.push(b"data: 0123456789").unwrap().is_empty());
        assert!(matches!(
            p.push(b"abcdef"),
            Err(FeedSyncError::TooLarge { limit: 16 })
        ));
        // A complete line over the limit, in one chunk.
        let mut p = SseParser::new(16);
        assert!(matches!(
            p.push(b"data: 0123456789abcdef\n\n"),
            Err(FeedSyncError::TooLarge { limit: 16 })
        ));
        // Short lines whose data add up to more than the limit.
        let mut p = SseParser::new(16);
        assert!(matches!(
            p.push(b"data: 012345\ndata: 678901\ndata: 234567\n"),
            Err(FeedSyncError::TooLarge { limit: 16 })
        ));
        // At the limit, fine.
        let mut p = SseParser::new(16);
        assert_eq!(
            p.push(b"data: 0123456789\ndata: abcde\n\n").unwrap(),
            vec![SseItem::Event(SseEvent {
                id: None,
                name: String::new(),
                data: "0123456789\nabcde".into()
            })]
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let sync = FeedSync::new("http://x/", "a", "b", Arc::new(RevocationMirror::new()));
        assert_eq!(sync.base_url, "http://x");
        assert_eq!(sync.backoff(1), Duration::from_secs(1));
        assert_eq!(sync.backoff(2), Duration::from_secs(2));
        assert_eq!(sync.backoff(100), Duration::from_secs(30));
    }
}
