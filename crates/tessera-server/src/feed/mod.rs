//! The revocation feed for resource servers: `GET /revocations` (entries after a cursor, or a
//! snapshot) and `GET /revocations/stream` (the same as Server-Sent Events).
//!
//! A resource server that validates access tokens locally mirrors the live revocation entries
//! (`tessera_core::revocation`) and refuses the tokens they cover, without asking introspection
//! about each token. The wire format is documented for client authors in
//! `docs/revocation-feed.md`; this module keeps to it.
//!
//! Callers are confidential clients authenticating with HTTP Basic (resource servers are
//! registered as clients, as for introspection).
//!
//! Costs are bounded whatever the number of streams and entries:
//! - one reader per process ([`hub`]): the feed watcher (`crate::workers::feed_watcher`) reads
//!   each new page from the store once and broadcasts it to every open stream ([`stream`]);
//! - streams are capped per client and in total ([`slots`], `[feed]` in the configuration); a
//!   stream over a cap is refused, never one already open;
//! - snapshots come in pages of at most [`MAX_LIMIT`] entries, followed with `next` (`?page=`
//!   on `GET /revocations`, `snapshot-continued` events on the stream).

pub mod hub;
pub mod slots;
mod stream;
mod wire;

pub use hub::FeedHub;
pub use slots::{SlotRefusal, StreamLimits, StreamSlots};

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::PresentedCredentials;
use crate::oauth::form::FormParams;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use stream::Feed;
use tessera_core::Client;
use tessera_store::FeedRead;
use wire::{to_json, SnapshotToken, WirePage};

/// Entries answered by `GET /revocations` when the request gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 500;
/// The largest `limit` honoured; larger values are lowered to it. Also the most entries in a
/// page of a snapshot.
pub const MAX_LIMIT: u32 = 1000;
/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// The `Retry-After` (seconds) of a stream refused at a cap: streams end only when their
/// clients go, so there is no telling when a slot frees; this paces retries.
pub const STREAM_RETRY_AFTER_SECONDS: u32 = 30;

/// `GET /revocations?after=CURSOR&limit=N`: the entries after `after` (at most `limit`, default
/// [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), or the first page of a snapshot of every live
/// entry when `after` is absent or has fallen behind the entries already swept;
/// `GET /revocations?page=NEXT`: the next page of a snapshot.
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
    let page = params.get("page").map(SnapshotToken::parse).transpose()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    tracing::debug!(client = %client.id, after, limit, "revocation feed read");
    let json = match (after, page) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "give either after or page, not both",
            ))
        }
        (None, Some(token)) => snapshot_json(state, Some(token)).await?,
        (None, None) => snapshot_json(state, None).await?,
        (Some(after), None) => match state.services.store.revocations_after(after, limit).await? {
            FeedRead::Entries(entries) => to_json(&WirePage::entries(&entries, after)),
            FeedRead::Behind => snapshot_json(state, None).await?,
            FeedRead::Ahead => return Err(ahead()),
        },
    };
    Ok(axum::Json(json))
}

/// `GET /revocations/stream`: the feed as Server-Sent Events. Resumes after the `Last-Event-ID`
/// header or, without one, after `?after=`; with neither it starts with a `snapshot` event.
/// Each entry is an event with the entry's cursor as id and its kind as event name; a reader
/// that falls behind swept entries gets a `resync` event carrying a snapshot. A snapshot of
/// more than [`MAX_LIMIT`] entries continues in `snapshot-continued` events.
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

/// Authenticates the caller, validates where to start, takes a slot under the caps and makes
/// the first read, so that every error is an HTTP error before the stream begins.
async fn open_stream(
    state: AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Feed, Response> {
    let client = authenticate(&state, headers)
        .await
        .map_err(IntoResponse::into_response)?;
    let start = stream_start(headers, query).map_err(IntoResponse::into_response)?;
    let slot = state
        .signals
        .feed
        .slots()
        .acquire(client.id.as_str(), state.settings.feed_streams)
        .map_err(|refusal| refused(&client, refusal))?;
    let feed = Feed::open(state, slot, start)
        .await
        .map_err(IntoResponse::into_response)?;
    tracing::debug!(client = %client.id, cursor = feed.cursor(), "revocation stream opened");
    Ok(feed)
}

/// Where a stream starts: after `Last-Event-ID`, else after `?after=`, else with a snapshot.
fn stream_start(headers: &HeaderMap, query: Option<&str>) -> Result<Option<i64>, OAuthError> {
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
    match last_event_id {
        Some(id) => Ok(Some(parse_cursor(id)?)),
        None => params.get("after").map(parse_cursor).transpose(),
    }
}

/// The answer to a stream over a cap: `429` when the client holds its share already (its own
/// doing: another of its instances, or leaked connections), `503` when the process is full
/// (another node may have room). Both say when to retry.
fn refused(client: &Client, refusal: SlotRefusal) -> Response {
    let (status, description) = match refusal {
        SlotRefusal::PerClient => (
            StatusCode::TOO_MANY_REQUESTS,
            "this client has as many revocation streams open as it may; close one or poll",
        ),
        SlotRefusal::Total => (
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has as many revocation streams open as it may; retry later or poll",
        ),
    };
    tracing::info!(client_id = %client.id, ?refusal, "revocation stream refused");
    let mut response = OAuthError::over_limit(status, description).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(STREAM_RETRY_AFTER_SECONDS),
    );
    response
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

/// A page of a snapshot: the first of a new one, or the one `token` points at.
async fn snapshot_json(
    state: &AppState,
    token: Option<SnapshotToken>,
) -> Result<serde_json::Value, OAuthError> {
    let page = state
        .services
        .store
        .revocation_snapshot_page(
            state.services.clock.now(),
            token.map(|t| t.snapshot),
            token.map_or(0, |t| t.after),
            MAX_LIMIT,
        )
        .await?
        // Only a given snapshot cursor can be beyond the newest: the store was replaced.
        .ok_or_else(ahead)?;
    Ok(to_json(&WirePage::snapshot(&page)))
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
