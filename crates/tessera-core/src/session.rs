//! Browser sessions: a user signed in at Tessera on one device.
//!
//! Two identifiers, for two audiences. The *cookie secret* (256 bits) proves possession of the
//! session; it lives only in the browser's `__Host-` cookie and is stored hashed, so a database
//! leak does not let anyone ride a session. The *sid* is public: it names the session in tokens
//! (`sid` claim), logs and operator commands. Re-authenticating in the same browser replaces the
//! cookie secret (no session fixation) and updates `auth_time`, but keeps the sid, so tokens of
//! other apps signed in through the same session stay bound to it.

use crate::client::SecretHash;
use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The public identifier of a browser session (the `sid` claim).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random sid (128 bits).
    pub fn generate() -> Self {
        Self(crate::random::token(16))
    }

    /// Wraps a sid read back from the store or a token.
    pub fn from_stored(sid: String) -> Self {
        Self(sid)
    }

    /// The sid.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bearer secret given to a browser or client once: a session cookie, an authorization code,
/// a refresh token. Only its hash is stored.
#[derive(Clone)]
pub struct BearerSecret(Zeroizing<String>);

impl BearerSecret {
    /// A new secret with `bytes` of entropy.
    pub fn generate(bytes: usize) -> Self {
        Self(Zeroizing::new(crate::random::token(bytes)))
    }

    /// The secret, to hand out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its stored form.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerSecret(<redacted>)")
    }
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserSession {
    /// Public id, the `sid` claim.
    pub sid: SessionId,
    /// Hash of the cookie secret.
    pub secret_hash: SecretHash,
    /// Who is signed in.
    pub user_id: UserId,
    /// When the user last authenticated (the `auth_time` claim).
    pub auth_time: OffsetDateTime,
    /// How they authenticated (`amr` values, RFC 8176: `pwd`, later `otp`, `hwk`, …).
    pub amr: Vec<String>,
    /// When the session began.
    pub created_at: OffsetDateTime,
    /// When the session ends at the latest, whatever happens.
    pub expires_at: OffsetDateTime,
}

impl BrowserSession {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}
