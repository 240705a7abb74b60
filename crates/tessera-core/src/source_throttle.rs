//! Limits on password sign-in per network source, against password spraying: one guess at each
//! of many accounts never trips a per-account limit, so every source also has an allowance.
//!
//! A source is an IPv4 address or an IPv6 /64 ([`ThrottleKey::for_source`]). Its allowance is a
//! bucket: it holds up to [`SourceThrottlePolicy::burst`] attempts and drains one every
//! [`SourceThrottlePolicy::refill_every`]. Every attempt is counted *before* its password is
//! checked (so parallel attempts cannot overrun it), and a successful sign-in gives its attempt
//! back ([`ThrottleRule::forgive`]): only failures accumulate, so an office behind one address
//! where people sign in all day is never limited, while an attacker signing in to an account of
//! their own between guesses gains nothing. A full bucket refuses attempts until one attempt has
//! drained, without checking any password.
//!
//! Unlike the per-account count ([`LoginThrottlePolicy`](crate::LoginThrottlePolicy)) the bucket
//! is never reset by a quiet period: it drains steadily, so a source is never locked for longer
//! than the time its excess takes to drain.
//!
//! The store applies this rule atomically, as it does the per-account one.

use crate::login_throttle::{Admission, ThrottleRule, ThrottleState};
#[cfg(doc)]
use crate::ThrottleKey;
use time::{Duration, OffsetDateTime};

/// The per-source allowance. The defaults allow a burst of 30 failed attempts, then one every
/// 20 seconds (180 an hour) — far above what people typing passwords produce, far below the
/// ~100 a second a spraying script sends.
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
    fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState) {
        let (level, since) = self.drained(stored, now);
        let burst = self.burst.max(1);
        if level >= burst {
            let steps = i32::try_from(level - burst + 1).unwrap_or(i32::MAX);
            let until = since + self.refill_every.max(Duration::SECOND) * steps;
            // A full bucket was stored (an empty one drains to 0): it stays as it was.
            let unchanged = stored.cloned().unwrap_or(ThrottleState {
                attempts: level,
                last_attempt_at: since,
                locked_until: None,
            });
            return (Admission::Locked { until }, unchanged);
        }
        (
            Admission::Admitted,
            ThrottleState {
                attempts: level + 1,
                last_attempt_at: since,
                locked_until: None,
            },
        )
    }

    fn forgive(&self, stored: &ThrottleState, now: OffsetDateTime) -> ThrottleState {
        let (level, since) = self.drained(Some(stored), now);
        ThrottleState {
            attempts: level.saturating_sub(1),
            last_attempt_at: since,
            locked_until: None,
        }
    }

    fn forgettable_at(&self, state: &ThrottleState) -> OffsetDateTime {
        let steps = i32::try_from(state.attempts).unwrap_or(i32::MAX);
        state.last_attempt_at + self.refill_every.max(Duration::SECOND) * steps
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

    fn attempt(state: &mut Option<ThrottleState>, at: i64) -> Admission {
        let (admission, next) = policy().admit(state.as_ref(), T0 + Duration::seconds(at));
        *state = Some(next);
        admission
    }

    #[test]
    fn a_burst_is_admitted_then_one_attempt_per_drained_step() {
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
    fn successes_give_their_attempt_back_so_only_failures_fill_the_bucket() {
        let policy = policy();
        let mut state = None;
        // A hundred sign-ins that succeed, from one address, in one second.
        for _ in 0..100 {
            let (admission, admitted) = policy.admit(state.as_ref(), T0);
            assert_eq!(admission, Admission::Admitted);
            state = Some(policy.forgive(&admitted, T0));
        }
        assert_eq!(state.as_ref().unwrap().attempts, 0);
        // Failures between an attacker's own successful sign-ins still add up.
        let mut state = None;
        for round in 0..3 {
            assert_eq!(
                attempt(&mut state, 0),
                Admission::Admitted,
                "failure {round}"
            );
            let (_, admitted) = policy.admit(state.as_ref(), T0);
            state = Some(policy.forgive(&admitted, T0));
        }
        assert!(matches!(attempt(&mut state, 0), Admission::Locked { .. }));
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
