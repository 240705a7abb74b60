//! `POST /oauth/token`: parse, authenticate the client, dispatch to the grant.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::PresentedCredentials;
use crate::oauth::form::FormParams;
use crate::oauth::{authorization_code, client_credentials, refresh_token};
use crate::tokens::TokenResponse;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tessera_core::GrantType;

/// The token endpoint.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, &headers, body).await {
        Ok(response) => response.into_response(),
        Err(err) => err.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<TokenResponse, OAuthError> {
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes).await?;
    let grant_type = params.require("grant_type")?;
    let client = PresentedCredentials::extract(headers, &params)?
        .authenticate(state)
        .await?;
    // Before the grant runs: a refused browser origin must not consume a code or rotate a
    // refresh token.
    crate::cors::check_client(headers, &client)?;
    let grant = GrantType::parse(grant_type)
        .ok_or_else(|| OAuthError::unsupported_grant_type("this grant type is not supported"))?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the {grant} grant"
        )));
    }
    match grant {
        GrantType::ClientCredentials => client_credentials::grant(state, &client, &params).await,
        GrantType::AuthorizationCode => authorization_code::grant(state, &client, &params).await,
        GrantType::RefreshToken => refresh_token::grant(state, &client, &params).await,
    }
}
