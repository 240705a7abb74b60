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
    /// The browser's `User-Agent` when the session began, shortened
    /// ([`BrowserSession::user_agent_to_keep`]); shown on the account's devices page so the
    /// user can tell their devices apart. Never used for a security decision: any client can
    /// send any value.
    pub user_agent: Option<String>,
    /// When the session was last used, to within [`LAST_SEEN_RESOLUTION`].
    pub last_seen_at: OffsetDateTime,
}

/// How precisely `last_seen_at` is kept. A session is used on every page and every authorize;
/// writing the time each time would turn reads into writes, so it is written only when the
/// stored value is older than this.
pub const LAST_SEEN_RESOLUTION: time::Duration = time::Duration::minutes(5);

/// The longest user agent kept, in characters. Real ones are around 120–200; the limit stops a
/// client from storing kilobytes per session.
pub const MAX_USER_AGENT_CHARS: usize = 256;

impl BrowserSession {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    /// Whether using the session at `now` should record it as seen (the stored time is older
    /// than [`LAST_SEEN_RESOLUTION`]).
    pub fn needs_seen_update(&self, now: OffsetDateTime) -> bool {
        now - self.last_seen_at >= LAST_SEEN_RESOLUTION
    }

    /// What is kept of a `User-Agent` header: control characters dropped, at most
    /// [`MAX_USER_AGENT_CHARS`] characters, `None` when nothing printable is left.
    pub fn user_agent_to_keep(raw: &str) -> Option<String> {
        let kept: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_AGENT_CHARS)
            .collect();
        let kept = kept.trim();
        (!kept.is_empty()).then(|| kept.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn last_seen_is_written_only_once_per_resolution() {
        let session = BrowserSession {
            sid: SessionId::generate(),
            secret_hash: BearerSecret::generate(32).hash(),
            user_id: UserId::from_stored("ada".into()),
            auth_time: at(0),
            amr: vec!["pwd".into()],
            created_at: at(0),
            expires_at: at(86_400),
            user_agent: None,
            last_seen_at: at(0),
        };
        assert!(!session.needs_seen_update(at(0)));
        assert!(!session.needs_seen_update(at(299)));
        assert!(session.needs_seen_update(at(300)));
    }

    #[test]
    fn user_agents_are_kept_short_and_printable() {
        assert_eq!(
            BrowserSession::user_agent_to_keep("Mozilla/5.0\r\nX-Evil: 1"),
            Some("Mozilla/5.0X-Evil: 1".into())
        );
        assert_eq!(BrowserSession::user_agent_to_keep(" \t "), None);
        let long = "a".repeat(10_000);
        assert_eq!(
            BrowserSession::user_agent_to_keep(&long).map(|s| s.chars().count()),
            Some(MAX_USER_AGENT_CHARS)
        );
    }
}
