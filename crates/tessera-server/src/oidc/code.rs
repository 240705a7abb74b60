//! Finishing an OpenID Connect sign-in: a single-use authorization code bound to the client, the
//! redirect URI, the PKCE challenge and the browser session, carrying what the sign-in engine
//! established (`auth_time`, `amr`, `acr`), sent back to the client.

use crate::app::AppState;
use crate::oidc::redirect::ClientRedirect;
use crate::ui::store_failure;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tessera_core::code::{CODE_BYTES, CODE_LIFETIME};
use tessera_core::sign_in::Authentication;
use tessera_core::{AuthorizationCode, AuthorizationRequest, BearerSecret, BrowserSession};
use tessera_store::StoreError;

/// Issues the code and redirects the browser to the client with it.
pub async fn finish(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &BrowserSession,
    authentication: &Authentication,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    match issue(state, request, session, authentication).await {
        Ok(redirect) => redirect.into_response_with(&state.settings.issuer, extra_headers),
        Err(err) => store_failure(err),
    }
}

/// Stores the code and returns the redirect carrying it.
async fn issue(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &BrowserSession,
    authentication: &Authentication,
) -> Result<ClientRedirect, StoreError> {
    let code = BearerSecret::generate(CODE_BYTES);
    // The code is checked against revocations by its issue time when it is exchanged; right
    // after a revocation of this user, a code stamped with the same second would be refused.
    let now = state.issuance_time(Some(&session.user_id)).await?;
    let record = AuthorizationCode {
        code_hash: code.hash(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_in_request: request.redirect_uri_in_request,
        user_id: session.user_id.clone(),
        sid: session.sid.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: authentication.auth_time,
        amr: authentication.amr.clone(),
        acr: authentication.acr.clone(),
        family_id: tessera_core::random::token(16),
        access_token_jti: tessera_core::revocation::new_jti(),
        issued_at: now,
        expires_at: now + CODE_LIFETIME,
    };
    state.services.store.create_code(&record).await?;
    tracing::info!(client_id = %request.client_id, sid = %session.sid, "issued authorization code");
    Ok(ClientRedirect::code(
        &request.redirect_uri,
        code.expose(),
        request.state.as_deref(),
    ))
}
