//! Answers that go back to the client's registered redirect URI (RFC 6749 §4.1.2), always with
//! `iss` (RFC 9207). Only for a client and redirect URI already checked: anything earlier gets an
//! error page instead, so Tessera is never an open redirector.

use crate::ui;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use url::Url;

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
        ui::see_other(url.as_str(), extra)
    }
}
