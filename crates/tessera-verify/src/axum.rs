//! axum integration (feature `axum`): an extractor and a middleware that demand a valid
//! access token, and the RFC 6750 / RFC 9470 answers for everything else.
//!
//! [`BearerAuth`] holds what a request is checked against: the keys (a [`Verifier`], or with
//! the `remote` feature a [`RemoteVerifier`](crate::remote::RemoteVerifier)) and, optionally,
//! a [`RevocationMirror`] with its staleness bound. Put it in the router's state (or make it
//! reachable with [`FromRef`]) and take [`Bearer`] in a handler:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use axum::{routing::{get, post}, Router};
//! use tessera_verify::axum::{Bearer, BearerAuth};
//! use tessera_verify::{StepUpRequired, Verifier, VerifierOptions};
//! # use tessera_jose::{Algorithm, JwkSet, SigningKey};
//! # let key = SigningKey::generate(Algorithm::RS256, "k1").unwrap();
//! # let jwks = JwkSet { keys: vec![key.public_jwk().clone()] };
//!
//! async fn me(Bearer(token): Bearer) -> String {
//!     token.sub
//! }
//!
//! async fn transfer(
//!     axum::extract::State(auth): axum::extract::State<BearerAuth>,
//!     Bearer(token): Bearer,
//! ) -> Result<&'static str, StepUpRequired> {
//!     auth.require_auth_within(&token, Duration::from_secs(300))?;
//!     Ok("done")
//! }
//!
//! let verifier = Verifier::new(
//!     VerifierOptions::new("https://id.example.com", "https://api.example.com"),
//!     jwks,
//! )?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/transfer", post(transfer))
//!     .with_state(BearerAuth::new(Arc::new(verifier)));
//! # Ok::<(), tessera_verify::ConfigError>(())
//! ```
//!
//! The answers, following RFC 6750 §3:
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no `Authorization: Bearer` header | 401 | `Bearer` |
//! | an empty token, or several `Authorization` headers | 400 | `Bearer error="invalid_request"` |
//! | any verification failure, or a revoked token | 401 | `Bearer error="invalid_token"` |
//! | the revocation mirror is older than its bound (fail closed) | 503 | none (`Retry-After: 1`) |
//! | [`StepUpRequired`] | 401 | `Bearer error="insufficient_user_authentication", …` |
//! | [`InsufficientScope`] | 403 | `Bearer error="insufficient_scope", scope="…"` |
//!
//! The reason a token was refused is never sent (it would help an attacker); it is available
//! to the application through [`BearerAuth::on_rejection`] for its logs. Tokens are read from
//! the `Authorization` header only, never from the query string or a form body (RFC 6750 §2.2
//! and §2.3 allow them, but URLs end up in logs and browser history).

use crate::claims::AccessToken;
use crate::error::VerifyError;
use crate::freshness::{InsufficientScope, StepUpRequired};
use crate::revocation::{RevocationCheckError, RevocationMirror};
use crate::verifier::Verifier;
use ::axum::extract::{FromRef, FromRequestParts, Request, State};
use ::axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderMap, HeaderValue, StatusCode};
use ::axum::middleware::Next;
use ::axum::response::{IntoResponse, Response};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

type RejectionHook = Arc<dyn Fn(&BearerRejection) + Send + Sync>;

/// Where the keys come from.
#[derive(Clone, Debug)]
enum Keys {
    Static(Arc<Verifier>),
    #[cfg(feature = "remote")]
    Remote(Arc<crate::remote::RemoteVerifier>),
}

/// What every request's bearer token is checked against. Cheap to clone (a few `Arc`s).
#[derive(Clone)]
pub struct BearerAuth {
    keys: Keys,
    revocation: Option<(Arc<RevocationMirror>, Duration)>,
    on_rejection: Option<RejectionHook>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("keys", &self.keys)
            .field(
                "max_staleness",
                &self.revocation.as_ref().map(|(_, max)| max),
            )
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    /// Checks tokens with `verifier`'s keys (fixed, or replaced by you).
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self::with_keys(Keys::Static(verifier))
    }

    /// Checks tokens with keys fetched from the issuer (and refetched on an unknown `kid`).
    #[cfg(feature = "remote")]
    pub fn remote(verifier: Arc<crate::remote::RemoteVerifier>) -> Self {
        Self::with_keys(Keys::Remote(verifier))
    }

    fn with_keys(keys: Keys) -> Self {
        Self {
            keys,
            revocation: None,
            on_rejection: None,
        }
    }

    /// Also refuses revoked tokens, answering from `mirror` (kept current by
    /// [`FeedSync`](crate::feed_sync::FeedSync) or by you). If the mirror was not known current
    /// within `max_staleness`, every token is refused with `503` (fail closed): the API cannot
    /// tell whether it was revoked.
    pub fn with_revocation(
        mut self,
        mirror: Arc<RevocationMirror>,
        max_staleness: Duration,
    ) -> Self {
        self.revocation = Some((mirror, max_staleness));
        self
    }

    /// Calls `hook` with every refusal (to log its reason; the caller never sees it).
    pub fn on_rejection(mut self, hook: impl Fn(&BearerRejection) + Send + Sync + 'static) -> Self {
        self.on_rejection = Some(Arc::new(hook));
        self
    }

    /// The verifier whose keys, issuer, audience and clock are used.
    pub fn verifier(&self) -> &Verifier {
        match &self.keys {
            Keys::Static(verifier) => verifier,
            #[cfg(feature = "remote")]
            Keys::Remote(remote) => remote.verifier(),
        }
    }

    /// Demands that the user authenticated within `max_age`, as
    /// [`Verifier::require_auth_within`]; the error is an axum response (RFC 9470 step-up).
    ///
    /// # Errors
    ///
    /// [`StepUpRequired`].
    pub fn require_auth_within(
        &self,
        token: &AccessToken,
        max_age: Duration,
    ) -> Result<(), StepUpRequired> {
        self.verifier().require_auth_within(token, max_age)
    }

    /// Demands one of the `accepted` authentication levels, as [`Verifier::require_acr`]; the
    /// error is an axum response (RFC 9470 step-up).
    ///
    /// # Errors
    ///
    /// [`StepUpRequired`].
    pub fn require_acr(
        &self,
        token: &AccessToken,
        accepted: &[&str],
    ) -> Result<(), StepUpRequired> {
        self.verifier().require_acr(token, accepted)
    }

    /// Checks the bearer token in `headers`: present, valid, meant for this API and (with a
    /// mirror) not revoked.
    ///
    /// # Errors
    ///
    /// [`BearerRejection`], already reported to the [`on_rejection`](Self::on_rejection) hook.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<AccessToken, BearerRejection> {
        let result = self.check(headers).await;
        if let (Err(rejection), Some(hook)) = (&result, &self.on_rejection) {
            hook(rejection);
        }
        result
    }

    async fn check(&self, headers: &HeaderMap) -> Result<AccessToken, BearerRejection> {
        let token = bearer_token(headers)?;
        let token = match &self.keys {
            Keys::Static(verifier) => verifier.verify_access_token(token),
            #[cfg(feature = "remote")]
            Keys::Remote(remote) => remote.verify_access_token(token).await,
        }
        .map_err(BearerRejection::Invalid)?;
        if let Some((mirror, max_staleness)) = &self.revocation {
            mirror
                .check(&token, self.verifier().now_unix(), *max_staleness)
                .map_err(|err| match err {
                    RevocationCheckError::Revoked => BearerRejection::Revoked,
                    other => BearerRejection::RevocationUnknown(other),
                })?;
        }
        Ok(token)
    }
}

/// The token of the one `Authorization: Bearer …` header (the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(if headers.contains_key(AUTHORIZATION) {
            BearerRejection::Malformed("several Authorization headers")
        } else {
            BearerRejection::Missing
        });
    };
    let value = value
        .to_str()
        .map_err(|_| BearerRejection::Malformed("the Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Other schemes (Basic, DPoP, …) are not bearer credentials: ask for a bearer token.
        return Err(BearerRejection::Missing);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() {
        return Err(BearerRejection::Malformed("the bearer token is empty"));
    }
    Ok(token)
}

/// Why a request was refused. The response says only what RFC 6750 lets it say; the detail
/// ([`Display`](fmt::Display)) is for logs.
#[derive(Debug)]
#[non_exhaustive]
pub enum BearerRejection {
    /// No bearer token was sent.
    Missing,
    /// The `Authorization` header is unusable (`400 invalid_request`).
    Malformed(&'static str),
    /// The token failed verification.
    Invalid(VerifyError),
    /// The token was revoked.
    Revoked,
    /// The revocation mirror cannot tell (never synced, or older than its bound).
    RevocationUnknown(RevocationCheckError),
}

impl fmt::Display for BearerRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no bearer token"),
            Self::Malformed(why) => write!(f, "malformed Authorization header: {why}"),
            Self::Invalid(err) => write!(f, "invalid token: {err}"),
            Self::Revoked => f.write_str("the token was revoked"),
            Self::RevocationUnknown(err) => write!(f, "revocation state unknown: {err}"),
        }
    }
}

impl std::error::Error for BearerRejection {}

/// A `WWW-Authenticate`, `Cache-Control: no-store` response with an RFC 6750 JSON body.
fn challenge(
    status: StatusCode,
    www_authenticate: Option<String>,
    error: Option<&str>,
) -> Response {
    let mut response = match error {
        Some(error) => (
            status,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            serde_json::json!({ "error": error }).to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(WWW_AUTHENTICATE, value);
    }
    response
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Missing => challenge(StatusCode::UNAUTHORIZED, Some("Bearer".into()), None),
            Self::Malformed(_) => challenge(
                StatusCode::BAD_REQUEST,
                Some("Bearer error=\"invalid_request\"".into()),
                Some("invalid_request"),
            ),
            Self::Invalid(_) | Self::Revoked => challenge(
                StatusCode::UNAUTHORIZED,
                Some("Bearer error=\"invalid_token\"".into()),
                Some("invalid_token"),
            ),
            Self::RevocationUnknown(_) => {
                let mut response = challenge(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    Some("temporarily_unavailable"),
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
        }
    }
}

impl IntoResponse for StepUpRequired {
    fn into_response(self) -> Response {
        challenge(
            StatusCode::UNAUTHORIZED,
            Some(self.www_authenticate()),
            Some("insufficient_user_authentication"),
        )
    }
}

impl IntoResponse for InsufficientScope {
    fn into_response(self) -> Response {
        challenge(
            StatusCode::FORBIDDEN,
            Some(self.www_authenticate()),
            Some("insufficient_scope"),
        )
    }
}

/// A request's verified access token. As an extractor it checks the `Authorization` header
/// with the state's [`BearerAuth`] — unless [`require_bearer`] already did, in which case it
/// takes that token.
#[derive(Clone, Debug)]
pub struct Bearer(pub AccessToken);

impl<S> FromRequestParts<S> for Bearer
where
    BearerAuth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(bearer) = parts.extensions.get::<Bearer>() {
            return Ok(bearer.clone());
        }
        BearerAuth::from_ref(state)
            .authenticate(&parts.headers)
            .await
            .map(Bearer)
    }
}

/// Middleware that refuses every request without a valid bearer token, for a whole router:
/// `router.layer(axum::middleware::from_fn_with_state(auth, require_bearer))`. The verified
/// token is left in the request's extensions, where [`Bearer`] finds it.
pub async fn require_bearer(
    State(auth): State<BearerAuth>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.authenticate(request.headers()).await {
        Ok(token) => {
            request.extensions_mut().insert(Bearer(token));
            next.run(request).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_bearer_token_is_read_from_exactly_one_header() {
        assert_eq!(bearer_token(&headers(&["Bearer abc"])).unwrap(), "abc");
        assert_eq!(bearer_token(&headers(&["bearer  abc "])).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&headers(&[])),
            Err(BearerRejection::Missing)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Basic YTpi"])),
            Err(BearerRejection::Missing)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer"])),
            Err(BearerRejection::Malformed(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer   "])),
            Err(BearerRejection::Malformed(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(BearerRejection::Malformed(_))
        ));
    }
}
