//! The UserInfo endpoint (OpenID Connect Core §5.3): the signed-in user's claims, for an access
//! token Tessera issued with the `openid` scope.
//!
//! The token arrives in the `Authorization: Bearer` header (GET or POST) or as the
//! `access_token` field of a form-encoded POST body (RFC 6750 §2.2), never both. Failures follow
//! RFC 6750 §3: 401 with a `WWW-Authenticate: Bearer` challenge, 403 for a missing scope.
//!
//! A request from a browser origin (`Origin` header) that the access token's client does not
//! list is refused with `400 invalid_request` (cors.rs), rather than answered without CORS
//! headers: the claims are then never sent at all, not merely hidden from the page.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use tessera_core::scope::ROLES_SCOPE;
use tessera_core::{ScopeSet, UserId};

/// `GET /userinfo`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond(&state, &headers, bearer_from_header(&headers)).await
}

/// `POST /userinfo`: the token in the header or in a form body.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let from_header = bearer_from_header(&headers);
    let from_body = match form_token(&state, &headers, body).await {
        Ok(token) => token,
        Err(err) => return err.into_response(),
    };
    let token = match (from_header, from_body) {
        (Ok(Some(_)), Some(_)) => Err(BearerError::InvalidRequest(
            "send the access token in one place, not both the header and the body".into(),
        )),
        (Ok(None), Some(token)) => Ok(Some(token)),
        (other, None) => other,
        (Err(err), Some(_)) => Err(err),
    };
    respond(&state, &headers, token).await
}

async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    token: Result<Option<String>, BearerError>,
) -> Response {
    let result = match token {
        Ok(Some(token)) => claims(state, headers, &token).await,
        Ok(None) => Err(BearerError::Missing),
        Err(err) => Err(err),
    };
    match result {
        Ok(claims) => {
            let mut response = axum::Json(claims).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => err.into_response(),
    }
}

/// The token of an `Authorization: Bearer` header; `None` when no bearer credentials were sent
/// (including another scheme, which is not meant for this endpoint).
fn bearer_from_header(headers: &HeaderMap) -> Result<Option<String>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "more than one Authorization header".into(),
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let well_formed = !token.is_empty()
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c));
    if !well_formed {
        return Err(BearerError::InvalidRequest(
            "the Authorization header is not a Bearer token".into(),
        ));
    }
    Ok(Some(token.to_owned()))
}

/// The `access_token` of a form-encoded body; other bodies are not read.
async fn form_token(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<String>, BearerError> {
    let is_form = crate::oauth::form::is_form_content_type(headers);
    if !is_form {
        return Ok(None);
    }
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes)
        .await
        .map_err(|err| BearerError::InvalidRequest(err.description.unwrap_or_default()))?;
    Ok(params.get("access_token").map(str::to_owned))
}

/// The UserInfo response.
#[derive(Debug, Serialize)]
struct UserInfo {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
}

async fn claims(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<UserInfo, BearerError> {
    // Every reason a token is refused is the same `invalid_token` to the caller; the reason goes
    // to the debug log (never the token).
    let refuse = |why: &'static str| {
        tracing::debug!(reason = why, "userinfo: access token refused");
        BearerError::InvalidToken
    };
    let claims = crate::access_token::check_live(state, token)
        .await
        .map_err(|err| BearerError::Server(err.into()))?
        .map_err(refuse)?;
    if !claims.has_audience(&state.settings.access_token_audience) {
        return Err(refuse("audience"));
    }
    if let Some(origin) = crate::cors::request_origin(headers) {
        if !crate::cors::is_listed_by_client(state, &origin, &claims.client_id)
            .await
            .map_err(BearerError::Server)?
        {
            return Err(BearerError::InvalidRequest(
                "the request's Origin is not one of the access token's client's registered \
                 browser origins"
                    .into(),
            ));
        }
    }
    // Tokens of a signed-in user carry the session; `client_credentials` tokens name no user.
    if claims.sid.is_none() {
        return Err(refuse("not a user's token"));
    }
    let scope = ScopeSet::parse(claims.scope.as_deref().unwrap_or_default())
        .map_err(|_| refuse("scope"))?;
    if !scope.contains("openid") {
        return Err(BearerError::InsufficientScope);
    }
    let user = state
        .services
        .store
        .find_user(&UserId::from_stored(claims.sub))
        .await
        .map_err(|err| BearerError::Server(err.into()))?
        .filter(|user| !user.is_disabled)
        .ok_or_else(|| refuse("user removed or disabled"))?;
    let with_email = scope.contains("email");
    Ok(UserInfo {
        sub: user.id.to_string(),
        name: if scope.contains("profile") {
            user.name
        } else {
            None
        },
        email: with_email.then(|| user.email.to_string()),
        email_verified: with_email.then_some(user.email_verified),
        roles: scope.contains(ROLES_SCOPE).then_some(user.roles),
    })
}

/// A refusal at a bearer-token protected endpoint (RFC 6750 §3).
#[derive(Debug)]
pub enum BearerError {
    /// No bearer credentials at all: a bare challenge without an error code (RFC 6750 §3.1).
    Missing,
    /// A malformed request, such as the token sent twice.
    InvalidRequest(Cow<'static, str>),
    /// The token is not valid here: bad signature, expired, revoked, another issuer or audience,
    /// or its user is gone. Deliberately says no more.
    InvalidToken,
    /// The token lacks the `openid` scope.
    InsufficientScope,
    /// The store or the server failed.
    Server(OAuthError),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, challenge, error, description) = match &self {
            BearerError::Missing => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="tessera""#,
                None,
                None,
            ),
            BearerError::InvalidRequest(description) => (
                StatusCode::BAD_REQUEST,
                r#"Bearer realm="tessera", error="invalid_request""#,
                Some("invalid_request"),
                Some(description.as_ref()),
            ),
            BearerError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="tessera", error="invalid_token""#,
                Some("invalid_token"),
                None,
            ),
            BearerError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                r#"Bearer realm="tessera", error="insufficient_scope", scope="openid""#,
                Some("insufficient_scope"),
                Some("the access token lacks the openid scope"),
            ),
            BearerError::Server(err) => return err.clone().into_response(),
        };
        let mut response = match error {
            Some(error) => (
                status,
                axum::Json(ErrorBody {
                    error,
                    error_description: description,
                }),
            )
                .into_response(),
            None => status.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
