//! How many feed streams may be open at once: at most `max_streams_per_client` per client and
//! `max_streams` per process (`[feed]` in the configuration). Each open stream holds a
//! [`StreamSlot`]; dropping it (the client went away, the server shuts down) frees the slot.
//! Over a cap a new stream is refused; streams already open are never cut.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The stream limits, from the configuration's `[feed]` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Most streams one client (by client id) may hold open in this process.
    pub max_streams_per_client: usize,
    /// Most streams open in this process, all clients together.
    pub max_streams: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_streams_per_client: 16,
            max_streams: 1000,
        }
    }
}

/// Which cap refused a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotRefusal {
    /// The client holds `max_streams_per_client` streams already.
    PerClient,
    /// The process holds `max_streams` streams already.
    Total,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<String, usize>,
}

/// The open streams of one process, counted per client and in total. Cheap to clone; the
/// clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct StreamSlots {
    counts: Arc<Mutex<Counts>>,
}

impl StreamSlots {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: each change is one statement.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a new stream of `client_id`, or says which cap is reached.
    pub fn acquire(
        &self,
        client_id: &str,
        limits: StreamLimits,
    ) -> Result<StreamSlot, SlotRefusal> {
        let mut counts = self.lock();
        let held = counts.per_client.get(client_id).copied().unwrap_or(0);
        if held >= limits.max_streams_per_client {
            return Err(SlotRefusal::PerClient);
        }
        if counts.total >= limits.max_streams {
            return Err(SlotRefusal::Total);
        }
        counts.total += 1;
        *counts.per_client.entry(client_id.to_owned()).or_insert(0) += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            client_id: client_id.to_owned(),
        })
    }

    /// Streams open now, in total.
    pub fn open_streams(&self) -> usize {
        self.lock().total
    }

    /// Streams `client_id` holds open now.
    pub fn open_streams_of(&self, client_id: &str) -> usize {
        self.lock().per_client.get(client_id).copied().unwrap_or(0)
    }
}

/// One open stream's place under the caps; freed when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: StreamSlots,
    client_id: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.per_client.get_mut(&self.client_id) {
            *held -= 1;
            if *held == 0 {
                // Forget idle clients, so the map holds only clients with open streams.
                counts.per_client.remove(&self.client_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_client_and_in_total_and_slots_free_on_drop() {
        let slots = StreamSlots::default();
        let limits = StreamLimits {
            max_streams_per_client: 2,
            max_streams: 3,
        };
        let a1 = slots.acquire("a", limits).unwrap();
        let a2 = slots.acquire("a", limits).unwrap();
        assert_eq!(
            slots.acquire("a", limits).unwrap_err(),
            SlotRefusal::PerClient
        );
        let b1 = slots.acquire("b", limits).unwrap();
        assert_eq!(slots.acquire("c", limits).unwrap_err(), SlotRefusal::Total);
        assert_eq!(slots.open_streams(), 3);
        drop(a1);
        assert_eq!(slots.open_streams_of("a"), 1);
        let c1 = slots.acquire("c", limits).unwrap();
        drop((a2, b1, c1));
        assert_eq!(slots.open_streams(), 0);
        assert!(slots.lock().per_client.is_empty());
    }
}
