//! OpenID Connect Back-Channel Logout 1.0: telling a client, server to server, that a session
//! it took part in has ended.
//!
//! Ending a session queues one delivery per client that took part in it and registered a
//! `backchannel_logout_uri`, in the same transaction that ends the session, so no logout is lost
//! and the user's logout never waits for a client. A background worker posts the logout tokens
//! and retries failures with exponential backoff.

use crate::ids::{ClientId, UserId};
use crate::session::SessionId;
use time::{Duration, OffsetDateTime};

/// The event URI in a logout token's `events` claim (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The `typ` header of a logout token (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";

/// One queued logout notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackchannelDelivery {
    /// Queue id, assigned by the store.
    pub id: i64,
    /// The client to notify.
    pub client_id: ClientId,
    /// Where to post, as registered when the delivery was claimed.
    pub uri: String,
    /// The user whose session ended (`sub`).
    pub user_id: UserId,
    /// The session that ended (`sid`).
    pub sid: SessionId,
    /// The logout token's `jti`, the same on every attempt so the client can drop duplicates.
    pub jti: String,
    /// When the session ended.
    pub created_at: OffsetDateTime,
    /// Attempts made so far, counting the one now claimed.
    pub attempts: u32,
}

/// When to retry after `attempts` failed attempts: 1 s, 2 s, 4 s, … doubling, at most 5 minutes.
pub fn retry_delay(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    Duration::seconds((1_i64 << exponent).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let delays: Vec<i64> = (1..=12).map(|a| retry_delay(a).whole_seconds()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(retry_delay(u32::MAX).whole_seconds(), 300);
    }
}
