//! The JWKS endpoint: public keys of every active and retiring signing key. Pages on any origin
//! may read it (`Access-Control-Allow-Origin: *`, cors.rs).

use crate::app::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;

/// Five minutes: short next to the retirement window of a rotated key (the longest token
/// lifetime plus grace), so a cached set never lacks a key that still signs valid tokens for
/// long, and resource servers that see an unknown `kid` refetch anyway.
const CACHE_CONTROL: &str = "public, max-age=300";

/// `GET /.well-known/jwks.json`.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        state.services.keys.jwks_json(),
    )
}
