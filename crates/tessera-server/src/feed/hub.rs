//! One reader per process: the feed watcher (`crate::workers::feed_watcher`) reads each new
//! page of the feed from the store once, through [`FeedReader`], and the [`FeedHub`]
//! broadcasts it, already serialised, to every open stream. Before, each stream read the store
//! for every new entry itself, so the cost of a revocation grew with the number of streams.
//!
//! A stream that falls behind the broadcast (it lagged, or a page does not continue from its
//! cursor) reads the store itself until it has caught up, so no stream misses an entry: the
//! broadcast is a shortcut, the store stays the truth.

use super::slots::StreamSlots;
use super::wire::{to_json, WireEntry};
use crate::app::AppState;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tessera_core::RevocationEntry;
use tessera_store::{FeedRead, StoreError};
use tokio::sync::broadcast;

/// Pages the broadcast keeps for streams that have not taken them yet. A stream further
/// behind than this reads the store itself.
const BROADCAST_CAPACITY: usize = 256;

/// One entry, serialised once for every stream.
#[derive(Debug)]
pub(super) struct SharedEntry {
    pub(super) cursor: i64,
    /// The cursor as text: the SSE `id`.
    pub(super) id: String,
    /// The SSE event name: the entry's kind.
    pub(super) kind: &'static str,
    /// The SSE `data`: the entry as one line of JSON.
    pub(super) data: String,
}

/// Consecutive entries of the feed: every entry with `after < cursor <= last`.
#[derive(Debug)]
pub(super) struct SharedPage {
    pub(super) after: i64,
    pub(super) last: i64,
    pub(super) entries: Vec<SharedEntry>,
}

/// What the hub broadcasts.
#[derive(Clone, Debug)]
pub(super) enum Broadcast {
    /// New entries.
    Page(Arc<SharedPage>),
    /// The store went back (it was replaced): every stream must read it itself to find out
    /// where it stands.
    Reread,
}

#[derive(Debug)]
struct HubInner {
    pages: broadcast::Sender<Broadcast>,
    /// Where the one reader has read up to.
    read_cursor: AtomicI64,
    /// Store reads for new entries that found some, by the reader or by streams.
    entry_reads: AtomicU64,
    /// Of those, the ones streams made themselves (catching up).
    stream_reads: AtomicU64,
    slots: StreamSlots,
}

/// The feed's fan-out: the broadcast of new pages, the count of store reads, and the stream
/// slots. Cheap to clone; the clones share everything.
#[derive(Clone, Debug)]
pub struct FeedHub(Arc<HubInner>);

impl Default for FeedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl FeedHub {
    /// A hub whose reader starts at cursor 0 (see [`start_at`](Self::start_at)).
    pub fn new() -> Self {
        Self(Arc::new(HubInner {
            pages: broadcast::Sender::new(BROADCAST_CAPACITY),
            read_cursor: AtomicI64::new(0),
            entry_reads: AtomicU64::new(0),
            stream_reads: AtomicU64::new(0),
            slots: StreamSlots::default(),
        }))
    }

    /// Sets where the reader starts: the store's newest cursor when the server opens, so that
    /// it broadcasts what is made from then on (streams catch up on older entries from the
    /// store themselves).
    pub fn start_at(&self, cursor: i64) {
        self.0.read_cursor.store(cursor, Ordering::SeqCst);
    }

    /// Where the one reader has read (and broadcast) up to.
    pub fn read_cursor(&self) -> i64 {
        self.0.read_cursor.load(Ordering::SeqCst)
    }

    /// The open streams' slots.
    pub fn slots(&self) -> &StreamSlots {
        &self.0.slots
    }

    /// Store reads for new feed entries that found some, by the one reader and by streams
    /// catching up. With the fan-out it grows with the entries made, not with the streams open.
    pub fn entry_reads(&self) -> u64 {
        self.0.entry_reads.load(Ordering::Relaxed)
    }

    /// Of [`entry_reads`](Self::entry_reads), those streams made themselves: catching up at
    /// the start, or after falling behind the broadcast.
    pub fn stream_reads(&self) -> u64 {
        self.0.stream_reads.load(Ordering::Relaxed)
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Broadcast> {
        self.0.pages.subscribe()
    }

    /// Counts a store read of a stream that found entries.
    pub(super) fn count_stream_read(&self) {
        self.0.entry_reads.fetch_add(1, Ordering::Relaxed);
        self.0.stream_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every entry after the reader's cursor, page by page, and broadcasts each page;
    /// returns the newest cursor of the store. Only the feed watcher calls it (one reader per
    /// process). On an error the cursor stays, and the next call reads from it again.
    pub async fn read_new(&self, state: &AppState) -> Result<i64, StoreError> {
        let store = &state.services.store;
        loop {
            let cursor = self.0.read_cursor.load(Ordering::SeqCst);
            match store.revocations_after(cursor, super::MAX_LIMIT).await? {
                FeedRead::Entries(entries) => {
                    let Some(last) = entries.last().map(|e| e.cursor) else {
                        return Ok(cursor);
                    };
                    self.0.entry_reads.fetch_add(1, Ordering::Relaxed);
                    let full = entries.len() >= super::MAX_LIMIT as usize;
                    self.0.read_cursor.store(last, Ordering::SeqCst);
                    // Announced before it is broadcast: whoever sees an entry on a stream
                    // finds the process knowing of it.
                    state.signals.announce_cursor(last);
                    self.publish(cursor, &entries);
                    if !full {
                        return Ok(last);
                    }
                }
                // Entries after the reader's cursor were swept (after a long outage): go on
                // from the newest cursor. Streams behind find the gap and resync themselves.
                FeedRead::Behind => {
                    let newest = newest_cursor(state).await?;
                    self.0.read_cursor.store(newest, Ordering::SeqCst);
                    state.signals.announce_cursor(newest);
                    return Ok(newest);
                }
                // The store went back: it was replaced under a running server.
                FeedRead::Ahead => {
                    let newest = newest_cursor(state).await?;
                    tracing::warn!(
                        newest,
                        cursor,
                        "revocation feed: the store's newest cursor went back"
                    );
                    self.0.read_cursor.store(newest, Ordering::SeqCst);
                    state.signals.feed_cursor.send_replace(newest);
                    let _ = self.0.pages.send(Broadcast::Reread);
                    return Ok(newest);
                }
            }
        }
    }

    /// Serialises `entries` (those after `after`) once and sends them to every stream.
    fn publish(&self, after: i64, entries: &[RevocationEntry]) {
        let entries: Vec<SharedEntry> = entries
            .iter()
            .map(|entry| {
                let wire = WireEntry::of(entry);
                SharedEntry {
                    cursor: entry.cursor,
                    kind: wire.kind,
                    data: to_json(&wire).to_string(),
                    id: wire.cursor,
                }
            })
            .collect();
        let last = entries.last().map_or(after, |e| e.cursor);
        // No receiver (no stream open) is not an error.
        let _ = self.0.pages.send(Broadcast::Page(Arc::new(SharedPage {
            after,
            last,
            entries,
        })));
    }
}

/// The newest cursor the store has handed out: the cursor of a new snapshot, of which only one
/// entry is read.
pub async fn newest_cursor(state: &AppState) -> Result<i64, StoreError> {
    let page = state
        .services
        .store
        .revocation_snapshot_page(state.services.clock.now(), None, 0, 1)
        .await?;
    // A new snapshot always begins; `None` only answers a given snapshot cursor.
    Ok(page.map_or(0, |p| p.cursor))
}
