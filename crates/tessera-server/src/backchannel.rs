//! OpenID Connect Back-Channel Logout 1.0: the logout token (its claims, signed like an ID
//! token). Ending a session queues deliveries in the store (see `tessera_core::backchannel`);
//! the worker that posts them is `crate::workers::backchannel`.

use crate::app::AppState;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use tessera_core::backchannel::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYP};
use tessera_core::BackchannelDelivery;
use tessera_jose::{JoseError, SigningKey};
use time::{Duration, OffsetDateTime};

/// How long a logout token is valid after it is issued (`exp` - `iat`). Each attempt signs a new
/// token, so a retry never sends a stale one; the `jti` stays the same.
pub const LOGOUT_TOKEN_LIFETIME: Duration = Duration::seconds(120);

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4). There is never a `nonce`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogoutTokenClaims {
    /// The issuer.
    pub iss: String,
    /// The client notified.
    pub aud: String,
    /// When the token was signed (Unix seconds).
    pub iat: i64,
    /// `iat` + [`LOGOUT_TOKEN_LIFETIME`].
    pub exp: i64,
    /// The delivery's id, the same on every attempt, so the client can drop duplicates.
    pub jti: String,
    /// The user whose session ended.
    pub sub: String,
    /// The session that ended.
    pub sid: String,
    /// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
    pub events: LogoutEvent,
}

impl LogoutTokenClaims {
    /// The claims of the token for `delivery`, issued by `issuer` at `now`.
    pub fn new(issuer: &str, delivery: &BackchannelDelivery, now: OffsetDateTime) -> Self {
        let iat = now.unix_timestamp();
        Self {
            iss: issuer.to_owned(),
            aud: delivery.client_id.as_str().to_owned(),
            iat,
            exp: iat + LOGOUT_TOKEN_LIFETIME.whole_seconds(),
            jti: delivery.jti.clone(),
            sub: delivery.user_id.as_str().to_owned(),
            sid: delivery.sid.as_str().to_owned(),
            events: LogoutEvent,
        }
    }
}

/// The `events` claim of a logout token: one member, [`BACKCHANNEL_LOGOUT_EVENT`], whose value
/// is an empty object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogoutEvent;

impl Serialize for LogoutEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(BACKCHANNEL_LOGOUT_EVENT, &serde_json::Map::new())?;
        map.end()
    }
}

/// Why a logout token could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutTokenError {
    /// There is no active key for the ID-token algorithm.
    #[error("no active {0} signing key for ID tokens")]
    NoSigningKey(&'static str),
    /// Signing failed.
    #[error("signing the logout token failed: {0}")]
    Sign(#[from] JoseError),
}

/// Signs `claims` as a logout token: a JWT with header `typ: logout+jwt`.
pub fn sign_logout_token(
    signer: &SigningKey,
    claims: &LogoutTokenClaims,
) -> Result<String, JoseError> {
    signer.sign_jwt(LOGOUT_TOKEN_TYP, claims)
}

/// The logout token for `delivery`, issued at `now` by this server and signed with the ID-token
/// key and algorithm, so a client verifies it exactly like an ID token (same JWKS, same `alg`).
pub fn logout_token(
    state: &AppState,
    delivery: &BackchannelDelivery,
    now: OffsetDateTime,
) -> Result<String, LogoutTokenError> {
    let signer = state
        .services
        .keys
        .signer(state.settings.id_token_alg)
        .ok_or(LogoutTokenError::NoSigningKey(
            state.settings.id_token_alg.as_str(),
        ))?;
    let claims = LogoutTokenClaims::new(&state.settings.issuer, delivery, now);
    Ok(sign_logout_token(&signer, &claims)?)
}
