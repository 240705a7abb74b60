//! The background workers every server runs beside its routes, each in its own task, stopped
//! when the server stops:
//!
//! - `housekeeping`: periodic key refresh and purge of expired records;
//! - `key_follower`: re-reads the key ring as soon as the store reports a key change;
//! - `feed_watcher`: announces revocations written by other processes to the feed streams;
//! - `backchannel`: delivers queued back-channel logout tokens;
//! - `outbox`: sends queued mail (when an SMTP server is configured).

pub mod backchannel;
pub mod feed_watcher;
pub mod housekeeping;
pub mod key_follower;
pub mod outbox;

use crate::app::AppState;
use tokio::task::JoinHandle;

/// Starts every worker on `state`; the caller aborts the handles when it stops.
pub fn spawn_all(state: &AppState) -> [JoinHandle<()>; 5] {
    [
        tokio::spawn(housekeeping::run(state.clone())),
        tokio::spawn(feed_watcher::watch_store(state.clone())),
        tokio::spawn(key_follower::run(state.clone())),
        tokio::spawn(backchannel::run_worker(state.clone())),
        tokio::spawn(outbox::run(state.clone())),
    ]
}
