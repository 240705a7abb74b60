//! Token claims and lifetimes.

use serde::Serialize;
use time::Duration;

/// Lifetimes of the tokens Tessera issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Access tokens (default 15 minutes).
    pub access_token: Duration,
    /// ID tokens (default 15 minutes).
    pub id_token: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token: Duration::minutes(15),
            id_token: Duration::minutes(15),
        }
    }
}

impl TokenLifetimes {
    /// The longest a signed token stays valid: how long a rotated-out key must stay published.
    pub fn longest_signed(&self) -> Duration {
        self.access_token.max(self.id_token)
    }
}

/// The claims of a JWT access token (RFC 9068 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id, or the client id for `client_credentials`.
    pub sub: String,
    /// Audience: the resource server(s) the token is meant for.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id (128 random bits).
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-delimited; absent when none were granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}
