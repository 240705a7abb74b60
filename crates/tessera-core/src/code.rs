//! Authorization codes (RFC 6749 §4.1): single use, short-lived, bound to the client, the
//! redirect URI and the PKCE challenge.

use crate::client::SecretHash;
use crate::ids::{ClientId, UserId};
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use crate::session::SessionId;
use time::{Duration, OffsetDateTime};

/// How long a code may be redeemed.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);

/// Bytes of entropy in a code (256 bits; the floor is 128).
pub const CODE_BYTES: usize = 32;

/// An issued authorization code, as stored (the code itself only as a hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Hash of the code.
    pub code_hash: SecretHash,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The redirect URI it was delivered to.
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI explicitly; if so the token
    /// request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    /// The user.
    pub user_id: UserId,
    /// The browser session it came from.
    pub sid: SessionId,
    /// Granted scopes.
    pub scope: ScopeSet,
    /// The client's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge, when the client sent one.
    pub code_challenge: Option<CodeChallenge>,
    /// When the user authenticated.
    pub auth_time: OffsetDateTime,
    /// How the user authenticated.
    pub amr: Vec<String>,
    /// Authentication context class, when the client requested one.
    pub acr: Option<String>,
    /// The refresh-token family that tokens issued from this code belong to, so a replayed
    /// code can revoke them.
    pub family_id: String,
    /// The `jti` the access token issued from this code will carry, chosen when the code is
    /// issued so that a replay can revoke that token without the first redemption having
    /// recorded anything (see [`crate::revocation`]).
    pub access_token_jti: String,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it can no longer be redeemed.
    pub expires_at: OffsetDateTime,
}

/// What redeeming a code found. Redemption is one atomic store operation, so of two concurrent
/// redemptions exactly one sees `First`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// The code was unused; it is now marked used.
    First(AuthorizationCode),
    /// The code had been redeemed before: a replay.
    Replayed {
        /// The code.
        code: AuthorizationCode,
        /// Which replay this is: 1 for the first. Exactly one concurrent replay gets 1, so the
        /// caller records that one and only counts the rest (a spent code replayed in a loop
        /// must not flood the audit trail).
        replays: u64,
    },
    /// No such code.
    Unknown,
}
