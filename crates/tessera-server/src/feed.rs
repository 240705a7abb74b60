//! The revocation feed for resource servers: `GET /revocations` (entries after a cursor, or a
//! snapshot) and `GET /revocations/stream` (the same as Server-Sent Events).
//!
//! A resource server that validates access tokens locally mirrors the live revocation entries
//! (`tessera_core::revocation`) and refuses the tokens they cover, without asking introspection
//! about each token. The wire format is documented for client authors in
//! `docs/revocation-feed.md`; this module keeps to it.
//!
//! Callers are confidential clients authenticating with HTTP Basic (resource servers are
//! registered as clients, as for introspection). Streams wake on [`AppState::feed_cursor`]:
//! revocations made in this process announce their cursor at once, and the feed watcher
//! (`crate::workers::feed_watcher`) announces
//! those written by other processes (the CLI, another node). A stream reads the store only when
//! a newer cursor is announced.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::PresentedCredentials;
use crate::oauth::form::FormParams;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tessera_core::revocation::TargetIds;
use tessera_core::{Client, RevocationEntry};
use tessera_store::{FeedRead, FeedSnapshot, StoreError};
use tokio::sync::watch;

/// Entries answered by `GET /revocations` when the request gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 500;
/// The largest `limit` honoured; larger values are lowered to it.
pub const MAX_LIMIT: u32 = 1000;
/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Entries a stream reads from the store at a time.
const STREAM_PAGE: u32 = MAX_LIMIT;
/// The longest a stream waits before retrying a failed store read.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// One feed entry on the wire. Which of the optional fields are present depends on `kind`.
#[derive(Debug, Serialize)]
struct WireEntry<'a> {
    cursor: String,
    kind: &'static str,
    reason: &'static str,
    revoked_at: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<i64>,
}

impl<'a> WireEntry<'a> {
    fn of(entry: &'a RevocationEntry) -> Self {
        let r = &entry.revocation;
        let TargetIds {
            jti,
            sid,
            user_id: sub,
        } = r.target.ids();
        Self {
            cursor: entry.cursor.to_string(),
            kind: r.kind().as_str(),
            reason: r.reason.as_str(),
            revoked_at: r.revoked_at.unix_timestamp(),
            expires_at: r.expires_at.unix_timestamp(),
            jti,
            sid,
            sub,
            not_before: r.not_before.map(|nb| nb.unix_timestamp()),
        }
    }
}

/// A page of the feed, or a snapshot (`resync: true`).
#[derive(Debug, Serialize)]
struct WirePage<'a> {
    entries: Vec<WireEntry<'a>>,
    cursor: String,
    resync: bool,
}

impl<'a> WirePage<'a> {
    fn entries(entries: &'a [RevocationEntry], after: i64) -> Self {
        Self {
            entries: entries.iter().map(WireEntry::of).collect(),
            cursor: entries.last().map_or(after, |e| e.cursor).to_string(),
            resync: false,
        }
    }

    fn snapshot(snapshot: &'a FeedSnapshot) -> Self {
        Self {
            entries: snapshot.entries.iter().map(WireEntry::of).collect(),
            cursor: snapshot.cursor.to_string(),
            resync: true,
        }
    }
}

/// `GET /revocations?after=CURSOR&limit=N`: the entries after `after` (at most `limit`, default
/// [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), or a snapshot of every live entry when `after` is
/// absent or has fallen behind the entries already swept.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match read_page(&state, &headers, query.as_deref()).await {
        Ok(body) => {
            let mut response = body.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(err) => err.into_response(),
    }
}

async fn read_page(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<axum::Json<serde_json::Value>, OAuthError> {
    let client = authenticate(state, headers).await?;
    let params = FormParams::parse(query.unwrap_or("").as_bytes())?;
    let after = params.get("after").map(parse_cursor).transpose()?;
    let limit = params.get("limit").map(parse_limit).transpose()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    tracing::debug!(client = %client.id, after, limit, "revocation feed read");
    let json = match after {
        None => snapshot_json(state).await?,
        Some(after) => match state.services.store.revocations_after(after, limit).await? {
            FeedRead::Entries(entries) => to_json(&WirePage::entries(&entries, after)),
            FeedRead::Behind => snapshot_json(state).await?,
            FeedRead::Ahead => return Err(ahead()),
        },
    };
    Ok(axum::Json(json))
}

/// `GET /revocations/stream`: the feed as Server-Sent Events. Resumes after the `Last-Event-ID`
/// header or, without one, after `?after=`; with neither it starts with a `snapshot` event.
/// Each entry is an event with the entry's cursor as id and its kind as event name; a reader
/// that falls behind swept entries gets a `resync` event carrying a snapshot.
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match open_stream(state, &headers, query.as_deref()).await {
        Ok(feed) => {
            let events = futures_util::stream::unfold(feed, |mut feed| async move {
                let event = feed.next().await?;
                Some((Ok::<_, Infallible>(event), feed))
            });
            let mut response = Sse::new(events)
                .keep_alive(
                    KeepAlive::new()
                        .interval(KEEP_ALIVE_INTERVAL)
                        .text("keep-alive"),
                )
                .into_response();
            let h = response.headers_mut();
            no_store(h);
            // Tell buffering reverse proxies (nginx) to pass events through as they come.
            h.insert(
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            );
            response
        }
        Err(err) => err.into_response(),
    }
}

/// Authenticates the caller, validates where to start, and makes the first read, so that every
/// error is an HTTP error before the stream begins.
async fn open_stream(
    state: AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Feed, OAuthError> {
    let client = authenticate(&state, headers).await?;
    let params = FormParams::parse(query.unwrap_or("").as_bytes())?;
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .map_err(|_| OAuthError::invalid_request("Last-Event-ID is not a feed cursor"))
        })
        .transpose()?
        .map(str::trim)
        .filter(|v| !v.is_empty());
    // An EventSource that reconnects repeats the original URL and adds Last-Event-ID, so the
    // header, when present, wins over the query.
    let start = match last_event_id {
        Some(id) => Some(parse_cursor(id)?),
        None => params.get("after").map(parse_cursor).transpose()?,
    };
    // Subscribe before the first read: an announcement made after it is not missed (the value
    // current now counts as seen).
    let changes = state.signals.feed_cursor.subscribe();
    let shutting_down = state.signals.shutting_down.subscribe();
    let mut feed = Feed {
        state,
        changes,
        shutting_down,
        cursor: 0,
        pending: VecDeque::new(),
        caught_up: false,
        failures: 0,
    };
    match start {
        None => {
            let snapshot = feed
                .state
                .services
                .store
                .revocation_snapshot(feed.state.services.clock.now())
                .await?;
            feed.push_snapshot("snapshot", &snapshot);
        }
        Some(after) => {
            feed.cursor = after;
            match feed
                .state
                .services
                .store
                .revocations_after(after, STREAM_PAGE)
                .await?
            {
                FeedRead::Entries(entries) => feed.push_entries(&entries),
                FeedRead::Behind => feed.resync().await?,
                FeedRead::Ahead => return Err(ahead()),
            }
        }
    }
    tracing::debug!(client = %client.id, cursor = feed.cursor, "revocation stream opened");
    Ok(feed)
}

/// The state of one open stream.
struct Feed {
    state: AppState,
    changes: watch::Receiver<i64>,
    /// Becomes true when the server shuts down: the stream ends, and the client reconnects
    /// (elsewhere) with `Last-Event-ID`.
    shutting_down: watch::Receiver<bool>,
    /// The cursor of the newest entry queued (or of the last snapshot).
    cursor: i64,
    /// Events read from the store, not yet sent.
    pending: VecDeque<Event>,
    /// The last read returned less than a page: wait for an announcement before reading again.
    caught_up: bool,
    /// Consecutive failed store reads.
    failures: u32,
}

impl Feed {
    /// The next event; `None` ends the stream (the server is going away).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if *self.shutting_down.borrow() {
                return None;
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.caught_up {
                // Wake only when a cursor other than ours is announced, or to end.
                loop {
                    tokio::select! {
                        changed = self.changes.changed() => changed.ok()?,
                        _ = self.shutting_down.changed() => return None,
                    }
                    if *self.changes.borrow_and_update() != self.cursor {
                        break;
                    }
                }
                self.caught_up = false;
            }
            if let Err(err) = self.read().await {
                self.failures += 1;
                let delay = Duration::from_secs(1 << self.failures.min(5)).min(MAX_RETRY_DELAY);
                tracing::warn!(
                    error = %err,
                    retry_in_seconds = delay.as_secs(),
                    "revocation stream: cannot read the feed"
                );
                tokio::time::sleep(delay).await;
            } else {
                self.failures = 0;
            }
        }
    }

    /// Reads what follows the cursor into `pending`.
    async fn read(&mut self) -> Result<(), StoreError> {
        match self
            .state
            .services
            .store
            .revocations_after(self.cursor, STREAM_PAGE)
            .await?
        {
            FeedRead::Entries(entries) => self.push_entries(&entries),
            FeedRead::Behind => self.resync().await?,
            FeedRead::Ahead => {
                // Only if the store was replaced under a running server: start over.
                tracing::warn!(
                    cursor = self.cursor,
                    "revocation stream: cursor ahead of the store; resyncing"
                );
                self.resync().await?;
            }
        }
        Ok(())
    }

    fn push_entries(&mut self, entries: &[RevocationEntry]) {
        for entry in entries {
            let wire = WireEntry::of(entry);
            self.pending.push_back(
                Event::default()
                    .id(&wire.cursor)
                    .event(wire.kind)
                    .data(to_json(&wire).to_string()),
            );
            self.cursor = entry.cursor;
        }
        self.caught_up = entries.len() < STREAM_PAGE as usize;
    }

    async fn resync(&mut self) -> Result<(), StoreError> {
        let snapshot = self
            .state
            .services
            .store
            .revocation_snapshot(self.state.services.clock.now())
            .await?;
        self.push_snapshot("resync", &snapshot);
        Ok(())
    }

    /// Queues a `snapshot` or `resync` event: it replaces whatever the reader holds.
    fn push_snapshot(&mut self, name: &'static str, snapshot: &FeedSnapshot) {
        // Anything still queued predates the snapshot, which includes it if it is live.
        self.pending.clear();
        let page = WirePage::snapshot(snapshot);
        self.pending.push_back(
            Event::default()
                .id(&page.cursor)
                .event(name)
                .data(to_json(&page).to_string()),
        );
        self.cursor = snapshot.cursor;
        self.caught_up = true;
    }
}

/// Checks HTTP Basic credentials of a confidential client. Only Basic is accepted: these are GET
/// requests, and a secret in the query string would end up in logs.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Client, OAuthError> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(OAuthError::invalid_client());
    }
    let client = PresentedCredentials::extract(headers, &FormParams::default())?
        .authenticate(state)
        .await?;
    // The feed tells every user's sessions and why they ended: only resource servers, which need
    // it to reject revoked tokens, may read it; an app's own client may not.
    if !client.is_resource_server {
        tracing::info!(client_id = %client.id, "revocation feed refused: not a resource server");
        return Err(OAuthError::not_a_resource_server());
    }
    Ok(client)
}

/// A cursor: a non-negative decimal integer.
fn parse_cursor(value: &str) -> Result<i64, OAuthError> {
    let invalid = || OAuthError::invalid_request("the cursor must be a cursor the feed returned");
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

/// A page size: a positive decimal integer, lowered to [`MAX_LIMIT`].
fn parse_limit(value: &str) -> Result<u32, OAuthError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OAuthError::invalid_request(
            "limit must be a positive integer",
        ));
    }
    let limit = value.parse::<u64>().map_or(MAX_LIMIT, |n| {
        u32::try_from(n.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT)
    });
    if limit == 0 {
        return Err(OAuthError::invalid_request(
            "limit must be a positive integer",
        ));
    }
    Ok(limit)
}

fn ahead() -> OAuthError {
    OAuthError::invalid_request(
        "the cursor is beyond the newest entry; start over without a cursor (snapshot)",
    )
}

async fn snapshot_json(state: &AppState) -> Result<serde_json::Value, OAuthError> {
    let snapshot = state
        .services
        .store
        .revocation_snapshot(state.services.clock.now())
        .await?;
    Ok(to_json(&WirePage::snapshot(&snapshot)))
}

fn to_json(value: &impl Serialize) -> serde_json::Value {
    // Plain structs of strings and integers: serialisation cannot fail.
    serde_json::to_value(value).unwrap_or_default()
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_non_negative_decimal_integers() {
        assert_eq!(parse_cursor("0").unwrap(), 0);
        assert_eq!(parse_cursor("42").unwrap(), 42);
        for bad in ["", "-1", "+1", "1.5", "abc", " 1", "99999999999999999999"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_positive_and_capped() {
        assert_eq!(parse_limit("1").unwrap(), 1);
        assert_eq!(parse_limit("1000").unwrap(), 1000);
        assert_eq!(parse_limit("1001").unwrap(), MAX_LIMIT);
        assert_eq!(parse_limit("99999999999999999999999").unwrap(), MAX_LIMIT);
        for bad in ["0", "-1", "x", "1e3"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }
}
