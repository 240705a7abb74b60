//! Limits on password sign-in per network source, against password spraying: one guess at each
//! of many accounts never trips a per-account limit, so every source also has an allowance.
//!
//! A source is an IPv4 address or an IPv6 /64 ([`ThrottleKey::for_source`]). Its allowance is a
//! bucket of *failed* attempts: it holds up to [`SourceThrottlePolicy::burst`] and drains one
//! every [`SourceThrottlePolicy::refill_every`]. Before a password is checked the bucket is only
//! looked at ([`SourceThrottlePolicy::check`]): a full bucket refuses the attempt without checking
//! any password. Only a failure is counted ([`SourceThrottlePolicy`] itself as the rule), after
//! its check. So an office behind one address where a hundred people sign in at nine o'clock is
//! never limited, however many sign-ins are in flight at once, and an attacker signing in to an
//! account of their own between guesses gains nothing.
//!
//! Counting after the check lets attempts already in flight when the bucket fills overshoot it
//! by at most their number (bounded by the hashing pool and the connection cap): harmless for a
//! limit on volume over time, unlike the per-account count
//! ([`LoginThrottlePolicy`](crate::LoginThrottlePolicy)), which counts every attempt before its
//! check because a handful of guesses matter there.
//!
//! Unlike the per-account count the bucket is never reset by a quiet period: it drains steadily,
//! so a source is never refused for longer than its excess takes to drain.
//!
//! The store applies both rules atomically, as it does the per-account one.

use crate::login_throttle::{Admission, ThrottleRule, ThrottleState};
#[cfg(doc)]
use crate::ThrottleKey;
use time::{Duration, OffsetDateTime};

/// The per-source allowance, and as a [`ThrottleRule`] the counting of one failed attempt. The
/// defaults allow a burst of 30 failed attempts, then one every 20 seconds (180 an hour) — far
/// above what people mistyping passwords produce, far below the ~100 a second a spraying script
/// sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceThrottlePolicy {
    /// Attempts a source may have outstanding (failed, or in progress) at once.
    pub burst: u32,
    /// How often one outstanding attempt drains away.
    pub refill_every: Duration,
}

impl Default for SourceThrottlePolicy {
    fn default() -> Self {
        Self {
            burst: 30,
            refill_every: Duration::seconds(20),
        }
    }
}

impl SourceThrottlePolicy {
    /// The rule that only looks: it refuses while the bucket is full and never counts.
    pub fn check(&self) -> SourceCheck<'_> {
        SourceCheck(self)
    }

    /// When a full bucket (level at or above the burst, as of `since`) admits again.
    fn refused_until(&self, level: u32, since: OffsetDateTime) -> Option<OffsetDateTime> {
        let burst = self.burst.max(1);
        (level >= burst).then(|| {
            let steps = i32::try_from(level - burst + 1).unwrap_or(i32::MAX);
            since + self.refill_every.max(Duration::SECOND) * steps
        })
    }

    /// The bucket's level at `now` and the time that level was reached: `stored` after draining
    /// whole steps. In a [`ThrottleState`] of this rule, `attempts` is the level and
    /// `last_attempt_at` the time the last drained step ended (or the level was set).
    fn drained(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (u32, OffsetDateTime) {
        let Some(state) = stored else {
            return (0, now);
        };
        let step = self.refill_every.max(Duration::SECOND);
        let elapsed = now - state.last_attempt_at;
        if elapsed <= Duration::ZERO {
            return (state.attempts, state.last_attempt_at);
        }
        let steps = elapsed.whole_seconds() / step.whole_seconds();
        let steps = u32::try_from(steps).unwrap_or(u32::MAX);
        if steps >= state.attempts {
            return (0, now);
        }
        // A step is at most a day, so `steps` here is below the level (a u32): no overflow.
        (
            state.attempts - steps,
            state.last_attempt_at + step * i32::try_from(steps).unwrap_or(i32::MAX),
        )
    }
}

impl ThrottleRule for SourceThrottlePolicy {
    /// Counts one failed attempt (a full bucket is not filled further: the answer is then
    /// `Locked`, and nothing changes).
    fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState) {
        let (level, since) = self.drained(stored, now);
        let state = ThrottleState {
            attempts: level,
            last_attempt_at: since,
            locked_until: None,
        };
        if let Some(until) = self.refused_until(level, since) {
            return (
                Admission::Locked { until },
                stored.cloned().unwrap_or(state),
            );
        }
        (
            Admission::Admitted,
            ThrottleState {
                attempts: level + 1,
                ..state
            },
        )
    }

    fn forgettable_at(&self, state: &ThrottleState) -> OffsetDateTime {
        let steps = i32::try_from(state.attempts).unwrap_or(i32::MAX);
        state.last_attempt_at + self.refill_every.max(Duration::SECOND) * steps
    }
}

/// [`SourceThrottlePolicy::check`]: admits unless the source's bucket is full, and stores
/// nothing new.
#[derive(Clone, Copy, Debug)]
pub struct SourceCheck<'a>(&'a SourceThrottlePolicy);

impl ThrottleRule for SourceCheck<'_> {
    fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState) {
        let (level, since) = self.0.drained(stored, now);
        let unchanged = stored.cloned().unwrap_or(ThrottleState {
            attempts: 0,
            last_attempt_at: now,
            locked_until: None,
        });
        match self.0.refused_until(level, since) {
            Some(until) => (Admission::Locked { until }, unchanged),
            None => (Admission::Admitted, unchanged),
        }
    }

    fn forgettable_at(&self, state: &ThrottleState) -> OffsetDateTime {
        self.0.forgettable_at(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn policy() -> SourceThrottlePolicy {
        SourceThrottlePolicy {
            burst: 3,
            refill_every: Duration::seconds(10),
        }
    }

    /// A failed attempt at `at` seconds: checked, then counted if admitted.
    fn attempt(state: &mut Option<ThrottleState>, at: i64) -> Admission {
        let now = T0 + Duration::seconds(at);
        let policy = policy();
        let (admission, unchanged) = policy.check().admit(state.as_ref(), now);
        if state.is_some() {
            assert_eq!(
                state.as_ref(),
                Some(&unchanged),
                "a check stores nothing new"
            );
        }
        if admission == Admission::Admitted {
            *state = Some(policy.admit(state.as_ref(), now).1);
        }
        admission
    }

    #[test]
    fn a_burst_of_failures_is_admitted_then_one_per_drained_step() {
        let mut state = None;
        for _ in 0..3 {
            assert_eq!(attempt(&mut state, 0), Admission::Admitted);
        }
        assert_eq!(
            attempt(&mut state, 1),
            Admission::Locked {
                until: T0 + Duration::seconds(10)
            }
        );
        assert_eq!(attempt(&mut state, 10), Admission::Admitted, "one drained");
        assert!(matches!(attempt(&mut state, 11), Admission::Locked { .. }));
        // Thirty seconds later the bucket is empty again: a full burst.
        for _ in 0..3 {
            assert_eq!(attempt(&mut state, 40), Admission::Admitted);
        }
    }

    #[test]
    fn checks_never_fill_the_bucket_and_a_full_one_is_not_filled_further() {
        let policy = policy();
        // A hundred sign-ins in flight at once, all checked before any is counted.
        let mut state = None;
        for _ in 0..100 {
            let (admission, unchanged) = policy.check().admit(state.as_ref(), T0);
            assert_eq!(admission, Admission::Admitted);
            state = Some(unchanged);
        }
        assert_eq!(state.as_ref().unwrap().attempts, 0);
        // Failures that were in flight when the bucket filled are refused to count further.
        let mut state = None;
        for _ in 0..3 {
            state = Some(policy.admit(state.as_ref(), T0).1);
        }
        let (admission, after) = policy.admit(state.as_ref(), T0);
        assert!(matches!(admission, Admission::Locked { .. }));
        assert_eq!(Some(after), state);
    }

    #[test]
    fn a_drained_bucket_may_be_forgotten() {
        let policy = policy();
        let mut state = None;
        attempt(&mut state, 0);
        attempt(&mut state, 0);
        let state = state.unwrap();
        let forget_at = policy.forgettable_at(&state);
        assert_eq!(forget_at, T0 + Duration::seconds(20));
        let (_, after) = policy.admit(Some(&state), forget_at);
        let (_, fresh) = policy.admit(None, forget_at);
        assert_eq!(after, fresh, "at forget_at the count decides as no count");
    }
}
