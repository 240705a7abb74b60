//! The sign-in flow after a request is validated: who is signed in, whether they must log in
//! again or consent, and issuing the code. Shared by the authorization endpoint and the hosted
//! login and consent pages.

use crate::app::AppState;
use crate::cookies;
use crate::oidc::authorize::ValidatedRequest;
use crate::routes;
use crate::ui;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::SecretHash;
use tessera_core::code::{CODE_BYTES, CODE_LIFETIME};
use tessera_core::login::LOGIN_REQUEST_LIFETIME;
use tessera_core::{
    AuthorizationCode, AuthorizationRequest, BearerSecret, BrowserSession, Client, LoginRequest,
    User,
};
use tessera_jose::{Algorithm, JwkSet};
use tessera_store::StoreError;
use url::Url;

/// The `acr` Tessera reports for a password sign-in when the client asked for `acr_values`.
pub const ACR_PASSWORD: &str = "urn:tessera:acr:password";

/// A redirect back to the client's registered redirect URI.
#[derive(Debug, Clone)]
pub struct ClientRedirect {
    uri: String,
    params: Vec<(&'static str, String)>,
}

impl ClientRedirect {
    /// An error response (RFC 6749 §4.1.2.1).
    pub fn error(
        redirect_uri: &str,
        state: Option<&str>,
        error: &'static str,
        description: &str,
    ) -> Self {
        let mut params = vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ];
        if let Some(state) = state {
            params.push(("state", state.to_owned()));
        }
        Self {
            uri: redirect_uri.to_owned(),
            params,
        }
    }

    /// The success response carrying the code.
    pub fn code(redirect_uri: &str, code: &str, state: Option<&str>) -> Self {
        let mut params = vec![("code", code.to_owned())];
        if let Some(state) = state {
            params.push(("state", state.to_owned()));
        }
        Self {
            uri: redirect_uri.to_owned(),
            params,
        }
    }

    /// A `303 See Other` to the client, with `iss` added (RFC 9207).
    pub fn into_response(self, issuer: &str) -> Response {
        self.into_response_with(issuer, Vec::new())
    }

    /// As [`Self::into_response`], with extra headers (cookies).
    pub fn into_response_with(
        self,
        issuer: &str,
        extra: Vec<(HeaderName, HeaderValue)>,
    ) -> Response {
        let Ok(mut url) = Url::parse(&self.uri) else {
            // Registered URIs were validated as absolute; reaching this is a bug.
            tracing::error!("a registered redirect URI does not parse");
            return ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "Internal error.",
            );
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.params {
                query.append_pair(name, value);
            }
            query.append_pair("iss", issuer);
        }
        see_other(url.as_str(), extra)
    }
}

/// A `303 See Other` to `location` with the page security headers.
pub fn see_other(location: &str, extra: Vec<(HeaderName, HeaderValue)>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            return ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "Internal error.",
            )
        }
    }
    for (name, value) in extra {
        response.headers_mut().append(name, value);
    }
    ui::with_security_headers(response)
}

/// An error page for a store failure: 503 when the store is unreachable, 500 otherwise.
pub fn store_failure(err: StoreError) -> Response {
    match err {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %err, "store unavailable");
            ui::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service is temporarily unavailable. Try again in a moment.",
            )
        }
        other => {
            tracing::error!(error = %other, "store failure");
            ui::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "Something went wrong on our side.",
            )
        }
    }
}

/// The live browser session of this request and its enabled user, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(BrowserSession, User)>, StoreError> {
    let Some(secret) = cookies::read(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .find_session_by_secret(&SecretHash::of(&secret))
        .await?
    else {
        return Ok(None);
    };
    if !session.is_live(state.clock.now()) {
        return Ok(None);
    }
    match state.store.find_user(&session.user_id).await? {
        Some(user) if !user.is_disabled => Ok(Some((session, user))),
        _ => Ok(None),
    }
}

/// The `sub` of an ID token this issuer signed (expired ones included: a hint names a user, it
/// does not authenticate one).
pub fn subject_of_id_token_hint(state: &AppState, hint: &str) -> Option<String> {
    id_token_hint_claims(state, hint)?["sub"]
        .as_str()
        .map(str::to_owned)
}

/// The claims of `hint` if it is an ID token of this issuer: signed with a published key, `typ`
/// `JWT` (so an access token, `at+jwt`, or a logout token, `logout+jwt`, signed with the same
/// keys is not one), `iss` this issuer. Expiry is not checked: an expired ID token still names
/// its user and session (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2).
pub fn id_token_hint_claims(state: &AppState, hint: &str) -> Option<serde_json::Value> {
    let jwks: JwkSet = serde_json::from_slice(&state.keys.jwks_json()).ok()?;
    let verified = tessera_jose::verify_compact(hint, &jwks, &Algorithm::ALL).ok()?;
    if !verified
        .typ()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(ID_TOKEN_TYP))
    {
        return None;
    }
    let claims: serde_json::Value = verified.claims().ok()?;
    (claims["iss"] == state.issuer.as_str()).then_some(claims)
}

/// The `typ` header of Tessera's ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// Continues a validated authorization request: silent success, login, or consent.
pub async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    validated: ValidatedRequest,
) -> Response {
    let ValidatedRequest {
        client,
        request,
        prompt_none,
        hinted_subject,
    } = validated;
    let session = match current_session(state, headers).await {
        Ok(session) => session,
        Err(err) => return store_failure(err),
    };
    let now = state.clock.now();
    let authenticated = session.filter(|(session, user)| {
        let fresh_enough = request
            .max_age
            .is_none_or(|max_age| (now - session.auth_time).whole_seconds() <= max_age);
        let hinted_user = hinted_subject
            .as_deref()
            .is_none_or(|sub| sub == user.id.as_str());
        !request.prompt_login && fresh_enough && hinted_user
    });
    match authenticated {
        Some((session, user)) => {
            after_authentication(
                state,
                headers,
                &client,
                request,
                &session,
                &user,
                prompt_none,
                Vec::new(),
            )
            .await
        }
        None if prompt_none => ClientRedirect::error(
            &request.redirect_uri,
            request.state.as_deref(),
            "login_required",
            "the user must sign in",
        )
        .into_response(&state.issuer),
        None => start_page(state, headers, &request, routes::LOGIN, Vec::new()).await,
    }
}

/// After the user is known: ask for consent if needed, else issue the code.
#[allow(clippy::too_many_arguments)]
pub async fn after_authentication(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    request: AuthorizationRequest,
    session: &BrowserSession,
    user: &User,
    prompt_none: bool,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let needs_consent = if client.is_first_party {
        false
    } else if request.prompt_consent {
        true
    } else {
        match state.store.find_consent(&user.id, &client.id).await {
            Ok(consent) => !consent.is_some_and(|c| c.covers(&request.scope)),
            Err(err) => return store_failure(err),
        }
    };
    if needs_consent {
        if prompt_none {
            return ClientRedirect::error(
                &request.redirect_uri,
                request.state.as_deref(),
                "consent_required",
                "the user must consent",
            )
            .into_response_with(&state.issuer, extra_headers);
        }
        return start_page(state, headers, &request, routes::CONSENT, extra_headers).await;
    }
    match issue_code(state, &request, session).await {
        Ok(redirect) => redirect.into_response_with(&state.issuer, extra_headers),
        Err(err) => store_failure(err),
    }
}

/// Stores a pending request and sends the browser to the login or consent page for it.
async fn start_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    page: &str,
    mut extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let (csrf, csrf_cookie) = cookies::csrf_token(headers);
    let now = state.clock.now();
    let pending = LoginRequest {
        id: tessera_core::random::token(16),
        csrf_hash: SecretHash::of(&csrf),
        request: request.clone(),
        created_at: now,
        expires_at: now + LOGIN_REQUEST_LIFETIME,
    };
    if let Err(err) = state.store.create_login_request(&pending).await {
        return store_failure(err);
    }
    if let Some(cookie) = csrf_cookie {
        extra_headers.push((header::SET_COOKIE, cookie));
    }
    see_other(&format!("{page}?request={}", pending.id), extra_headers)
}

/// Issues a single-use code bound to the client, redirect URI, PKCE challenge and session.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &BrowserSession,
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
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: (!request.acr_values.is_empty()).then(|| ACR_PASSWORD.to_owned()),
        family_id: tessera_core::random::token(16),
        access_token_jti: tessera_core::revocation::new_jti(),
        issued_at: now,
        expires_at: now + CODE_LIFETIME,
    };
    state.store.create_code(&record).await?;
    tracing::info!(client_id = %request.client_id, sid = %session.sid, "issued authorization code");
    Ok(ClientRedirect::code(
        &request.redirect_uri,
        code.expose(),
        request.state.as_deref(),
    ))
}

/// The pending request a login or consent page shows, with the browser's CSRF token to embed
/// in the form; `None` when it is unknown, expired, or was started in another browser.
pub async fn pending_for_page(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Option<(LoginRequest, String)>, StoreError> {
    let Some(csrf) = cookies::read(headers, cookies::CSRF) else {
        return Ok(None);
    };
    Ok(pending_request(state, headers, request_id, Some(&csrf))
        .await?
        .map(|pending| (pending, csrf)))
}

/// An error page for a login or consent page whose pending request is gone.
pub fn expired_page() -> Response {
    ui::error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in page has expired",
        "The sign-in request is unknown, has expired, was already completed, or was started in another browser.",
    )
}

/// Reads a hosted page's form POST: the form body, then the pending request it names, checked
/// against the CSRF token. Either the two, or the error page to answer with.
pub async fn read_page_form(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(crate::oauth::form::FormParams, LoginRequest), Response> {
    let params = crate::oauth::form::FormParams::from_request(headers, body, state.max_body_bytes)
        .await
        .map_err(|err| {
            ui::error_page(
                StatusCode::BAD_REQUEST,
                "Invalid form",
                &err.description.unwrap_or_default(),
            )
        })?;
    let Some(request_id) = params.get("request") else {
        return Err(expired_page());
    };
    match pending_request(state, headers, request_id, params.get("csrf_token")).await {
        Ok(Some(pending)) => Ok((params, pending)),
        Ok(None) => Err(expired_page()),
        Err(err) => Err(store_failure(err)),
    }
}

/// The pending request a login or consent form refers to, if the form's CSRF token matches both
/// the browser's CSRF cookie and the one the request was created for.
pub async fn pending_request(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
    form_csrf: Option<&str>,
) -> Result<Option<LoginRequest>, StoreError> {
    let Some(pending) = state.store.find_login_request(request_id).await? else {
        return Ok(None);
    };
    if state.clock.now() >= pending.expires_at {
        return Ok(None);
    }
    // Both compare against the stored hash in constant time; together they also prove that the
    // form and the cookie carry the same token.
    let cookie = cookies::read(headers, cookies::CSRF);
    let csrf_ok = match (cookie, form_csrf) {
        (Some(cookie), Some(form)) => {
            pending.csrf_hash.matches(&cookie) && pending.csrf_hash.matches(form)
        }
        _ => false,
    };
    Ok(csrf_ok.then_some(pending))
}
