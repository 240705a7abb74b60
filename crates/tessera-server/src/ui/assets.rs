//! The pages' static files, compiled into the binary: only the passkey script today. Served
//! with the security headers of every page and a short cache lifetime, so a new release's
//! script reaches browsers within minutes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const PASSKEYS_JS: &str = include_str!("../../assets/passkeys.js");

/// `GET /assets/passkeys.js`.
pub async fn passkeys_js() -> Response {
    let mut response = (StatusCode::OK, PASSKEYS_JS).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
