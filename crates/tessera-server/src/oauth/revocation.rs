//! Token revocation (RFC 7009): `POST /oauth/revoke`.
//!
//! A client may revoke only its own tokens. Anything else — another client's token, an unknown
//! or malformed token, one already expired — is answered 200 with nothing revoked, so the
//! endpoint reveals nothing about tokens the caller does not own. `token_type_hint` only decides
//! which kind is tried first; it is never trusted.

use crate::access_token;
use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::PresentedCredentials;
use crate::oauth::form::FormParams;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::audit::action;
use tessera_core::client::SecretHash;
use tessera_core::{Client, RevocationReason, RevocationTarget};
use time::OffsetDateTime;

/// `POST /oauth/revoke`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, &headers, body).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(err) => err.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(), OAuthError> {
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes).await?;
    let client = PresentedCredentials::extract(headers, &params)?
        .authenticate(state)
        .await?;
    // Before anything is revoked (see cors.rs).
    crate::cors::check_client(headers, &client)?;
    let token = params.require("token")?;
    if params.get("token_type_hint") == Some("access_token") {
        if !revoke_access_token(state, &client, token).await? {
            revoke_refresh_token(state, &client, token).await?;
        }
    } else if !revoke_refresh_token(state, &client, token).await? {
        revoke_access_token(state, &client, token).await?;
    }
    Ok(())
}

/// Revokes `token` if it is a refresh token; true if it was one (of any client), so the other
/// kind need not be tried. Revoking a refresh token revokes its grant: the whole family and the
/// access tokens issued with it.
async fn revoke_refresh_token(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    let Some(stored) = state
        .services
        .store
        .find_refresh_token(&SecretHash::of(token))
        .await?
    else {
        return Ok(false);
    };
    if stored.token.client_id == client.id {
        let revoked = state
            .revoke_grant(
                &stored.token.family_id,
                RevocationReason::ClientRequest,
                format!("client:{}", client.id),
            )
            .await?;
        state
            .audit(
                format!("client:{}", client.id),
                action::REFRESH_FAMILY_REVOKED,
                stored.token.sid.as_str(),
                Some(RevocationReason::ClientRequest.as_str()),
                serde_json::json!({
                    "family_id": stored.token.family_id,
                    "client_id": client.id.as_str(),
                    "refresh_tokens_revoked": revoked.refresh_tokens_revoked,
                    "access_tokens_revoked": revoked.access_tokens_revoked.len(),
                }),
            )
            .await;
    } else {
        tracing::warn!(client_id = %client.id, "revocation of another client's refresh token ignored");
    }
    Ok(true)
}

/// Revokes `token` if it is one of Tessera's access tokens; true if it was one. The revocation
/// is kept until the token's own expiry, after which it no longer matters.
async fn revoke_access_token(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<bool, OAuthError> {
    let Ok(claims) = access_token::verify(state, token) else {
        return Ok(false);
    };
    if claims.client_id != client.id.as_str() {
        tracing::warn!(client_id = %client.id, "revocation of another client's access token ignored");
        return Ok(true);
    }
    let expires_at = OffsetDateTime::from_unix_timestamp(claims.exp)
        .map_err(|_| OAuthError::invalid_request("the token's exp is out of range"))?;
    if expires_at > state.services.clock.now() {
        state
            .revoke(
                RevocationTarget::Token {
                    jti: claims.jti,
                    expires_at,
                },
                RevocationReason::ClientRequest,
                format!("client:{}", client.id),
            )
            .await?;
    }
    Ok(true)
}
