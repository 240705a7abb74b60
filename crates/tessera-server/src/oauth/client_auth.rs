//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic` and
//! `client_secret_post` for confidential clients, `none` (the `client_id` alone) for public ones,
//! whose code exchanges are protected by PKCE instead.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;
use tessera_core::client::SecretHash;
use tessera_core::{Client, ClientId};
use zeroize::Zeroizing;

/// How the client presented itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// Only a `client_id` (public clients).
    None,
}

/// Credentials as presented, before they are checked.
#[derive(Debug)]
pub struct PresentedCredentials {
    /// The method used.
    pub method: AuthMethod,
    /// The claimed client id.
    pub client_id: String,
    /// The secret, if any.
    pub secret: Option<Zeroizing<String>>,
}

impl PresentedCredentials {
    /// Reads the credentials from the `Authorization` header and the form. Exactly one method may
    /// be used (RFC 6749 §2.3); no credentials at all is `invalid_client`.
    pub fn extract(headers: &HeaderMap, params: &FormParams) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id");
        let body_secret = params.get("client_secret");
        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            let client_id = body_id.ok_or_else(OAuthError::invalid_client)?;
            return Ok(match body_secret {
                Some(secret) => Self {
                    method: AuthMethod::ClientSecretPost,
                    client_id: client_id.to_owned(),
                    secret: Some(Zeroizing::new(secret.to_owned())),
                },
                None => Self {
                    method: AuthMethod::None,
                    client_id: client_id.to_owned(),
                    secret: None,
                },
            });
        };
        let (id, secret) = parse_basic(authorization.as_bytes())?;
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both HTTP Basic and client_secret",
            ));
        }
        if body_id.is_some_and(|body_id| body_id != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the HTTP Basic client id",
            ));
        }
        Ok(Self {
            method: AuthMethod::ClientSecretBasic,
            client_id: id,
            secret: Some(secret),
        })
    }

    /// Checks the credentials against the registered client. Every failure is the same
    /// `invalid_client`, so a caller cannot tell an unknown client from a wrong secret.
    pub async fn authenticate(self, state: &AppState) -> Result<Client, OAuthError> {
        // The caller learns only `invalid_client`; the operator finds in the log what did not
        // match (never the secret).
        let fail = |why: &str| {
            tracing::info!(
                client_id = %self.client_id.escape_debug(),
                method = ?self.method,
                why,
                "client authentication failed"
            );
            OAuthError::invalid_client()
        };
        let client = match ClientId::parse(&self.client_id) {
            Ok(id) => state.services.store.find_client(&id).await?,
            Err(_) => None,
        };
        let Some(client) = client else {
            // Spend the same work as a real comparison so timing does not reveal which client
            // ids exist.
            if let Some(secret) = &self.secret {
                let _ = SecretHash::of("unknown-client").matches(secret);
            }
            return Err(fail("no client is registered with this id"));
        };
        match (&self.secret, client.is_public()) {
            (Some(secret), false) if client.verify_secret(secret) => Ok(client),
            (None, true) => Ok(client),
            (Some(_), false) => Err(fail("wrong client secret")),
            (Some(_), true) => Err(fail("a public client sent a secret")),
            (None, false) => Err(fail("a confidential client sent no secret")),
        }
    }
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &[u8]) -> Result<(String, Zeroizing<String>), OAuthError> {
    let value = std::str::from_utf8(value).map_err(|_| OAuthError::invalid_client())?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or_else(OAuthError::invalid_client)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    let decoded = Zeroizing::new(
        STANDARD
            .decode(encoded.trim())
            .map_err(|_| OAuthError::invalid_client())?,
    );
    let decoded = std::str::from_utf8(&decoded).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let unescape = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| OAuthError::invalid_client())
    };
    Ok((unescape(id)?, Zeroizing::new(unescape(secret)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(raw: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap(),
        );
        headers
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let got = PresentedCredentials::extract(&basic("my%3Aapp:s%2Bc+r"), &FormParams::default())
            .unwrap();
        assert_eq!(got.method, AuthMethod::ClientSecretBasic);
        assert_eq!(got.client_id, "my:app");
        assert_eq!(got.secret.unwrap().as_str(), "s+c r");
    }

    #[test]
    fn one_method_only_and_consistent_ids() {
        let both = FormParams::parse(b"client_secret=x").unwrap();
        let err = PresentedCredentials::extract(&basic("app:s"), &both).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidRequest);
        let other_id = FormParams::parse(b"client_id=other").unwrap();
        let err = PresentedCredentials::extract(&basic("app:s"), &other_id).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidRequest);
        let same_id = FormParams::parse(b"client_id=app").unwrap();
        assert!(PresentedCredentials::extract(&basic("app:s"), &same_id).is_ok());
    }

    #[test]
    fn malformed_basic_is_invalid_client_with_a_challenge() {
        let err =
            PresentedCredentials::extract(&basic("no-colon"), &FormParams::default()).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidClient);
        assert!(err.www_authenticate.is_some());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        let err = PresentedCredentials::extract(&headers, &FormParams::default()).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidClient);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        let err = PresentedCredentials::extract(&headers, &FormParams::default()).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidClient);
    }

    #[test]
    fn no_credentials_is_invalid_client_with_a_basic_challenge() {
        // Every 401 carries a challenge (RFC 9110 §15.5.2), not only after HTTP Basic.
        let err =
            PresentedCredentials::extract(&HeaderMap::new(), &FormParams::default()).unwrap_err();
        assert_eq!(err.error, crate::error::ErrorCode::InvalidClient);
        assert_eq!(
            err.www_authenticate.as_ref().and_then(|v| v.to_str().ok()),
            Some(r#"Basic realm="tessera""#)
        );
    }
}
