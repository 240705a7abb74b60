//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client gets an access token for
//! itself, limited to the scopes it is registered for.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use crate::tokens::TokenResponse;
use tessera_core::{Client, ScopeSet};

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
    let audience = crate::oauth::resource::audience(state, params)?;
    crate::tokens::client_access_token(state, client, &scope, audience).await
}
