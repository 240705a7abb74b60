//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client gets an access token for
//! itself, limited to the scopes it is registered for.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use crate::oauth::token::TokenResponse;
use tessera_core::{AccessTokenClaims, Client, ScopeSet};

/// Issues an access token to an authenticated client.
pub async fn grant(
    state: &AppState,
    client: &Client,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    let scope = match params.get("scope") {
        Some(requested) => {
            let requested =
                ScopeSet::parse(requested).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if !requested.is_subset_of(&client.scopes) {
                let excess: Vec<&str> = requested.excess_over(&client.scopes).collect();
                return Err(OAuthError::invalid_scope(format!(
                    "this client may not request: {}",
                    excess.join(" ")
                )));
            }
            requested
        }
        // RFC 6749 §3.3: without a scope parameter the server applies a default; ours is every
        // scope the client is registered for.
        None => client.scopes.clone(),
    };
    let signer = state
        .keys
        .signer(state.access_token_alg)
        .ok_or_else(|| OAuthError::internal("no active access-token signing key"))?;
    // After a global revocation, wait for its `not_before` so the token is not born revoked.
    let now = state.issuance_time(None).await?.unix_timestamp();
    let lifetime = state.lifetimes.access_token.whole_seconds();
    let scope = (!scope.is_empty()).then(|| scope.to_string());
    let claims = AccessTokenClaims {
        iss: state.issuer.clone(),
        sub: client.id.to_string(),
        aud: state.access_token_audience.clone(),
        exp: now + lifetime,
        iat: now,
        jti: tessera_core::revocation::new_jti(),
        client_id: client.id.to_string(),
        scope: scope.clone(),
        sid: None,
        auth_time: None,
        roles: None,
    };
    let access_token = signer
        .sign_jwt("at+jwt", &claims)
        .map_err(OAuthError::internal)?;
    tracing::info!(client_id = %client.id, jti = %claims.jti, "issued access token (client_credentials)");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
        id_token: None,
        refresh_token: None,
    })
}
