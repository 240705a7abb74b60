//! Brute-force limits on password sign-in, per account.
//!
//! Every attempt at an account is counted *before* its password is checked, so attempts sent in
//! parallel (to one node or to several sharing a store) cannot slip past the limit while the
//! slow argon2 verifications run. After [`LoginThrottlePolicy::free_attempts`] attempts without
//! a success the account is locked for [`LoginThrottlePolicy::base_lockout`], doubling with each
//! further attempt up to [`LoginThrottlePolicy::max_lockout`]; while it is locked no password is
//! checked at all, so a correct guess cannot even be confirmed. A successful sign-in forgets the
//! count, and so does a quiet period of [`LoginThrottlePolicy::forget_after`].
//!
//! The count is kept per [`ThrottleKey`], derived from what was typed in the email field, not
//! from the account: an address with no account is throttled exactly like one with an account,
//! so the limit's answers tell an attacker nothing about which addresses exist.
//!
//! The store applies a [`ThrottleRule`] atomically (one transaction per attempt); this module
//! only decides. Two rules exist: [`LoginThrottlePolicy`] here, per account (or per account and
//! trusted browser, see [`ThrottleKey::for_device`]), and
//! [`SourceThrottlePolicy`](crate::source_throttle::SourceThrottlePolicy), per network source,
//! against spraying one guess at each of many accounts.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// Which attempts count together: a SHA-256 of the trimmed, lower-cased email field (the same
/// normalisation as [`Email`](crate::Email)), so differently typed spellings of one address
/// share a count and the store keeps no typed addresses in clear.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThrottleKey(String);

impl ThrottleKey {
    /// The key for what was typed in the email field.
    pub fn for_username(typed: &str) -> Self {
        let normalised = typed.trim().to_lowercase();
        let hash = digest::digest(&digest::SHA256, normalised.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(hash))
    }

    /// The key for attempts at the account typed as `typed` from a browser holding the device
    /// cookie `device_id` (issued when that browser last signed in to the account): its own
    /// count, so that an attacker locking the account's shared count does not lock the user out
    /// of their usual browser.
    pub fn for_device(typed: &str, device_id: &str) -> Self {
        let normalised = typed.trim().to_lowercase();
        Self::hashed(&format!("device\0{device_id}\0{normalised}"))
    }

    /// The key for attempts from one network source: an IPv4 address, or the /64 an IPv6
    /// address belongs to (one subscriber's usual allocation). IPv4-mapped IPv6 addresses count
    /// as their IPv4 address.
    pub fn for_source(address: std::net::IpAddr) -> Self {
        use std::net::IpAddr;
        let source = match address {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        Self::hashed(&format!("source\0{source}"))
    }

    /// The key for second-factor attempts at the account `user` (a code typed after a right
    /// password, or at a step-up): a count of its own, kept by every node alike, so that a
    /// known password does not buy unlimited guesses at six digits.
    pub fn for_second_factor(user: &crate::UserId) -> Self {
        Self::hashed(&format!("second-factor\0{}", user.as_str()))
    }

    /// The key for forgotten-password requests naming the address typed as `typed`: its own
    /// count, so asking for links is limited without touching the address's sign-in count.
    pub fn for_password_reset(typed: &str) -> Self {
        let normalised = typed.trim().to_lowercase();
        Self::hashed(&format!("password-reset\0{normalised}"))
    }

    /// The key for sign-up requests naming the address typed as `typed`: asking for sign-up
    /// links (or, for an address with an account, the notice saying so) is limited per address,
    /// so nobody can flood a mailbox through the sign-up page.
    pub fn for_sign_up(typed: &str) -> Self {
        let normalised = typed.trim().to_lowercase();
        Self::hashed(&format!("sign-up\0{normalised}"))
    }

    /// The key for SMS codes sent to `number` (whoever asks): against SMS pumping, where
    /// someone has codes sent to premium numbers at the operator's expense.
    pub fn for_sms_number(number: &crate::PhoneNumber) -> Self {
        Self::hashed(&format!("sms-number\0{}", number.as_str()))
    }

    /// The key for SMS codes asked for from one network source (IPv6 /64 as for sign-ins).
    pub fn for_sms_source(address: std::net::IpAddr) -> Self {
        let source = Self::for_source(address);
        Self::hashed(&format!("sms-source\0{}", source.as_str()))
    }

    fn hashed(text: &str) -> Self {
        let hash = digest::digest(&digest::SHA256, text.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(hash))
    }

    /// Wraps a key read back from the store.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The count kept for one [`ThrottleKey`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// Attempts since the last success (or since the count was forgotten).
    pub attempts: u32,
    /// When the latest of them was made.
    pub last_attempt_at: OffsetDateTime,
    /// Until when no attempt is admitted, if the count has passed the free attempts.
    pub locked_until: Option<OffsetDateTime>,
}

impl ThrottleState {
    /// When the count may be forgotten under `policy`: a quiet period after the later of the
    /// last attempt and the end of the lock.
    pub fn forgettable_at(&self, policy: &LoginThrottlePolicy) -> OffsetDateTime {
        let quiet_from = match self.locked_until {
            Some(until) if until > self.last_attempt_at => until,
            _ => self.last_attempt_at,
        };
        quiet_from + policy.forget_after
    }
}

/// A decision the store applies atomically to one key's stored count.
pub trait ThrottleRule: Send + Sync {
    /// Decides an attempt made at `now`, given the stored count (`None` if there is none), and
    /// returns the count to store in its place. A refused attempt leaves the count as it was.
    fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState);

    /// When `state` may be deleted: it then decides exactly as no count would.
    fn forgettable_at(&self, state: &ThrottleState) -> OffsetDateTime;
}

/// The answer to one sign-in attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check the password.
    Admitted,
    /// Refuse without checking the password.
    Locked {
        /// When the next attempt will be admitted.
        until: OffsetDateTime,
    },
}

/// The limits. The defaults allow 5 attempts, then lock for 1 minute, 2, 4 … up to 15 minutes,
/// and forget after an hour without attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottlePolicy {
    /// Attempts admitted before the first lock.
    pub free_attempts: u32,
    /// The first lock's length.
    pub base_lockout: Duration,
    /// The longest lock.
    pub max_lockout: Duration,
    /// How long a count is kept after the last attempt (or the end of the lock, if later).
    pub forget_after: Duration,
}

impl Default for LoginThrottlePolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base_lockout: Duration::minutes(1),
            max_lockout: Duration::minutes(15),
            forget_after: Duration::hours(1),
        }
    }
}

impl LoginThrottlePolicy {
    /// Decides an attempt made at `now`, given the stored count (`None` if there is none), and
    /// returns the count to store in its place. A refused attempt leaves the count as it was.
    pub fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState) {
        let current = stored.filter(|state| now < state.forgettable_at(self));
        if let Some(state) = current {
            if let Some(until) = state.locked_until.filter(|until| now < *until) {
                return (Admission::Locked { until }, state.clone());
            }
        }
        let attempts = current.map_or(0, |state| state.attempts).saturating_add(1);
        let locked_until =
            (attempts >= self.free_attempts.max(1)).then(|| now + self.lockout_after(attempts));
        (
            Admission::Admitted,
            ThrottleState {
                attempts,
                last_attempt_at: now,
                locked_until,
            },
        )
    }

    /// The lock that follows attempt number `attempts` (counting from 1), once the free
    /// attempts are used up: the base lock, doubled per further attempt, capped.
    fn lockout_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(self.free_attempts.max(1)).min(30);
        let lockout = self.base_lockout.saturating_mul(1i32 << doublings);
        lockout.min(self.max_lockout)
    }
}

impl ThrottleRule for LoginThrottlePolicy {
    fn admit(
        &self,
        stored: Option<&ThrottleState>,
        now: OffsetDateTime,
    ) -> (Admission, ThrottleState) {
        LoginThrottlePolicy::admit(self, stored, now)
    }

    fn forgettable_at(&self, state: &ThrottleState) -> OffsetDateTime {
        state.forgettable_at(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    /// Runs attempts at the given offsets (seconds from T0), threading the state through.
    fn run(policy: &LoginThrottlePolicy, offsets: &[i64]) -> Vec<Admission> {
        let mut state: Option<ThrottleState> = None;
        offsets
            .iter()
            .map(|&offset| {
                let (admission, next) =
                    policy.admit(state.as_ref(), T0 + Duration::seconds(offset));
                state = Some(next);
                admission
            })
            .collect()
    }

    fn locked_until(offset: i64) -> Admission {
        Admission::Locked {
            until: T0 + Duration::seconds(offset),
        }
    }

    #[test]
    fn five_attempts_are_free_then_the_account_locks_for_a_minute() {
        let got = run(&LoginThrottlePolicy::default(), &[0, 1, 2, 3, 4, 5, 64]);
        assert_eq!(&got[..5], &[Admission::Admitted; 5]);
        // The fifth attempt (at 4 s) started a one-minute lock.
        assert_eq!(got[5], locked_until(64));
        assert_eq!(got[6], Admission::Admitted, "the lock ends after a minute");
    }

    #[test]
    fn each_attempt_after_a_lock_doubles_the_next_lock_up_to_the_cap() {
        let policy = LoginThrottlePolicy::default();
        let mut state = None;
        let mut now = T0;
        let mut locks = Vec::new();
        for _ in 0..12 {
            let (admission, next) = policy.admit(state.as_ref(), now);
            assert_eq!(admission, Admission::Admitted);
            if let Some(until) = next.locked_until {
                locks.push((until - now).whole_minutes());
                now = until;
            } else {
                now += Duration::seconds(1);
            }
            state = Some(next);
        }
        assert_eq!(locks, [1, 2, 4, 8, 15, 15, 15, 15]);
    }

    #[test]
    fn a_refused_attempt_neither_counts_nor_extends_the_lock() {
        let policy = LoginThrottlePolicy::default();
        let (_, mut state) = policy.admit(None, T0);
        for _ in 1..5 {
            state = policy.admit(Some(&state), T0).1;
        }
        let (admission, after) = policy.admit(Some(&state), T0 + Duration::seconds(30));
        assert_eq!(admission, locked_until(60));
        assert_eq!(after, state);
    }

    #[test]
    fn a_quiet_hour_after_the_lock_forgets_the_count() {
        let policy = LoginThrottlePolicy::default();
        let mut state = policy.admit(None, T0).1;
        for _ in 1..5 {
            state = policy.admit(Some(&state), T0).1;
        }
        // Five attempts at T0 lock until 60 s; the count is kept for an hour after that.
        let (_, kept) = policy.admit(Some(&state), T0 + Duration::seconds(60 + 3599));
        assert_eq!(kept.attempts, 6, "still counted within the hour");
        assert!(kept.locked_until.is_some());
        let (_, forgotten) = policy.admit(Some(&state), T0 + Duration::seconds(60 + 3600));
        assert_eq!(forgotten.attempts, 1);
        assert_eq!(forgotten.locked_until, None);
    }

    #[test]
    fn keys_ignore_case_and_surrounding_space_but_not_the_address() {
        let key = ThrottleKey::for_username("Alice@Example.com");
        assert_eq!(key, ThrottleKey::for_username("  alice@example.com "));
        assert_ne!(key, ThrottleKey::for_username("alice@example.org"));
        assert!(
            !key.as_str().contains("alice"),
            "the address is not kept in clear"
        );
    }

    #[test]
    fn device_and_source_keys_are_distinct_from_account_keys() {
        let account = ThrottleKey::for_username("ada@example.com");
        let device = ThrottleKey::for_device("Ada@example.com ", "d1");
        assert_ne!(account, device);
        assert_eq!(device, ThrottleKey::for_device("ada@example.com", "d1"));
        assert_ne!(device, ThrottleKey::for_device("ada@example.com", "d2"));
        assert_ne!(device, ThrottleKey::for_device("bob@example.com", "d1"));
    }

    #[test]
    fn an_ipv6_source_is_its_64_and_a_mapped_ipv4_is_the_ipv4() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            ThrottleKey::for_source(ip("2001:db8:1:2::1")),
            ThrottleKey::for_source(ip("2001:db8:1:2:ffff::9")),
            "one /64 is one source"
        );
        assert_ne!(
            ThrottleKey::for_source(ip("2001:db8:1:2::1")),
            ThrottleKey::for_source(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ThrottleKey::for_source(ip("::ffff:192.0.2.7")),
            ThrottleKey::for_source(ip("192.0.2.7"))
        );
        assert_ne!(
            ThrottleKey::for_source(ip("192.0.2.7")),
            ThrottleKey::for_source(ip("192.0.2.8"))
        );
    }

    #[test]
    fn a_zero_free_attempts_policy_still_admits_the_first_attempt() {
        let policy = LoginThrottlePolicy {
            free_attempts: 0,
            ..LoginThrottlePolicy::default()
        };
        assert_eq!(
            run(&policy, &[0, 1]),
            [Admission::Admitted, locked_until(60)]
        );
    }
}
