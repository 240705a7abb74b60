//! Minting tokens, in one place: a signed-in user's access token (RFC 9068), ID token (OpenID
//! Connect Core §2) and opaque refresh token, shared by the `authorization_code` and
//! `refresh_token` grants so both put exactly the same claims in their tokens; a client's own
//! access token (`client_credentials`); and the token response (RFC 6749 §5.1) all grants answer.

use crate::app::AppState;
use crate::error::OAuthError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::refresh::REFRESH_TOKEN_BYTES;
use tessera_core::scope::ROLES_SCOPE;
use tessera_core::{
    AccessTokenClaims, BearerSecret, Client, IdTokenClaims, IssuedAccessToken, NamespacedClaim,
    ScopeSet, SessionId, User,
};
use time::OffsetDateTime;

/// The suffix of Tessera's reauthentication claim; the configurable namespace goes in front.
pub const CAN_REAUTHENTICATE: &str = "can_reauthenticate";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The granted scope, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token, when the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// Everything a token says about one sign-in, whichever grant is issuing.
#[derive(Debug)]
pub struct SignIn<'a> {
    /// The client the tokens are for.
    pub client: &'a Client,
    /// The user, as stored now: tokens always carry the current name, email and roles.
    pub user: &'a User,
    /// The browser session the sign-in happened in.
    pub sid: &'a SessionId,
    /// The scope of these tokens (on a refresh, possibly narrower than the family's).
    pub scope: &'a ScopeSet,
    /// When the user authenticated (kept through refreshes).
    pub auth_time: OffsetDateTime,
    /// How the user authenticated.
    pub amr: &'a [String],
    /// Authentication context class, when one was requested.
    pub acr: Option<&'a str>,
    /// The client's nonce; only the authorization-code exchange has one.
    pub nonce: Option<&'a str>,
    /// The access token's `aud`: the resource it is for ([`crate::oauth::resource`]).
    pub audience: &'a str,
    /// The access token's `jti` and `exp`, planned before signing by [`plan_access_token`] so
    /// that the grant can remember them with its refresh token (revoking the grant revokes the
    /// access token).
    pub access_token: &'a IssuedAccessToken,
    /// Whether the user can authenticate again when an app asks (a password or a passkey):
    /// the ID token's `can_reauthenticate` claim ([`crate::authn::passkeys::can_reauthenticate`]).
    pub can_reauthenticate: bool,
}

/// The signed tokens of one issuance, before the refresh token is added.
#[derive(Debug)]
pub struct UserTokens {
    access_token: String,
    expires_in: i64,
    scope: Option<String>,
    id_token: Option<String>,
}

impl UserTokens {
    /// The token response, with `refresh_token` when one was issued.
    pub fn into_response(self, refresh_token: Option<String>) -> TokenResponse {
        TokenResponse {
            access_token: self.access_token,
            token_type: "Bearer",
            expires_in: self.expires_in,
            scope: self.scope,
            id_token: self.id_token,
            refresh_token,
        }
    }
}

/// The access token a grant is about to issue at `now`: its `jti` (the one given, which the
/// authorization-code exchange fixed when its code was issued so that a replay of the code can
/// revoke the token; else a fresh one) and its `exp`.
pub fn plan_access_token(
    state: &AppState,
    now: OffsetDateTime,
    jti: Option<&str>,
) -> IssuedAccessToken {
    let iat = OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap_or(now);
    IssuedAccessToken {
        jti: jti.map_or_else(tessera_core::revocation::new_jti, str::to_owned),
        expires_at: iat + state.settings.lifetimes.access_token,
    }
}

/// A new opaque refresh token (256 bits). Only its hash is ever stored.
pub fn new_refresh_token() -> BearerSecret {
    BearerSecret::generate(REFRESH_TOKEN_BYTES)
}

/// Signs the access token and, when `openid` is in scope, the ID token, issued at `now`: the
/// instant the grant made its decisions at (so an authorization code's token never outlives
/// `code.expires_at` plus the access-token lifetime, which a replay relies on).
pub fn issue(
    state: &AppState,
    sign_in: &SignIn<'_>,
    now: OffsetDateTime,
) -> Result<UserTokens, OAuthError> {
    let now = now.unix_timestamp();
    let auth_time = sign_in.auth_time.unix_timestamp();
    let user = sign_in.user;
    let scope = sign_in.scope;
    let roles = scope.contains(ROLES_SCOPE).then(|| user.roles.clone());
    let scope_string = (!scope.is_empty()).then(|| scope.to_string());

    let access_lifetime = state.settings.lifetimes.access_token.whole_seconds();
    let access_claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: user.id.to_string(),
        aud: sign_in.audience.to_owned(),
        exp: sign_in.access_token.expires_at.unix_timestamp(),
        iat: now,
        jti: sign_in.access_token.jti.clone(),
        client_id: sign_in.client.id.to_string(),
        scope: scope_string.clone(),
        sid: Some(sign_in.sid.to_string()),
        auth_time: Some(auth_time),
        roles: roles.clone(),
        amr: sign_in.amr.to_vec(),
        acr: Some(tessera_core::sign_in::acr_of(sign_in.amr).to_owned()),
    };
    let access_signer = state
        .services
        .keys
        .signer(state.settings.access_token_alg)
        .ok_or_else(|| OAuthError::internal("no active access-token signing key"))?;
    let access_token = access_signer
        .sign_jwt(tessera_core::token::ACCESS_TOKEN_TYP, &access_claims)
        .map_err(OAuthError::internal)?;

    let id_token = if scope.contains("openid") {
        let id_signer = state
            .services
            .keys
            .signer(state.settings.id_token_alg)
            .ok_or_else(|| OAuthError::internal("no active ID-token signing key"))?;
        let alg = id_signer.algorithm().as_str();
        let at_hash = tessera_core::at_hash(&access_token, alg)
            .ok_or_else(|| OAuthError::internal(format!("no at_hash digest for {alg}")))?;
        let with_email = scope.contains("email");
        let claims = IdTokenClaims {
            iss: state.settings.issuer.clone(),
            sub: user.id.to_string(),
            aud: sign_in.client.id.to_string(),
            exp: now + state.settings.lifetimes.id_token.whole_seconds(),
            iat: now,
            auth_time,
            nonce: sign_in.nonce.map(str::to_owned),
            sid: sign_in.sid.to_string(),
            amr: sign_in.amr.to_vec(),
            acr: sign_in.acr.map(str::to_owned),
            at_hash: Some(at_hash),
            name: scope
                .contains("profile")
                .then(|| user.name.clone())
                .flatten(),
            email: with_email.then(|| user.email.to_string()),
            email_verified: with_email.then_some(user.email_verified),
            roles,
            can_reauthenticate: NamespacedClaim {
                name: format!("{}{CAN_REAUTHENTICATE}", state.settings.claims_namespace),
                value: sign_in.can_reauthenticate,
            },
        };
        Some(
            id_signer
                .sign_jwt(tessera_core::token::ID_TOKEN_TYP, &claims)
                .map_err(OAuthError::internal)?,
        )
    } else {
        None
    };

    tracing::info!(
        client_id = %sign_in.client.id,
        user_id = %user.id,
        sid = %sign_in.sid,
        jti = %access_claims.jti,
        id_token = id_token.is_some(),
        "issued tokens"
    );
    Ok(UserTokens {
        access_token,
        expires_in: access_lifetime,
        scope: scope_string,
        id_token,
    })
}

/// A client's access token for itself (`client_credentials`): `sub` is the client, no user, no
/// session. Waits out a fresh global revocation's `not_before` so the token is not born revoked.
pub async fn client_access_token(
    state: &AppState,
    client: &Client,
    scope: &ScopeSet,
    audience: String,
) -> Result<TokenResponse, OAuthError> {
    let signer = state
        .services
        .keys
        .signer(state.settings.access_token_alg)
        .ok_or_else(|| OAuthError::internal("no active access-token signing key"))?;
    let now = state.issuance_time(None).await?.unix_timestamp();
    let lifetime = state.settings.lifetimes.access_token.whole_seconds();
    let scope = (!scope.is_empty()).then(|| scope.to_string());
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: client.id.to_string(),
        aud: audience,
        exp: now + lifetime,
        iat: now,
        jti: tessera_core::revocation::new_jti(),
        client_id: client.id.to_string(),
        scope: scope.clone(),
        sid: None,
        auth_time: None,
        roles: None,
        amr: Vec::new(),
        acr: None,
    };
    let access_token = signer
        .sign_jwt(tessera_core::token::ACCESS_TOKEN_TYP, &claims)
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
