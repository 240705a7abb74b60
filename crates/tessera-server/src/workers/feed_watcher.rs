//! The feed watcher: announces revocation-feed entries written by other processes (the CLI,
//! other nodes) on [`AppState::feed_cursor`], so that this server's open feed streams
//! (`crate::feed`) deliver them.
//!
//! With a store that reports changes (PostgreSQL `LISTEN/NOTIFY`, see
//! `Store::subscribe_changes`), [`watch_store`] reads the store as soon as another node commits
//! an entry, so every node's streams deliver it well within a second. The store sends the
//! notification inside the transaction that writes the entry, so it arrives only once the entry
//! is committed and the read finds it. The watcher still polls every [`SAFETY_POLL_INTERVAL`]:
//! a notification can be lost (the listener's connection broke; the store then reports a
//! resync, which the watcher treats like a notification) or never come (a connection that hangs
//! without failing, a writer that does not notify), and the poll bounds how late an entry can
//! be. A store without notifications (SQLite, whose other writers are the CLI and other
//! processes on the same file) is polled every [`POLL_INTERVAL`].

use crate::app::AppState;
use crate::feed::MAX_LIMIT;
use std::time::Duration;
use tessera_store::{FeedRead, StoreChange, StoreError};
use tokio::sync::broadcast;

/// How often [`watch_store`] looks for entries written by other processes, with a store that
/// does not report changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often [`watch_store`] polls as a safety net, with a store that reports changes.
pub const SAFETY_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Looks for entries made by other processes (the CLI, other nodes) and announces the newest
/// cursor on [`AppState::feed_cursor`], so that open streams deliver them: at once when the
/// store reports a change to the feed (or a resync), and otherwise every
/// [`AppState::feed_poll_interval`] (by default [`SAFETY_POLL_INTERVAL`] with a store that
/// reports changes, [`POLL_INTERVAL`] without). Store errors are logged and the loop goes on.
pub async fn watch_store(state: AppState) {
    let mut changes = state.services.store.subscribe_changes();
    let interval = state
        .settings
        .feed_poll_interval
        .unwrap_or(if changes.is_some() {
            SAFETY_POLL_INTERVAL
        } else {
            POLL_INTERVAL
        });
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known = *state.signals.feed_cursor.borrow();
    let mut failing_since: Option<tokio::time::Instant> = None;
    let mut last_warning = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = feed_changed(&mut changes) => {}
        }
        // Revocations made here were announced already; start from what is known.
        known = known.max(*state.signals.feed_cursor.borrow());
        match newest_cursor(&state, known).await {
            Ok(newest) => {
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        failed_for_ms = since.elapsed().as_millis() as u64,
                        "revocation feed: the store is readable again"
                    );
                }
                if newest > known {
                    state.signals.feed_cursor.send_if_modified(|latest| {
                        let newer = newest > *latest;
                        if newer {
                            *latest = newest;
                        }
                        newer
                    });
                } else if newest < known {
                    // The store went back: it was replaced under a running server. Streams
                    // reading it will find their cursors ahead and resync.
                    tracing::warn!(
                        newest,
                        known,
                        "revocation feed: the store's newest cursor went back"
                    );
                    state.signals.feed_cursor.send_replace(newest);
                }
                known = newest;
            }
            Err(err) => {
                let now = tokio::time::Instant::now();
                let first = failing_since.is_none();
                if first || now.duration_since(last_warning) >= Duration::from_secs(10) {
                    tracing::warn!(
                        error = %err,
                        "revocation feed: cannot read the store for new entries; retrying"
                    );
                    last_warning = now;
                }
                failing_since.get_or_insert(now);
            }
        }
    }
}

/// Returns when the store reports a change that may concern the feed: new or swept entries, a
/// resync, or reports missed by falling behind. Never returns without reports (a store that
/// has none, or whose listener has stopped).
async fn feed_changed(changes: &mut Option<broadcast::Receiver<StoreChange>>) {
    loop {
        let Some(receiver) = changes else {
            return std::future::pending().await;
        };
        match receiver.recv().await {
            Ok(StoreChange::SigningKeys) => {}
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => {
                tracing::warn!("revocation feed: the store stopped reporting changes; polling");
                *changes = None;
            }
        }
    }
}

/// The newest cursor in the store, reading forward from `known`.
async fn newest_cursor(state: &AppState, known: i64) -> Result<i64, StoreError> {
    let mut cursor = known;
    loop {
        match state
            .services
            .store
            .revocations_after(cursor, MAX_LIMIT)
            .await?
        {
            FeedRead::Entries(entries) => {
                let Some(last) = entries.last() else {
                    return Ok(cursor);
                };
                cursor = last.cursor;
                if entries.len() < MAX_LIMIT as usize {
                    return Ok(cursor);
                }
            }
            // Entries after `cursor` were swept (only at start-up, or after a long outage), or
            // the store was replaced: the snapshot tells the newest cursor.
            FeedRead::Behind | FeedRead::Ahead => {
                return Ok(state
                    .services
                    .store
                    .revocation_snapshot(state.services.clock.now())
                    .await?
                    .cursor);
            }
        }
    }
}
