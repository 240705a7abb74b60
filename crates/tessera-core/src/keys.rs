//! Signing-key records and their life cycle.
//!
//! A key is *active* (signs new tokens) until it is rotated out. It is then *retiring*: it signs
//! nothing but stays in the JWKS until `expires_at`, the moment the last token it could have
//! signed expires. After that it is *expired* and leaves the JWKS.

use std::fmt;
use time::OffsetDateTime;

/// A signing key as stored: public metadata plus the private key sealed under the KEK.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id, unique, published as `kid`.
    pub kid: String,
    /// JWS algorithm name (`RS256`, `ES256`, `EdDSA`).
    pub alg: String,
    /// PKCS#8 private key sealed by [`crate::KeyEncryptionKey`].
    pub sealed_private_key: Vec<u8>,
    /// When the key was made.
    pub created_at: OffsetDateTime,
    /// When the key stopped signing; `None` while it is active.
    pub rotated_at: Option<OffsetDateTime>,
    /// When the key leaves the JWKS; set when it is rotated out.
    pub expires_at: Option<OffsetDateTime>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("rotated_at", &self.rotated_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where a key is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens and is published.
    Active,
    /// Published so tokens it signed still verify, but signs nothing new.
    Retiring,
    /// No longer published.
    Expired,
}

impl KeyState {
    /// A lower-case name for listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Expired => "expired",
        }
    }
}

impl SigningKeyRecord {
    /// The key's state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> KeyState {
        match (self.rotated_at, self.expires_at) {
            (None, _) => KeyState::Active,
            (Some(_), Some(expires)) if now < expires => KeyState::Retiring,
            (Some(_), _) => KeyState::Expired,
        }
    }

    /// A new key id: the date plus 64 random bits, so ids are unique and sort by age.
    pub fn new_kid(now: OffsetDateTime) -> String {
        format!(
            "{:04}{:02}{:02}-{}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            crate::random::token(8)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn life_cycle_states() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut key = SigningKeyRecord {
            kid: SigningKeyRecord::new_kid(t0),
            alg: "RS256".into(),
            sealed_private_key: vec![],
            created_at: t0,
            rotated_at: None,
            expires_at: None,
        };
        assert!(key.kid.starts_with("20231114-"));
        assert_eq!(key.state(t0 + Duration::days(400)), KeyState::Active);
        key.rotated_at = Some(t0 + Duration::hours(1));
        key.expires_at = Some(t0 + Duration::hours(2));
        assert_eq!(key.state(t0 + Duration::minutes(90)), KeyState::Retiring);
        assert_eq!(key.state(t0 + Duration::hours(2)), KeyState::Expired);
        assert!(!format!("{key:?}").contains("sealed_private_key"));
    }
}
