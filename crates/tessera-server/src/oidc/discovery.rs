//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, RFC 8414).
//!
//! The document advertises only endpoints and grants that exist (a test requests each
//! advertised endpoint); it is built once at start-up. Pages on any origin may read it
//! (`Access-Control-Allow-Origin: *`, cors.rs).

use crate::app::AppState;
use crate::routes;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use serde_json::json;
use tessera_core::scope::STANDARD_SCOPES;
use tessera_core::sign_in::{ACR_MFA, ACR_PASSWORD, ACR_PHR};
use tessera_jose::Algorithm;

/// Discovery changes only on a restart with new configuration; an hour of caching is safe.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// Serialises the discovery document for `issuer`.
pub fn document(issuer: &str, signing_algs: &[Algorithm]) -> Bytes {
    let url = |path: &str| format!("{issuer}{path}");
    let algs: Vec<&str> = signing_algs.iter().map(Algorithm::as_str).collect();
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": url(routes::AUTHORIZE),
        "token_endpoint": url(routes::TOKEN),
        "userinfo_endpoint": url(routes::USERINFO),
        "revocation_endpoint": url(routes::REVOKE),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": url(routes::INTROSPECT),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "jwks_uri": url(routes::JWKS),
        "end_session_endpoint": url(routes::END_SESSION),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "revocation_feed_endpoint": url(routes::REVOCATION_FEED),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": STANDARD_SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr",
            "at_hash", "name", "email", "email_verified", "roles",
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        // Weakest first: the order in which a request's acr_values are ranked.
        "acr_values_supported": [ACR_PASSWORD, ACR_MFA, ACR_PHR],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // Only the ID token's acr is read from it (essential or not); other requested claims
        // are accepted and ignored.
        "claims_parameter_supported": true,
    });
    Bytes::from(serde_json::to_vec(&doc).expect("the discovery document serialises"))
}

/// `GET /.well-known/openid-configuration`.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        state.settings.discovery_json.clone(),
    )
}
