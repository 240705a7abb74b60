//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, RFC 8414).
//!
//! The document advertises only endpoints and grants that exist; it is built once at start-up.

use crate::app::AppState;
use crate::routes;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use serde_json::json;
use tessera_jose::Algorithm;

/// Discovery changes only on a restart with new configuration; an hour of caching is safe.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// Serialises the discovery document for `issuer`.
pub fn document(issuer: &str, signing_algs: &[Algorithm]) -> Bytes {
    let url = |path: &str| format!("{issuer}{path}");
    let algs: Vec<&str> = signing_algs.iter().map(Algorithm::as_str).collect();
    let doc = json!({
        "issuer": issuer,
        "token_endpoint": url(routes::TOKEN),
        "jwks_uri": url(routes::JWKS),
        "grant_types_supported": ["client_credentials"],
        // The authorization endpoint arrives with the sign-in flow; until then no response type
        // is served, and saying otherwise would send clients to an endpoint that does not exist.
        "response_types_supported": [],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
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
        state.discovery_json.clone(),
    )
}
