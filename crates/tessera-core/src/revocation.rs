//! Revocation: taking back tokens before they expire.
//!
//! This is the first slice of the revocation model of issue 4. The model has four kinds of entry:
//!
//! - **token**: one access token, by its `jti`, kept until that token's `exp`;
//! - **session**: every token carrying a `sid`, which also ends the refresh family;
//! - **user**: every token of a user issued before a `not_before` instant;
//! - **global**: every token issued before an instant.
//!
//! Only the first exists so far, and only one rule creates entries: a replayed authorization
//! code revokes the access token issued at its first redemption (RFC 6749 §4.1.2). Refresh
//! tokens are revoked by family in the refresh-token store, which also remembers revoked
//! families so that a token of one inserted later is born revoked.
//!
//! Every entry is kept only as long as a token it covers could still be valid, so the state stays
//! bounded by what happened within one access-token lifetime.

use crate::code::AuthorizationCode;
use time::{Duration, OffsetDateTime};

/// Bytes of entropy in an access token's `jti` (128 bits).
pub const JTI_BYTES: usize = 16;

/// A fresh, unguessable access-token id.
///
/// A code gets the id of its access token when it is issued (see
/// [`AuthorizationCode::access_token_jti`]), so a replay of the code knows which token to revoke
/// without the first redemption having written anything.
pub fn new_jti() -> String {
    crate::random::token(JTI_BYTES)
}

/// Until when the revocation of the access token issued from a replayed `code` must be kept:
/// no earlier than that token's `exp`.
///
/// The first redemption stamps its tokens with the instant it checked against the code's
/// `expires_at`, which it must have been before, so the token expires before
/// `code.expires_at + access_lifetime`. The replay's own `now + access_lifetime` is also a bound
/// whenever the first redemption decided before the replay did; which of two racing requests read
/// its clock first is unknown, so the later of the two bounds is kept.
pub fn replayed_code_revocation_expiry(
    code: &AuthorizationCode,
    now: OffsetDateTime,
    access_lifetime: Duration,
) -> OffsetDateTime {
    now.max(code.expires_at) + access_lifetime
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SecretHash;
    use crate::{ClientId, ScopeSet, SessionId, UserId};

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    fn code_expiring_at(expires: i64) -> AuthorizationCode {
        AuthorizationCode {
            code_hash: SecretHash::of("code"),
            client_id: ClientId::parse("app").unwrap(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_in_request: true,
            user_id: UserId::generate(),
            sid: SessionId::generate(),
            scope: ScopeSet::parse("openid").unwrap(),
            nonce: None,
            code_challenge: None,
            auth_time: t(0),
            amr: vec![],
            acr: None,
            family_id: "family".into(),
            access_token_jti: new_jti(),
            issued_at: t(expires - 60),
            expires_at: t(expires),
        }
    }

    #[test]
    fn jtis_have_128_bits_and_differ() {
        let (a, b) = (new_jti(), new_jti());
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
    }

    #[test]
    fn the_revocation_outlives_every_token_the_first_redemption_could_have_issued() {
        let lifetime = Duration::minutes(15);
        let code = code_expiring_at(60);
        // The first redemption decided at any instant before the code expired; the replay read
        // its clock earlier (a race), at the same time, or much later.
        for first in [0, 30, 59] {
            let token_exp = t(first) + lifetime;
            for replay in [0, first, 59, 60, 3600] {
                let kept_until = replayed_code_revocation_expiry(&code, t(replay), lifetime);
                assert!(kept_until >= token_exp, "first {first}, replay {replay}");
            }
        }
        // A replay long after the code expired keeps the entry for a lifetime from now.
        assert_eq!(
            replayed_code_revocation_expiry(&code, t(3600), lifetime),
            t(3600) + lifetime
        );
        // Otherwise the code's expiry bounds it.
        assert_eq!(
            replayed_code_revocation_expiry(&code, t(10), lifetime),
            t(60) + lifetime
        );
    }
}
