//! The feed watcher: the revocation feed's one reader per process. It reads new entries from
//! the store once and broadcasts them to this server's open feed streams
//! ([`FeedHub::read_new`](crate::feed::FeedHub::read_new)), and announces the newest cursor on
//! [`Signals::feed_cursor`](crate::app::Signals::feed_cursor).
//!
//! It reads when this process announces a revocation of its own (at once), and for entries
//! written by other processes (the CLI, other nodes): with a store that reports changes
//! (PostgreSQL `LISTEN/NOTIFY`, see `Store::subscribe_changes`) as soon as another node commits
//! an entry. The store sends the notification inside the transaction that writes the entry, so
//! it arrives only once the entry is committed and the read finds it. The watcher still polls
//! every [`SAFETY_POLL_INTERVAL`]: a notification can be lost (the listener's connection
//! broke; the store then reports a resync, which the watcher treats like a notification) or
//! never come (a connection that hangs without failing, a writer that does not notify), and
//! the poll bounds how late an entry can be. A store without notifications (SQLite, whose
//! other writers are the CLI and other processes on the same file) is polled every
//! [`POLL_INTERVAL`].

use crate::app::AppState;
use std::time::Duration;
use tessera_store::StoreChange;
use tokio::sync::broadcast;

/// How often [`watch_store`] looks for entries written by other processes, with a store that
/// does not report changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often [`watch_store`] polls as a safety net, with a store that reports changes.
pub const SAFETY_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Reads new feed entries once for every open stream: when this process announces a cursor
/// beyond what was read, when the store reports a change to the feed (or a resync), and
/// otherwise every [`Settings::feed_poll_interval`](crate::app::Settings::feed_poll_interval)
/// (by default [`SAFETY_POLL_INTERVAL`] with a store that reports changes, [`POLL_INTERVAL`]
/// without). Store errors are logged and the loop goes on.
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
    let mut announced = state.signals.feed_cursor.subscribe();
    let hub = state.signals.feed.clone();
    let mut failing_since: Option<tokio::time::Instant> = None;
    let mut last_warning = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = feed_changed(&mut changes) => {}
            Ok(()) = announced.changed() => {
                // The reader announces what it read too: only a cursor beyond it is news.
                if *announced.borrow_and_update() <= hub.read_cursor() {
                    continue;
                }
            }
        }
        match hub.read_new(&state).await {
            Ok(_) => {
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        failed_for_ms = since.elapsed().as_millis() as u64,
                        "revocation feed: the store is readable again"
                    );
                }
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
