//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the `end_session_endpoint`,
//! `GET` and `POST /logout`.
//!
//! Rules, in the order they are checked (nothing ends until all of them pass):
//!
//! - Parameters come from the query (`GET`) or a form body (`POST`); a repeated one is refused.
//! - An `id_token_hint` must be an ID token this issuer signed with a published key. Its expiry
//!   is not checked: a hint names a sign-in, it does not authenticate anyone.
//! - A `client_id` must name a registered client and, with a hint, be one of its audiences.
//!   Without `client_id`, the client is the hint's audience (or `azp`).
//! - A `post_logout_redirect_uri` must exactly match one the client registered. Otherwise the
//!   request is refused on an error page: Tessera never redirects to an unregistered URI.
//!
//! Which session ends: with a valid hint whose `sid` is the browser's own session (its cookie),
//! that session, at once (the hint shows the client wanted its user signed out, and the cookie
//! that the request comes from that user's browser; an expired hint still names it). Otherwise
//! (no hint, a hint for another session, or no cookie: a hint alone proves nothing about who
//! sent it) the browser's own session, and only after the user confirms on a page whose form
//! carries the browser's CSRF token (double-submit), so no other site can sign a user out by
//! sending them here (RP-Initiated Logout 1.0 §2). A session named by a hint but held by no
//! browser that asks is not ended here: clients end their grants at the revocation endpoint.
//!
//! Ending a session is a [`RevocationTarget::Session`] revocation: it deletes the browser
//! session, revokes its refresh tokens, announces it on the revocation feed and queues
//! back-channel logout notifications, which are delivered in the background, never awaited here.

use crate::app::AppState;
use crate::cookies;
use crate::oauth::form::FormParams;
use crate::ui;
use crate::ui::logout::Prompt;
use crate::ui::store_failure;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tessera_core::client::SecretHash;
use tessera_core::{
    BrowserSession, Client, ClientId, RevocationReason, RevocationTarget, SessionId, UserId,
};
use tessera_store::StoreError;
use url::Url;

/// Longest `state` accepted: it is echoed in the redirect.
const MAX_STATE: usize = 2048;
/// Longest `sub` or `sid` read from a hint.
const MAX_HINT_ID: usize = 256;
/// The form field that confirms a logout on the confirmation page.
const CONFIRM: &str = "confirm";
/// The form field carrying the CSRF token.
const CSRF_FIELD: &str = "csrf_token";

/// `GET /logout`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match FormParams::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => end_session(&state, &headers, &params, Method::Get).await,
        Err(err) => bad_request(&err.description.unwrap_or_default()),
    }
}

/// `POST /logout` (form-encoded): a logout request sent by a client, or the confirmation form.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match FormParams::from_request(&headers, body, state.settings.max_body_bytes).await {
        Ok(params) => end_session(&state, &headers, &params, Method::Post).await,
        Err(err) => bad_request(&err.description.unwrap_or_default()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

impl Method {
    /// `302 Found` answers a `GET`; after a `POST`, `303 See Other` makes the browser `GET` the
    /// client's page.
    fn redirect_status(self) -> StatusCode {
        match self {
            Method::Get => StatusCode::FOUND,
            Method::Post => StatusCode::SEE_OTHER,
        }
    }
}

fn bad_request(message: &str) -> Response {
    ui::error_page(StatusCode::BAD_REQUEST, "Invalid sign-out request", message)
}

/// The claims of a verified `id_token_hint` that logout uses.
#[derive(Debug)]
struct Hint {
    sub: UserId,
    aud: Vec<String>,
    azp: Option<String>,
    sid: Option<SessionId>,
}

impl Hint {
    /// The client the hint was issued to: its single audience, or its `azp`.
    fn client(&self) -> Option<&str> {
        match self.aud.as_slice() {
            [only] => Some(only),
            _ => self
                .azp
                .as_deref()
                .filter(|azp| self.aud.iter().any(|a| a == azp)),
        }
    }
}

/// Verifies `hint`: an ID token signed by this issuer with a published key. Expiry is not
/// checked. `None` if it is anything else.
fn verify_hint(state: &AppState, hint: &str) -> Option<Hint> {
    let claims = crate::oidc::id_token_hint::id_token_hint_claims(state, hint)?;
    let id = |value: &Value| {
        value
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= MAX_HINT_ID)
            .map(str::to_owned)
    };
    let sub = id(&claims["sub"])?;
    let aud = match &claims["aud"] {
        Value::String(aud) => vec![aud.clone()],
        Value::Array(auds) => auds
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    if aud.is_empty() {
        return None;
    }
    let azp = match claims.get("azp") {
        None => None,
        Some(azp) => Some(id(azp)?),
    };
    let sid = match claims.get("sid") {
        None => None,
        Some(sid) => Some(SessionId::from_stored(id(sid)?)),
    };
    Some(Hint {
        sub: UserId::from_stored(sub),
        aud,
        azp,
        sid,
    })
}

/// A logout request whose parameters all passed the checks.
#[derive(Debug)]
struct LogoutRequest {
    hint: Option<Hint>,
    client: Option<Client>,
    /// The registered post-logout redirect URI to send the browser to.
    redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutRequest {
    /// The client's display name, for the pages.
    fn client_name(&self) -> Option<&str> {
        self.client.as_ref().map(|c| c.name.as_str())
    }
}

/// Checks every parameter; the error page to answer with if one is wrong.
async fn validate(state: &AppState, params: &FormParams) -> Result<LogoutRequest, Response> {
    let client_state = params.get("state").map(str::to_owned);
    if client_state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(bad_request("The state parameter is too long."));
    }
    let hint = match params.get("id_token_hint") {
        Some(raw) => Some(verify_hint(state, raw).ok_or_else(|| {
            bad_request("invalid_request: the id_token_hint is not an ID token issued here.")
        })?),
        None => None,
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(client_id), Some(hint)) if !hint.aud.iter().any(|a| a == client_id) => {
            return Err(bad_request(
                "invalid_request: the client_id is not an audience of the id_token_hint.",
            ))
        }
        (Some(client_id), _) => Some((client_id, true)),
        (None, Some(hint)) => hint.client().map(|id| (id, false)),
        (None, None) => None,
    };
    let client = match client_id {
        Some((id, named)) => {
            let found = match ClientId::parse(id) {
                Ok(id) => state
                    .services
                    .store
                    .find_client(&id)
                    .await
                    .map_err(store_failure)?,
                Err(_) => None,
            };
            // A client named in the request must exist; one taken from a hint may have been
            // deleted since, which only means there is nowhere to redirect to.
            if found.is_none() && named {
                return Err(bad_request("Unknown client."));
            }
            found
        }
        None => None,
    };
    let redirect_uri = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(client) = &client else {
                return Err(bad_request(
                    "invalid_request: a post_logout_redirect_uri needs the client, named by \
                     client_id or id_token_hint.",
                ));
            };
            match client
                .post_logout_redirect_uris
                .iter()
                .find(|registered| registered.as_str() == uri)
            {
                Some(registered) => Some(registered.as_str().to_owned()),
                None => {
                    return Err(bad_request(
                        "invalid_request: the post_logout_redirect_uri is not registered for \
                         this client.",
                    ))
                }
            }
        }
    };
    Ok(LogoutRequest {
        hint,
        client,
        redirect_uri,
        state: client_state,
    })
}

async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    params: &FormParams,
    method: Method,
) -> Response {
    let request = match validate(state, params).await {
        Ok(request) => request,
        Err(page) => return page,
    };
    let has_cookie = cookies::read(headers, cookies::SESSION).is_some();
    let browser_session = match cookie_session(state, headers).await {
        Ok(session) => session,
        Err(err) => return store_failure(err),
    };

    // The hint names this browser's own session: end it at once (the client asked, and this
    // is the user's browser). A hint alone proves nothing about who sent the request (anyone
    // holding an old or another client's ID token could end the user's session from
    // anywhere), so any other request is treated as one without a hint: the user confirms.
    if let (Some(hint), Some(session)) = (&request.hint, &browser_session) {
        if hint.sid.as_ref() == Some(&session.sid) {
            if session.user_id != hint.sub {
                return bad_request(
                    "invalid_request: the id_token_hint does not match its session.",
                );
            }
            let actor = request
                .client
                .as_ref()
                .map(|c| c.id.as_str())
                .or_else(|| hint.client())
                .unwrap_or(hint.aud[0].as_str());
            if let Err(err) = revoke_session(
                state,
                session.sid.clone(),
                session.user_id.clone(),
                format!("client:{actor}"),
            )
            .await
            {
                return store_failure(err);
            }
            return finish(&request, has_cookie, method);
        }
    }
    if let Some(hint) = &request.hint {
        tracing::info!(
            hint_sid = ?hint.sid,
            browser_sid = ?browser_session.as_ref().map(|s| s.sid.as_str()),
            "logout hint does not name this browser's session; asking the user"
        );
    }

    // Otherwise: the browser's own session, once the user confirms.
    let confirmed = method == Method::Post && params.get(CONFIRM).is_some();
    if confirmed {
        if !csrf_matches(headers, params.get(CSRF_FIELD)) {
            tracing::info!("logout confirmation without a valid CSRF token");
            return ui::logout::confirmation_page(
                state,
                headers,
                params,
                request.client_name(),
                browser_session.as_ref(),
                Prompt::error("This sign-out page has expired. Confirm again to sign out."),
            )
            .await;
        }
        if let Some(session) = &browser_session {
            let actor = format!("user:{}", session.user_id);
            if let Err(err) =
                revoke_session(state, session.sid.clone(), session.user_id.clone(), actor).await
            {
                return store_failure(err);
            }
        }
        return finish(&request, has_cookie, method);
    }
    // A logout request sent by POST from the client's site arrives without the session cookie
    // (it is SameSite=Lax), so "no session" cannot be told apart from "cookie withheld": ask,
    // and the confirming POST, from this origin, carries the cookie.
    if browser_session.is_some() || method == Method::Post {
        return ui::logout::confirmation_page(
            state,
            headers,
            params,
            request.client_name(),
            browser_session.as_ref(),
            Prompt::default(),
        )
        .await;
    }
    finish(&request, has_cookie, method)
}

/// The live session the browser's cookie names, if any. Unlike sign-in, a disabled user's
/// session counts: signing out of it is still right.
async fn cookie_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<BrowserSession>, StoreError> {
    let Some(secret) = cookies::read(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let session = state
        .services
        .store
        .find_session_by_secret(&SecretHash::of(&secret))
        .await?;
    Ok(session.filter(|s| s.is_live(state.services.clock.now())))
}

/// Ends session `sid`. A session already ended (or unknown: it expired and was purged, and has
/// no live refresh tokens) is not an error; logging out twice is harmless.
async fn revoke_session(
    state: &AppState,
    sid: SessionId,
    user_id: UserId,
    actor: String,
) -> Result<(), StoreError> {
    let target = RevocationTarget::Session {
        sid: sid.clone(),
        user_id,
    };
    match state.revoke(target, RevocationReason::Logout, actor).await {
        Ok(Some(_)) => {
            tracing::info!(sid = %sid, "signed out");
            Ok(())
        }
        Ok(None) | Err(StoreError::NotFound) => {
            tracing::info!(sid = %sid, "logout of a session that had already ended");
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Whether the form's CSRF token is the browser's CSRF cookie (compared in constant time).
fn csrf_matches(headers: &HeaderMap, form: Option<&str>) -> bool {
    match (cookies::read(headers, cookies::CSRF), form) {
        (Some(cookie), Some(form)) => SecretHash::of(&cookie).matches(form),
        _ => false,
    }
}

/// After the logout: the redirect to the client, or the signed-out page.
fn finish(request: &LogoutRequest, clear_cookie: bool, method: Method) -> Response {
    let mut extra = Vec::new();
    if clear_cookie {
        extra.push((header::SET_COOKIE, cookies::set(cookies::SESSION, "", 0)));
    }
    match &request.redirect_uri {
        Some(uri) => redirect(
            method.redirect_status(),
            uri,
            request.state.as_deref(),
            extra,
        ),
        None => ui::logout::signed_out_page(request.client_name(), extra),
    }
}

/// A redirect to the registered `uri`, with `state` added to its query when given.
fn redirect(
    status: StatusCode,
    uri: &str,
    client_state: Option<&str>,
    extra: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let location = match client_state {
        None => Some(uri.to_owned()),
        Some(client_state) => Url::parse(uri).ok().map(|mut url| {
            url.query_pairs_mut().append_pair("state", client_state);
            url.to_string()
        }),
    };
    let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) else {
        // Registered URIs were validated as absolute; reaching this is a bug.
        tracing::error!("a registered post-logout redirect URI does not parse");
        return ui::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "Internal error.",
        );
    };
    let mut response = status.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    for (name, value) in extra {
        response.headers_mut().append(name, value);
    }
    ui::with_security_headers(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(aud: &[&str], azp: Option<&str>) -> Hint {
        Hint {
            sub: UserId::from_stored("u".into()),
            aud: aud.iter().map(|a| a.to_string()).collect(),
            azp: azp.map(str::to_owned),
            sid: None,
        }
    }

    #[test]
    fn the_client_of_a_hint_is_its_single_audience_or_its_azp() {
        assert_eq!(hint(&["web"], None).client(), Some("web"));
        assert_eq!(hint(&["web", "api"], None).client(), None);
        assert_eq!(hint(&["web", "api"], Some("web")).client(), Some("web"));
        assert_eq!(hint(&["web", "api"], Some("evil")).client(), None);
    }

    #[test]
    fn redirects_keep_the_query_and_encode_state() {
        let response = redirect(
            StatusCode::FOUND,
            "https://rp.example/bye?x=1",
            Some("a b&c=d"),
            Vec::new(),
        );
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://rp.example/bye?x=1&state=a+b%26c%3Dd"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let response = redirect(
            StatusCode::SEE_OTHER,
            "https://rp.example",
            None,
            Vec::new(),
        );
        assert_eq!(response.headers()[header::LOCATION], "https://rp.example");
    }
}
