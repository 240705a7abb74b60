//! Checking Tessera's own access tokens where Tessera itself accepts them: UserInfo, token
//! introspection (RFC 7662) and revocation (RFC 7009). One place, so the three cannot disagree
//! about what a live token is.

use crate::app::AppState;
use serde::Deserialize;
use tessera_core::TokenFacts;
use tessera_store::StoreError;

/// The claims of an access token that these endpoints read.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience (a string or an array).
    pub aud: serde_json::Value,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Subject: a user id, or a client id for `client_credentials`.
    pub sub: String,
    /// Token id.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// The browser session, for a user's token.
    #[serde(default)]
    pub sid: Option<String>,
    /// When the user authenticated, for a user's token.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// The user's roles, when the `roles` scope was granted.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// How the user authenticated, for a user's token.
    #[serde(default)]
    pub amr: Option<Vec<String>>,
    /// The level the sign-in reached, for a user's token.
    #[serde(default)]
    pub acr: Option<String>,
}

impl AccessClaims {
    /// Whether `audience` is among the token's audiences.
    pub fn has_audience(&self, audience: &str) -> bool {
        match &self.aud {
            serde_json::Value::String(aud) => aud == audience,
            serde_json::Value::Array(auds) => auds.iter().any(|aud| aud == audience),
            _ => false,
        }
    }
}

/// Why a token is not a live access token. Callers answer every reason the same way (the
/// reason is for the debug log only).
pub type Refusal = &'static str;

/// Verifies a token as a Tessera access token: signature with a published key, `typ: at+jwt`,
/// this issuer. Says nothing about expiry or revocation (see [`check_live`]).
pub fn verify(state: &AppState, token: &str) -> Result<AccessClaims, Refusal> {
    let verified = state
        .services
        .keys
        .verify(token, &[state.settings.access_token_alg])
        .map_err(|_| "signature")?;
    if verified.typ() != Some(tessera_core::token::ACCESS_TOKEN_TYP) {
        return Err("typ is not at+jwt");
    }
    let claims: AccessClaims = verified.claims().map_err(|_| "claims")?;
    if claims.iss != state.settings.issuer {
        return Err("issuer");
    }
    Ok(claims)
}

/// A verified access token that is also unexpired, unrevoked, and whose user (for a user's
/// token) still exists and is enabled.
pub async fn check_live(
    state: &AppState,
    token: &str,
) -> Result<Result<AccessClaims, Refusal>, StoreError> {
    let claims = match verify(state, token) {
        Ok(claims) => claims,
        Err(why) => return Ok(Err(why)),
    };
    let now = state.services.clock.now();
    if claims.exp <= now.unix_timestamp() {
        return Ok(Err("expired"));
    }
    let facts = TokenFacts {
        jti: &claims.jti,
        sid: claims.sid.as_deref(),
        sub: &claims.sub,
        iat: claims.iat,
    };
    if state
        .services
        .store
        .is_access_token_revoked(&facts, now)
        .await?
    {
        return Ok(Err("revoked"));
    }
    if claims.sid.is_some() {
        let user = state
            .services
            .store
            .find_user(&tessera_core::UserId::from_stored(claims.sub.clone()))
            .await?;
        if user.is_none_or(|u| u.is_disabled) {
            return Ok(Err("user removed or disabled"));
        }
    }
    Ok(Ok(claims))
}
