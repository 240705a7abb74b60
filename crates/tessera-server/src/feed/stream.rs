//! One open `GET /revocations/stream`: which events it sends next.
//!
//! A stream follows the [`FeedHub`](super::hub::FeedHub)'s broadcast of new pages. It reads the
//! store itself only to start (a snapshot, or the entries after the client's cursor), to catch
//! up when the broadcast does not continue from its cursor (it lagged, or the reader moved on
//! without it), and to resync. Each broadcast page names the cursors it spans, so the stream
//! takes exactly the entries after its own cursor: none is missed, none comes twice.

use super::hub::{Broadcast, SharedPage};
use super::slots::StreamSlot;
use super::wire::{to_json, SnapshotToken, WireEntry, WirePage};
use super::MAX_LIMIT;
use crate::app::AppState;
use crate::error::OAuthError;
use axum::response::sse::Event;
use std::collections::VecDeque;
use std::time::Duration;
use tessera_core::RevocationEntry;
use tessera_store::{FeedRead, FeedSnapshotPage, StoreError};
use tokio::sync::{broadcast, watch};

/// The longest a stream waits before retrying a failed store read.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// The event of every page of a snapshot after the first.
pub(super) const SNAPSHOT_CONTINUED: &str = "snapshot-continued";

/// The state of one open stream.
pub(super) struct Feed {
    state: AppState,
    pages: broadcast::Receiver<Broadcast>,
    /// Becomes true when the server shuts down: the stream ends, and the client reconnects
    /// (elsewhere) with `Last-Event-ID`.
    shutting_down: watch::Receiver<bool>,
    /// The cursor of the newest entry queued (or of the snapshot being sent).
    cursor: i64,
    /// Events not yet sent.
    pending: VecDeque<Event>,
    /// The stream must read the store itself before it can follow the broadcast again.
    catching_up: bool,
    /// The rest of a snapshot being sent, page by page.
    snapshot: Option<SnapshotToken>,
    /// Consecutive failed store reads.
    failures: u32,
    /// This stream's place under the caps, freed when the stream is dropped.
    _slot: StreamSlot,
}

impl Feed {
    /// Starts a stream after `start` (or with a snapshot), making the first read here so that
    /// every error is an HTTP error before the stream begins.
    pub(super) async fn open(
        state: AppState,
        slot: StreamSlot,
        start: Option<i64>,
    ) -> Result<Self, OAuthError> {
        // Subscribe before the first read: a page broadcast after it is not missed.
        let pages = state.signals.feed.subscribe();
        let shutting_down = state.signals.shutting_down.subscribe();
        let mut feed = Feed {
            state,
            pages,
            shutting_down,
            cursor: 0,
            pending: VecDeque::new(),
            catching_up: false,
            snapshot: None,
            failures: 0,
            _slot: slot,
        };
        match start {
            None => feed.begin_snapshot("snapshot").await?,
            Some(after) => {
                feed.cursor = after;
                match feed.read_after(after).await? {
                    FeedRead::Entries(entries) => feed.push_entries(&entries),
                    FeedRead::Behind => feed.begin_snapshot("resync").await?,
                    FeedRead::Ahead => return Err(super::ahead()),
                }
            }
        }
        Ok(feed)
    }

    /// Where the stream stands: the cursor of the newest entry queued.
    pub(super) fn cursor(&self) -> i64 {
        self.cursor
    }

    /// The next event; `None` ends the stream (the server is going away).
    pub(super) async fn next(&mut self) -> Option<Event> {
        loop {
            if *self.shutting_down.borrow() {
                return None;
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let read = if let Some(token) = self.snapshot {
                self.continue_snapshot(token).await
            } else if self.catching_up {
                self.catch_up().await
            } else {
                self.follow().await?;
                continue;
            };
            if let Err(err) = read {
                self.failures += 1;
                let delay = Duration::from_secs(1 << self.failures.min(5)).min(MAX_RETRY_DELAY);
                tracing::warn!(
                    error = %err,
                    retry_in_seconds = delay.as_secs(),
                    "revocation stream: cannot read the feed"
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = self.shutting_down.changed() => return None,
                }
            } else {
                self.failures = 0;
            }
        }
    }

    /// Waits for the next broadcast and takes what it brings; `None` ends the stream.
    async fn follow(&mut self) -> Option<()> {
        let message = tokio::select! {
            message = self.pages.recv() => message,
            _ = self.shutting_down.changed() => return None,
        };
        match message {
            Ok(Broadcast::Page(page)) => self.take(&page),
            // Pages were dropped before this stream took them, or the store went back: the
            // store tells what this stream has not seen.
            Ok(Broadcast::Reread) | Err(broadcast::error::RecvError::Lagged(_)) => {
                self.catching_up = true;
            }
            // The hub is gone with the server.
            Err(broadcast::error::RecvError::Closed) => return None,
        }
        Some(())
    }

    /// Queues the entries of a broadcast page that come after this stream's cursor.
    fn take(&mut self, page: &SharedPage) {
        match fit(self.cursor, page.after, page.last) {
            Fit::Seen => {}
            Fit::Gap => self.catching_up = true,
            Fit::Continues => {
                for entry in page.entries.iter().filter(|e| e.cursor > self.cursor) {
                    self.pending.push_back(
                        Event::default()
                            .id(&entry.id)
                            .event(entry.kind)
                            .data(&entry.data),
                    );
                }
                self.cursor = page.last;
            }
        }
    }

    /// Reads what follows the cursor from the store.
    async fn catch_up(&mut self) -> Result<(), StoreError> {
        match self.read_after(self.cursor).await? {
            FeedRead::Entries(entries) => self.push_entries(&entries),
            FeedRead::Behind => self.begin_snapshot("resync").await?,
            FeedRead::Ahead => {
                // Only if the store was replaced under a running server: start over.
                tracing::warn!(
                    cursor = self.cursor,
                    "revocation stream: cursor ahead of the store; resyncing"
                );
                self.begin_snapshot("resync").await?;
            }
        }
        Ok(())
    }

    async fn read_after(&self, after: i64) -> Result<FeedRead, StoreError> {
        let read = self
            .state
            .services
            .store
            .revocations_after(after, MAX_LIMIT)
            .await?;
        if matches!(&read, FeedRead::Entries(entries) if !entries.is_empty()) {
            self.state.signals.feed.count_stream_read();
        }
        Ok(read)
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
        // A full page: more may follow at once, which the broadcast may no longer hold.
        self.catching_up = entries.len() >= MAX_LIMIT as usize;
    }

    /// Begins a `snapshot` or `resync`: its first page replaces whatever is queued.
    async fn begin_snapshot(&mut self, name: &'static str) -> Result<(), StoreError> {
        let page = self
            .state
            .services
            .store
            .revocation_snapshot_page(self.state.services.clock.now(), None, 0, MAX_LIMIT)
            .await?
            .ok_or_else(|| StoreError::Backend("a new snapshot did not begin".into()))?;
        // Anything still queued predates the snapshot, which includes it if it is live.
        self.pending.clear();
        self.push_snapshot_page(name, &page);
        Ok(())
    }

    /// Sends the next page of the snapshot being sent.
    async fn continue_snapshot(&mut self, token: SnapshotToken) -> Result<(), StoreError> {
        let page = self
            .state
            .services
            .store
            .revocation_snapshot_page(
                self.state.services.clock.now(),
                Some(token.snapshot),
                token.after,
                MAX_LIMIT,
            )
            .await?;
        match page {
            Some(page) => self.push_snapshot_page(SNAPSHOT_CONTINUED, &page),
            // The store was replaced meanwhile: start the snapshot over.
            None => self.begin_snapshot("resync").await?,
        }
        Ok(())
    }

    /// Queues a page of a snapshot. Only the last page carries an `id`: a client that
    /// reconnects in the middle of a snapshot resumes from where it stood before it (and gets
    /// a whole snapshot again), never from a snapshot it holds only part of.
    fn push_snapshot_page(&mut self, name: &'static str, page: &FeedSnapshotPage) {
        let wire = WirePage::snapshot(page);
        let mut event = Event::default()
            .event(name)
            .data(to_json(&wire).to_string());
        if page.next.is_none() {
            event = event.id(&wire.cursor);
        }
        self.pending.push_back(event);
        self.cursor = page.cursor;
        self.catching_up = false;
        self.snapshot = page.next.map(|after| SnapshotToken {
            snapshot: page.cursor,
            after,
        });
    }
}

/// How a broadcast page of the entries in `(after, last]` fits a stream at `cursor`.
#[derive(Debug, PartialEq, Eq)]
enum Fit {
    /// Every entry of the page is already queued (read by the stream itself, or part of its
    /// snapshot).
    Seen,
    /// The page continues from the cursor or overlaps it: its entries after the cursor are
    /// the next ones.
    Continues,
    /// Entries between the cursor and the page are not in the broadcast: read the store.
    Gap,
}

fn fit(cursor: i64, after: i64, last: i64) -> Fit {
    if last <= cursor {
        Fit::Seen
    } else if after <= cursor {
        Fit::Continues
    } else {
        Fit::Gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_taken_only_where_it_continues_the_stream() {
        // (cursor, page after, page last)
        let check = |cursor, after, last, expect| {
            assert_eq!(
                fit(cursor, after, last),
                expect,
                "{cursor} ({after}, {last}]"
            );
        };
        check(10, 10, 15, Fit::Continues);
        check(12, 10, 15, Fit::Continues);
        check(14, 10, 15, Fit::Continues);
        check(15, 10, 15, Fit::Seen);
        check(20, 10, 15, Fit::Seen);
        check(9, 10, 15, Fit::Gap);
        check(0, 10, 15, Fit::Gap);
        // An empty page (after == last) adds nothing.
        check(10, 10, 10, Fit::Seen);
    }
}
