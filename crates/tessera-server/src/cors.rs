//! Cross-origin requests (CORS) from browser apps on other origins: which endpoints a script on
//! another origin may call, and from which origins.
//!
//! The rule, in one place:
//! - Discovery (both metadata routes) and the JWKS are public documents: every response says
//!   `Access-Control-Allow-Origin: *`, and a preflight is answered 204 allowing `GET`. They hold
//!   nothing a page could not learn anyway, and no credentials are ever allowed.
//! - The token, revocation and UserInfo endpoints answer only origins that a registered public
//!   client lists (`tessera client add ID --public --origin https://app.example`). A response
//!   (preflight or actual) echoes such an origin with `Vary: Origin`; an origin no client lists
//!   gets no CORS headers at all, so the browser blocks the page from reading the answer. A
//!   preflight from such an origin is refused with 403 (rather than a 204 without headers), so
//!   an operator sees the refusal in the browser's network panel and in the log. No
//!   `Access-Control-Allow-Credentials`: these endpoints never read cookies.
//! - That some client lists the origin only decides whether the browser may read an answer. The
//!   handlers then hold the client the request names (token, revocation) or the access token's
//!   client (UserInfo) to its own list ([`check_client`], [`is_listed_by_client`]): a
//!   form-encoded POST is a "simple" request that browsers send without a preflight, so
//!   without this check a page on another client's origin could redeem a code it intercepted.
//!   The refusal comes before any store change: a code is not consumed, a refresh token not
//!   rotated. Requests without an `Origin` header (server-side clients) are not affected.
//! - Nowhere else: the authorization endpoint, the hosted pages, logout, introspection and the
//!   revocation feed send no CORS headers, and `OPTIONS` there stays 405.

use crate::app::AppState;
use crate::error::OAuthError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use std::borrow::Cow;
use tessera_core::{Client, ClientId};
use tower_http::set_header::SetResponseHeaderLayer;

/// How long a browser may cache a preflight answer, in seconds. Short, so removing an origin
/// from a client takes effect soon.
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");
/// Request headers a page may send: bearer tokens, form or JSON bodies, and DPoP proofs (for
/// when DPoP lands).
const ALLOWED_HEADERS: HeaderValue = HeaderValue::from_static("authorization, content-type, dpop");
/// Response headers a page may read beside the safelisted ones: the bearer challenge, and the
/// DPoP nonce (for when DPoP lands).
const EXPOSED_HEADERS: HeaderValue = HeaderValue::from_static("www-authenticate, dpop-nonce");

/// The methods a page on another origin may use at an endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Methods {
    /// For `Access-Control-Allow-Methods`, comma-separated.
    cors: &'static str,
    /// For the `Allow` header of a plain (non-CORS) `OPTIONS`.
    allow: &'static str,
}

impl Methods {
    /// `POST` only: the token and revocation endpoints.
    pub const POST: Methods = Methods {
        cors: "POST",
        allow: "POST, OPTIONS",
    };
    /// `GET` and `POST`: UserInfo.
    pub const GET_POST: Methods = Methods {
        cors: "GET, POST",
        allow: "GET, HEAD, POST, OPTIONS",
    };

    fn allows(&self, method: &str) -> bool {
        self.cors.split(", ").any(|m| m == method)
    }
}

/// Discovery and the JWKS: readable from any origin, without credentials.
pub fn public(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .options(public_preflight)
}

async fn public_preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    response
}

/// The token, revocation and UserInfo endpoints: readable from the origins registered public
/// clients list, with `methods`. The handler behind `route` must still hold the request's own
/// client to its list ([`check_client`], [`is_listed_by_client`]).
pub fn per_client(
    state: &AppState,
    route: MethodRouter<AppState>,
    methods: Methods,
) -> MethodRouter<AppState> {
    route
        .layer(middleware::from_fn_with_state(
            state.clone(),
            actual_response,
        ))
        .options(move |State(state): State<AppState>, headers: HeaderMap| {
            preflight(state, headers, methods)
        })
}

/// The request's `Origin`, if it sent one. A value that is not ASCII cannot equal a registered
/// origin; it is kept (lossily) so that it is still refused, never treated as absent.
pub fn request_origin(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

/// Refuses a token or revocation request that came from a browser origin `client` does not
/// list, even if another client lists it: `400 invalid_request`, logged with the origin and
/// the client id. Call it before the request changes anything in the store.
pub fn check_client(headers: &HeaderMap, client: &Client) -> Result<(), OAuthError> {
    match request_origin(headers) {
        Some(origin) if !client.allows_origin(&origin) => {
            log_refusal(&origin, client.id.as_str());
            Err(OAuthError::invalid_request(
                "the request's Origin is not one of this client's registered browser origins",
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the client `client_id` (an access token's `client_id`) lists `origin`; false for a
/// client that no longer exists. Logs a refusal with the origin and the client id.
pub async fn is_listed_by_client(
    state: &AppState,
    origin: &str,
    client_id: &str,
) -> Result<bool, OAuthError> {
    let client = match ClientId::parse(client_id) {
        Ok(id) => state.services.store.find_client(&id).await?,
        Err(_) => None,
    };
    let listed = client.is_some_and(|c| c.allows_origin(origin));
    if !listed {
        log_refusal(origin, client_id);
    }
    Ok(listed)
}

fn log_refusal(origin: &str, client_id: &str) {
    tracing::warn!(
        origin = %origin.escape_debug(),
        client_id = %client_id.escape_debug(),
        "request refused: the client does not list this browser origin (tessera client add --origin)"
    );
}

/// Whether some registered client lists `origin`. Reads the store's client listing and filters
/// it in memory: only requests that carry an `Origin` pay for it, client lists are small next
/// to the work of a token request, and a lookup by origin would need a new store method (and
/// index) on both backends. Worth one if deployments grow to many thousands of clients.
async fn is_listed_by_some_client(state: &AppState, origin: &str) -> Result<bool, OAuthError> {
    Ok(state
        .services
        .store
        .list_clients()
        .await?
        .iter()
        .any(|c| c.allows_origin(origin)))
}

/// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) at a per-client
/// endpoint. A plain `OPTIONS` without them is answered 204 with `Allow`.
async fn preflight(state: AppState, headers: HeaderMap, methods: Methods) -> Response {
    let requested = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
    let (Some(origin), Some(requested)) = (request_origin(&headers), requested) else {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(methods.allow));
        return response;
    };
    let method_allowed = requested.to_str().is_ok_and(|m| methods.allows(m));
    let listed = match is_listed_by_some_client(&state, &origin).await {
        Ok(listed) => listed,
        Err(err) => return err.into_response(),
    };
    let mut response = if method_allowed && listed {
        let mut response = StatusCode::NO_CONTENT.into_response();
        allow_origin(response.headers_mut(), &origin);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods.cors),
        );
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
        h.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        response
    } else {
        tracing::info!(
            origin = %origin.escape_debug(),
            method_allowed,
            origin_listed = listed,
            "CORS preflight refused"
        );
        StatusCode::FORBIDDEN.into_response()
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    response
}

/// Adds the CORS headers to an actual (non-preflight) response when some client lists the
/// request's origin. The handler has already refused the request if its own client does not.
async fn actual_response(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request_origin(request.headers()).map(Cow::into_owned);
    let mut response = next.run(request).await;
    // The answer to the same request differs by origin: caches must key on it.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    let Some(origin) = origin else {
        return response;
    };
    match is_listed_by_some_client(&state, &origin).await {
        Ok(true) => allow_origin(response.headers_mut(), &origin),
        Ok(false) => {}
        // The answer stands; without the headers the page cannot read it, which is safe.
        Err(err) => tracing::warn!(
            error = ?err.description,
            "CORS: the client listing could not be read; answering without CORS headers"
        ),
    }
    response
}

/// Echoes a listed origin (already compared exactly with a registered one, so it is a valid
/// header value) and exposes the headers a page needs.
fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
    }
}
