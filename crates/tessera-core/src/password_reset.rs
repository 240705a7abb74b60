//! Forgotten passwords: a single-use, short-lived link sent by email.
//!
//! The link carries 256 random bits; only their SHA-256 is stored (like session and client
//! secrets: high entropy needs no slow hash). A user has at most one live link (asking again
//! replaces it), it works for [`LIFETIME`], and using it is one atomic store update, so two
//! submissions of one link change the password once. What a reset must also prove (the second
//! factor) and what it ends (every session) is decided by the page that uses it.

use crate::client::SecretHash;
use crate::ids::UserId;
use crate::session::BearerSecret;
use time::{Duration, OffsetDateTime};

/// How long a reset link works.
pub const LIFETIME: Duration = Duration::minutes(30);

/// Random bytes in a reset token.
pub const TOKEN_BYTES: usize = 32;

/// A reset link as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordReset {
    /// SHA-256 of the token in the link.
    pub token_hash: SecretHash,
    /// Whose password it resets.
    pub user_id: UserId,
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

impl PasswordReset {
    /// A new link for `user`: the token to put in the mailed URL, and the record to store.
    pub fn issue(user: &UserId, now: OffsetDateTime) -> (BearerSecret, Self) {
        let token = BearerSecret::generate(TOKEN_BYTES);
        let record = Self {
            token_hash: token.hash(),
            user_id: user.clone(),
            created_at: now,
            expires_at: now + LIFETIME,
        };
        (token, record)
    }

    /// Whether the link still works at `now` (the store also checks it was not used).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_carries_256_bits_stored_only_as_a_hash_and_lapses() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let user = UserId::from_stored("ada".into());
        let (token, reset) = PasswordReset::issue(&user, now);
        assert_eq!(token.expose().len(), 43);
        assert!(reset.token_hash.matches(token.expose()));
        assert_ne!(reset.token_hash.as_str(), token.expose());
        assert!(reset.is_live(now + LIFETIME - Duration::seconds(1)));
        assert!(!reset.is_live(now + LIFETIME));
        let (other, _) = PasswordReset::issue(&user, now);
        assert_ne!(other.expose(), token.expose());
    }
}
