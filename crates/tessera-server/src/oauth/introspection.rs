//! Token introspection (RFC 7662): `POST /oauth/introspect`, the authoritative answer to "is
//! this token live, and what does it say?".
//!
//! Callers are authenticated confidential clients (resource servers are registered as clients).
//! Anything that is not a live token — expired, revoked, malformed, another issuer's, or a
//! refresh token of another client — is `{"active": false}` and nothing more.

use crate::access_token;
use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::PresentedCredentials;
use crate::oauth::form::FormParams;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::client::SecretHash;
use tessera_core::Client;

/// An introspection response. Only `active` is present for an inactive token.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
}

/// `POST /oauth/introspect`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, &headers, body).await {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(err) => err.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Introspection, OAuthError> {
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes).await?;
    let presented = PresentedCredentials::extract(headers, &params)?;
    let client = presented.authenticate(state).await?;
    // Introspection tells what a token grants; only clients that can prove who they are may ask.
    if client.is_public() {
        return Err(OAuthError::invalid_client());
    }
    let token = params.require("token")?;
    let refresh_first = params.get("token_type_hint") == Some("refresh_token");
    if refresh_first {
        if let Some(answer) = refresh_token(state, &client, token).await? {
            return Ok(answer);
        }
    }
    if let Some(answer) = access(state, &client, token).await? {
        return Ok(answer);
    }
    if !refresh_first {
        if let Some(answer) = refresh_token(state, &client, token).await? {
            return Ok(answer);
        }
    }
    Ok(Introspection::default())
}

/// The answer for a live access token, or `None` when `token` is not one. A resource server
/// may introspect any client's access token; another client only its own (RFC 7662 §2.2 lets
/// the server decide, and says `active: false` for the rest, so nothing leaks about them).
async fn access(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    let claims = match access_token::check_live(state, token).await? {
        Ok(claims) => claims,
        Err(why) => {
            tracing::debug!(reason = why, "introspection: not a live access token");
            return Ok(None);
        }
    };
    if !client.is_resource_server && claims.client_id != client.id.as_str() {
        tracing::info!(
            client_id = %client.id,
            token_client_id = %claims.client_id,
            "introspection of another client's token by a client that is not a resource server"
        );
        return Ok(Some(Introspection::default()));
    }
    Ok(Some(Introspection {
        active: true,
        scope: claims.scope,
        client_id: Some(claims.client_id),
        token_type: Some("Bearer"),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        sid: claims.sid,
        auth_time: claims.auth_time,
        roles: claims.roles,
        amr: claims.amr,
        acr: claims.acr,
    }))
}

/// The answer for a live refresh token of the calling client, or `None`.
async fn refresh_token(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    let Some(stored) = state
        .services
        .store
        .find_refresh_token(&SecretHash::of(token))
        .await?
    else {
        return Ok(None);
    };
    let now = state.services.clock.now();
    let t = &stored.token;
    let live = stored.revoked_at.is_none()
        && stored.rotated_at.is_none()
        && now < t.expires_at()
        && t.client_id == client.id
        && state
            .services
            .store
            .find_user(&t.user_id)
            .await?
            .is_some_and(|u| !u.is_disabled);
    if !live {
        return Ok(Some(Introspection::default()));
    }
    Ok(Some(Introspection {
        active: true,
        scope: (!t.scope.is_empty()).then(|| t.scope.to_string()),
        client_id: Some(t.client_id.to_string()),
        token_type: Some("refresh_token"),
        exp: Some(t.expires_at().unix_timestamp()),
        iat: Some(t.issued_at.unix_timestamp()),
        sub: Some(t.user_id.to_string()),
        iss: Some(state.settings.issuer.clone()),
        sid: Some(t.sid.to_string()),
        auth_time: Some(t.auth_time.unix_timestamp()),
        acr: Some(tessera_core::sign_in::acr_of(&t.amr).to_owned()),
        amr: Some(t.amr.clone()),
        ..Introspection::default()
    }))
}
