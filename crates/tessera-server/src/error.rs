//! The one OAuth error type, and the one table that maps domain and store errors onto it.
//!
//! Internal error text never reaches a response body: [`OAuthError::internal`] logs the cause and
//! answers a bare `server_error`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use tessera_store::StoreError;

/// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 8707 §2, plus
/// `temporarily_unavailable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, or exceeds what the client may have.
    InvalidScope,
    /// The requested resource (RFC 8707) is invalid or not one this server issues tokens for.
    InvalidTarget,
    /// An unexpected condition; details are in the log, not the response.
    ServerError,
    /// The server cannot answer now (for example, the store is unreachable).
    TemporarilyUnavailable,
}

/// An OAuth error response: `{ "error": …, "error_description": … }` with a status.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// The RFC error code.
    pub error: ErrorCode,
    /// A human-readable description; never internal details.
    pub description: Option<Cow<'static, str>>,
    /// The HTTP status.
    pub status: StatusCode,
    /// A `WWW-Authenticate` challenge, when the RFC requires one.
    pub www_authenticate: Option<HeaderValue>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

impl OAuthError {
    fn new(
        error: ErrorCode,
        status: StatusCode,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            error,
            description: Some(description.into()),
            status,
            www_authenticate: None,
        }
    }

    /// `invalid_request`, 400.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::InvalidRequest,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `invalid_request`, 413: the body is over the size limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::InvalidRequest,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// `invalid_client`, 401, with a `Basic` challenge however the client authenticated: RFC
    /// 6749 §5.2 requires one after HTTP Basic, and HTTP (RFC 9110 §15.5.2) requires one on
    /// every 401, `client_secret_post` failures included.
    pub fn invalid_client() -> Self {
        let mut err = Self::new(
            ErrorCode::InvalidClient,
            StatusCode::UNAUTHORIZED,
            "client authentication failed",
        );
        err.www_authenticate = Some(HeaderValue::from_static(r#"Basic realm="tessera""#));
        err
    }

    /// `invalid_client`, 401, for a client that authenticated but is not registered as a
    /// resource server, where only resource servers may ask (the revocation feed).
    pub fn not_a_resource_server() -> Self {
        let mut err = Self::invalid_client();
        err.description = Some(
            "this client is not registered as a resource server (tessera client add \
             --resource-server)"
                .into(),
        );
        err
    }

    /// `unauthorized_client`, 400.
    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::UnauthorizedClient,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `unsupported_grant_type`, 400.
    pub fn unsupported_grant_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::UnsupportedGrantType,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `invalid_target`, 400 (RFC 8707 §2).
    pub fn invalid_target(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::InvalidTarget,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `invalid_scope`, 400.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::InvalidScope,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `invalid_grant`, 400.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::InvalidGrant,
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// `server_error`, 500. The cause goes to the log; the response says nothing more.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self {
            error: ErrorCode::ServerError,
            description: None,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            www_authenticate: None,
        }
    }

    /// `temporarily_unavailable` with `status` (429 or 503) and `description`: a limit the
    /// caller may retry after, as opposed to a failure of the server.
    pub fn over_limit(status: StatusCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, status, description)
    }

    /// `temporarily_unavailable`, 503.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "service unavailable");
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is temporarily unavailable; try again shortly",
        )
    }
}

/// The mapping from store errors. `NotFound` and `Conflict` are handled where they mean something
/// (an unknown client is `invalid_client`); reaching this mapping with them is a bug, hence 500.
impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => OAuthError::unavailable(err),
            other => OAuthError::internal(other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.error,
            error_description: self.description.as_deref(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
