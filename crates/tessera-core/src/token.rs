//! Token claims and lifetimes.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use time::Duration;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` header of ID tokens: plain `JWT`, so an access token (`at+jwt`) or a logout token
/// (`logout+jwt`) signed with the same keys is never taken for one.
pub const ID_TOKEN_TYP: &str = "JWT";

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
    /// The browser session the user signed in with; absent for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the user authenticated, seconds since the epoch; absent for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The user's roles, when the `roles` scope was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// How the user authenticated (RFC 8176); absent for `client_credentials`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The authentication level the sign-in reached (`acr`, RFC 9470), so that an API can demand
    /// a second factor; absent for `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
}

/// The claims of an ID token (OpenID Connect Core §2, §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id (stable; never the email address).
    pub sub: String,
    /// Audience: the client id.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// When the user authenticated, seconds since the epoch.
    pub auth_time: i64,
    /// The client's `nonce` from the authorization request, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The browser session.
    pub sid: String,
    /// Authentication methods (RFC 8176).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Authentication context class, when one was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Hash of the access token issued with this ID token (see [`at_hash`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Display name (`profile` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address (`email` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address was verified (`email` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Roles (`roles` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `<namespace>can_reauthenticate`: whether the user has a credential to reauthenticate with
    /// at Tessera, so an app knows whether asking for a fresh sign-in can succeed.
    #[serde(flatten)]
    pub can_reauthenticate: NamespacedClaim<bool>,
}

/// A claim whose name is chosen by configuration (a collision-resistant namespace plus a fixed
/// suffix, OpenID Connect Core §5.1.2). Serialises as one member of the enclosing object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespacedClaim<T> {
    /// The full claim name.
    pub name: String,
    /// Its value.
    pub value: T,
}

impl<T: Serialize> Serialize for NamespacedClaim<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&self.name, &self.value)?;
        map.end()
    }
}

/// The `at_hash` of `access_token` for an ID token signed with `jws_alg` (OpenID Connect Core
/// §3.1.3.6): the left half of the digest of the token's ASCII bytes, base64url without padding.
/// The digest is the one of the signing algorithm: SHA-256 for `RS256` and `ES256`, SHA-512 for
/// `EdDSA` (Ed25519 hashes with SHA-512). `None` for an algorithm Tessera does not sign with.
pub fn at_hash(access_token: &str, jws_alg: &str) -> Option<String> {
    let algorithm = match jws_alg {
        "RS256" | "ES256" => &digest::SHA256,
        "EdDSA" => &digest::SHA512,
        _ => return None,
    };
    let digest = digest::digest(algorithm, access_token.as_bytes());
    let bytes = digest.as_ref();
    Some(URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_known_answers() {
        // OpenID Connect Core 1.0, Appendix A.3 (RS256).
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            at_hash(token, "RS256").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        assert_eq!(
            at_hash(token, "ES256").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        // Left half of SHA-512, computed independently (Python hashlib).
        assert_eq!(
            at_hash(token, "EdDSA").as_deref(),
            Some("q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM")
        );
        assert_eq!(at_hash(token, "HS256"), None);
        assert_eq!(at_hash(token, "none"), None);
    }
}
