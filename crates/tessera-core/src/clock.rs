//! The injected clock. Every lifetime decision asks a [`Clock`], never the system directly.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// How long, in real time, to wait until [`now`](Self::now) reaches `instant` (zero if it
    /// has). A [`ManualClock`] cannot be waited for, so it treats the wait as time passing: it
    /// moves itself to `instant` and answers zero.
    fn wait_until(&self, instant: OffsetDateTime) -> std::time::Duration {
        let remaining = instant - OffsetDateTime::now_utc();
        remaining.try_into().unwrap_or(std::time::Duration::ZERO)
    }
}

/// The real wall clock, truncated to whole seconds: tokens and the store carry whole seconds, so
/// an instant kept in memory compares equal to the same instant read back.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// A clock that only moves when told to; shared by clones. Used by tests to cross lifetimes
/// without sleeping.
#[derive(Clone, Debug)]
pub struct ManualClock {
    unix_seconds: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `start` (sub-second precision is dropped: tokens carry whole seconds).
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            unix_seconds: Arc::new(AtomicI64::new(start.unix_timestamp())),
        }
    }

    /// Moves the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: Duration) {
        self.unix_seconds
            .fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }

    /// The current instant in whole seconds since the epoch.
    pub fn now_unix(&self) -> i64 {
        self.unix_seconds.load(Ordering::SeqCst)
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        self.unix_seconds
            .store(to.unix_timestamp(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.unix_seconds.load(Ordering::SeqCst))
            .expect("ManualClock holds a representable instant")
    }

    fn wait_until(&self, instant: OffsetDateTime) -> std::time::Duration {
        self.unix_seconds
            .fetch_max(instant.unix_timestamp(), Ordering::SeqCst);
        std::time::Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = ManualClock::new(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::minutes(15));
        assert_eq!(clock.now(), start + Duration::minutes(15));
        clock.set(start);
        assert_eq!(other.now(), start);
        // Waiting moves a manual clock forward, never back.
        assert!(clock.wait_until(start + Duration::seconds(5)).is_zero());
        assert_eq!(other.now(), start + Duration::seconds(5));
        clock.wait_until(start);
        assert_eq!(other.now(), start + Duration::seconds(5));
    }

    #[test]
    fn system_clock_waits_for_the_future_only() {
        let clock = SystemClock;
        assert!(clock
            .wait_until(clock.now() - Duration::seconds(1))
            .is_zero());
        let wait = clock.wait_until(clock.now() + Duration::seconds(2));
        assert!(
            wait > std::time::Duration::from_secs(1) && wait <= std::time::Duration::from_secs(2)
        );
    }
}
