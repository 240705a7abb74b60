//! Keys from the issuer: [`RemoteVerifier`] finds the JWKS through OpenID Connect discovery,
//! fetches it over HTTPS, keeps it cached as long as the issuer says (`Cache-Control: max-age`,
//! bounded), and refetches it, rate limited, when a token names a key it has not seen yet (the
//! issuer rotated its keys).
//!
//! For offline use, with keys shipped alongside the application or fetched by other means, build
//! a plain [`Verifier::new`](crate::Verifier::new) from a static JWK Set instead.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tessera_verify::remote::RemoteVerifier;
//! use tessera_verify::VerifierOptions;
//!
//! let verifier = Arc::new(
//!     RemoteVerifier::discover(VerifierOptions::new(
//!         "https://id.example.com",
//!         "https://api.example.com",
//!     ))
//!     .await?,
//! );
//! // Refresh the keys in the background whenever the cached set expires.
//! let _refresher = verifier.spawn_refresh();
//! let token = verifier.verify_access_token("eyJ…").await?;
//! println!("hello {}", token.sub);
//! # Ok(())
//! # }
//! ```

use crate::claims::{AccessToken, IdToken};
use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, VerifyError};
use crate::http::{self, BodyError, UrlRefusal};
use crate::verifier::{Verifier, VerifierOptions};
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tessera_jose::{JoseError, JwkSet};

/// The shortest time between two fetches of the JWKS caused by tokens naming unknown keys
/// (30 s): a flood of tokens with made-up `kid`s costs the issuer at most one request per
/// interval.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The shortest time a fetched JWKS is kept (60 s), whatever `Cache-Control` says; also the
/// wait before retrying after a failed refresh.
pub const MIN_CACHE_LIFETIME: Duration = Duration::from_secs(60);

/// The longest time a fetched JWKS is kept (1 day), whatever `Cache-Control` says.
pub const MAX_CACHE_LIFETIME: Duration = Duration::from_secs(86_400);

/// How long a fetched JWKS is kept when the response has no `max-age` (5 minutes).
pub const DEFAULT_CACHE_LIFETIME: Duration = Duration::from_secs(300);

/// The default limit on the size of the discovery document and of the JWKS (1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How a [`RemoteVerifier`] talks to the issuer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// Allow plain `http` for the issuer and the `jwks_uri` on any host (default `false`: only
    /// loopback hosts such as `127.0.0.1`, `::1` and `localhost` may use `http`). Only for
    /// development: over plain HTTP anyone on the path can substitute their own keys.
    pub insecure_allow_http: bool,
    /// The limit for a whole request, connection included (default 10 s).
    pub timeout: Duration,
    /// The limit for establishing the connection (default 5 s).
    pub connect_timeout: Duration,
    /// The largest response body accepted, discovery document or JWKS (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: usize,
    /// The clock for token expiry, the cache lifetime and the refetch rate limit (default the
    /// system clock; tests inject one they can move).
    pub clock: Arc<dyn Clock>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            insecure_allow_http: false,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RemoteOptions {
    /// Sets [`insecure_allow_http`](Self::insecure_allow_http).
    pub fn insecure_allow_http(mut self, allow: bool) -> Self {
        self.insecure_allow_http = allow;
        self
    }

    /// Sets the request and connection timeouts.
    pub fn timeouts(mut self, timeout: Duration, connect_timeout: Duration) -> Self {
        self.timeout = timeout;
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets the largest response body accepted.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Sets the clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Discovering the issuer or fetching its keys failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The [`VerifierOptions`] are unusable.
    #[error("verifier options: {0}")]
    Config(#[from] ConfigError),
    /// A URL (the issuer's, or the discovered `jwks_uri`) does not parse.
    #[error("the {what} {url:?} is not a valid absolute URL")]
    InvalidUrl {
        /// Which URL: `"issuer"` or `"jwks_uri"`.
        what: &'static str,
        /// The text that was given.
        url: String,
    },
    /// A URL uses plain `http` for a host that is not loopback (without
    /// [`RemoteOptions::insecure_allow_http`]), or another scheme than `http`/`https`.
    #[error("the {what} {url} must use https (http only for loopback hosts)")]
    InsecureUrl {
        /// Which URL: `"issuer"` or `"jwks_uri"`.
        what: &'static str,
        /// The URL.
        url: String,
    },
    /// The request failed: connection, TLS, timeout, or reading the body.
    #[error("fetching {url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The issuer answered with a status other than 2xx (redirects are not followed).
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The response body is larger than [`RemoteOptions::max_response_bytes`].
    #[error("the response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The body is not the expected JSON (a discovery document with `issuer` and `jwks_uri`,
    /// or a JWK Set).
    #[error("the response from {url} is not the expected JSON: {source}")]
    Json {
        /// The URL requested.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The discovery document names another issuer than the configured one (OpenID Connect
    /// Discovery §4.3 demands exact equality).
    #[error("discovery names the issuer {found:?}, not the configured {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The discovery document's `issuer`.
        found: String,
    },
    /// The JWK Set holds no keys (the cached keys, if any, are kept).
    #[error("the JWK Set at {url} has no keys")]
    EmptyKeySet {
        /// The `jwks_uri`.
        url: String,
    },
}

/// The members of the discovery document this module reads.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// When the keys were last fetched and how long they stay fresh, in the clock's seconds.
#[derive(Debug)]
struct FetchState {
    /// The last fetch attempt, successful or not.
    last_fetch: i64,
    /// Until when the cached keys are fresh (after a failure: when to try again).
    fresh_until: i64,
}

/// A [`Verifier`] whose keys come from the issuer: found by discovery, cached, refreshed when
/// they expire and refetched (at most once per [`MIN_REFETCH_INTERVAL`]) when a token names an
/// unknown key. Share it in an `Arc`.
#[derive(Debug)]
pub struct RemoteVerifier {
    verifier: Verifier,
    http: reqwest::Client,
    jwks_uri: Url,
    max_response_bytes: usize,
    clock: Arc<dyn Clock>,
    state: Mutex<FetchState>,
    /// Bumped each time new keys are installed, so a caller that waited for another's refetch
    /// retries with the new keys instead of fetching again.
    generation: AtomicU64,
    fetches: AtomicU64,
    /// Held during every refetch: concurrent callers share one request.
    refresh: tokio::sync::Mutex<()>,
}

impl RemoteVerifier {
    /// Discovers the issuer with the default [`RemoteOptions`]: GETs
    /// `{issuer}/.well-known/openid-configuration`, checks that its `issuer` is exactly the
    /// configured one, and fetches the JWKS at its `jwks_uri`.
    ///
    /// # Errors
    ///
    /// [`RemoteError`] when the options are unusable, a URL is not https (http is allowed for
    /// loopback hosts), a request fails or answers too much, the issuer differs, or the JWKS
    /// is malformed or empty.
    pub async fn discover(options: VerifierOptions) -> Result<Self, RemoteError> {
        Self::discover_with(options, RemoteOptions::default()).await
    }

    /// As [`discover`](Self::discover), with explicit [`RemoteOptions`].
    ///
    /// # Errors
    ///
    /// As [`discover`](Self::discover).
    pub async fn discover_with(
        options: VerifierOptions,
        remote: RemoteOptions,
    ) -> Result<Self, RemoteError> {
        // Validates the options before any request.
        let verifier = Verifier::with_clock(options, JwkSet::default(), remote.clock.clone())?;
        let issuer = verifier.options().issuer.clone();
        let issuer_url = checked_url(&issuer, "issuer", remote.insecure_allow_http)?;
        let discovery_url = Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            issuer_url.as_str().trim_end_matches('/')
        ))
        .map_err(|_| RemoteError::InvalidUrl {
            what: "issuer",
            url: issuer.clone(),
        })?;
        let http =
            http::client(Some(remote.timeout), remote.connect_timeout).map_err(|source| {
                RemoteError::Http {
                    url: discovery_url.to_string(),
                    source,
                }
            })?;
        let (discovery, _): (Discovery, _) =
            get_json(&http, &discovery_url, remote.max_response_bytes).await?;
        if discovery.issuer != issuer {
            return Err(RemoteError::IssuerMismatch {
                expected: issuer,
                found: discovery.issuer,
            });
        }
        let jwks_uri = checked_url(&discovery.jwks_uri, "jwks_uri", remote.insecure_allow_http)?;
        let this = Self {
            verifier,
            http,
            jwks_uri,
            max_response_bytes: remote.max_response_bytes,
            clock: remote.clock,
            state: Mutex::new(FetchState {
                last_fetch: i64::MIN,
                fresh_until: i64::MIN,
            }),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
        };
        this.fetch_keys().await?;
        Ok(this)
    }

    /// The inner verifier, for the synchronous checks on a verified token
    /// ([`Verifier::require_auth_within`]) or a verification that must not wait on the network
    /// (it uses the cached keys and never refetches).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The discovered `jwks_uri`.
    pub fn jwks_uri(&self) -> &str {
        self.jwks_uri.as_str()
    }

    /// How many times the JWKS was requested so far, successfully or not (the first fetch by
    /// [`discover`](Self::discover) included).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Verifies an access token meant for this API, as [`Verifier::verify_access_token`]. If
    /// the cached keys have expired they are refreshed first (on failure the old ones are
    /// used); if the token names an unknown key, the JWKS is refetched once, unless the last
    /// fetch was less than [`MIN_REFETCH_INTERVAL`] ago.
    ///
    /// # Errors
    ///
    /// [`VerifyError`]; an unknown key after the refetch (or without one, when rate limited)
    /// is `VerifyError::Signature(JoseError::UnknownKey)`.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessToken, VerifyError> {
        self.verify_with(|v| v.verify_access_token(token)).await
    }

    /// Verifies an ID token issued to `client_id`, as [`Verifier::verify_id_token`], with the
    /// key handling of [`verify_access_token`](Self::verify_access_token).
    ///
    /// # Errors
    ///
    /// As [`verify_access_token`](Self::verify_access_token).
    pub async fn verify_id_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<IdToken, VerifyError> {
        self.verify_with(|v| v.verify_id_token(token, client_id))
            .await
    }

    /// Refetches the JWKS now (waiting for a refetch already under way), regardless of the
    /// cache lifetime and the rate limit.
    ///
    /// # Errors
    ///
    /// [`RemoteError`] when the fetch fails; the cached keys are kept.
    pub async fn refresh(&self) -> Result<(), RemoteError> {
        let _guard = self.refresh.lock().await;
        self.fetch_keys().await
    }

    /// Starts a task (on the current tokio runtime) that refreshes the keys each time the
    /// cached set expires (after a failure, again [`MIN_CACHE_LIFETIME`] later). The task holds
    /// no strong reference while it waits: it ends at its next wake-up once the verifier is
    /// dropped; abort the handle to end it at once.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let wait = match weak.upgrade() {
                    Some(this) => this.until_stale(),
                    None => return,
                };
                tokio::time::sleep(wait).await;
                let Some(this) = weak.upgrade() else { return };
                let _guard = this.refresh.lock().await;
                if this.until_stale().is_zero() {
                    // A failure is recorded in the state (retry after the minimum lifetime).
                    let _ = this.fetch_keys().await;
                }
            }
        })
    }

    async fn verify_with<T>(
        &self,
        verify: impl Fn(&Verifier) -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        if self.until_stale().is_zero() {
            let _guard = self.refresh.lock().await;
            if self.until_stale().is_zero() {
                // On failure keep verifying with the keys we have: an issuer outage should not
                // take the API down while the published keys are still valid.
                let _ = self.fetch_keys().await;
            }
        }
        let seen = self.generation.load(Ordering::Acquire);
        match verify(&self.verifier) {
            Err(VerifyError::Signature(JoseError::UnknownKey)) if self.refetch(seen).await => {
                verify(&self.verifier)
            }
            other => other,
        }
    }

    /// After a token named an unknown key under the keys of generation `seen`: whether there
    /// are new keys worth retrying with (fetched by us now, or by someone else meanwhile).
    async fn refetch(&self, seen: u64) -> bool {
        let _guard = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return true;
        }
        let last_fetch = self.lock_state().last_fetch;
        let interval = i64::try_from(MIN_REFETCH_INTERVAL.as_secs()).unwrap_or(i64::MAX);
        if self.clock.now_unix().saturating_sub(last_fetch) < interval {
            return false;
        }
        self.fetch_keys().await.is_ok()
    }

    /// Time left until the cached keys expire (zero when they have).
    fn until_stale(&self) -> Duration {
        let left = self
            .lock_state()
            .fresh_until
            .saturating_sub(self.clock.now_unix());
        Duration::from_secs(u64::try_from(left).unwrap_or(0))
    }

    fn lock_state(&self) -> MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fetches the JWKS and installs it; the caller holds `self.refresh` (or is `discover`).
    async fn fetch_keys(&self) -> Result<(), RemoteError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now_unix();
        let result = get_json::<JwkSet>(&self.http, &self.jwks_uri, self.max_response_bytes)
            .await
            .and_then(|(jwks, lifetime)| {
                if jwks.keys.is_empty() {
                    Err(RemoteError::EmptyKeySet {
                        url: self.jwks_uri.to_string(),
                    })
                } else {
                    Ok((jwks, lifetime))
                }
            });
        let mut state = self.lock_state();
        state.last_fetch = now;
        match result {
            Ok((jwks, lifetime)) => {
                self.verifier.replace_keys(jwks);
                self.generation.fetch_add(1, Ordering::AcqRel);
                state.fresh_until = now.saturating_add(secs(lifetime));
                Ok(())
            }
            Err(err) => {
                state.fresh_until = now.saturating_add(secs(MIN_CACHE_LIFETIME));
                Err(err)
            }
        }
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Parses `url` with the crate's URL policy ([`crate::http::checked_url`]), naming the URL
/// `what` in the error.
fn checked_url(url: &str, what: &'static str, allow_http: bool) -> Result<Url, RemoteError> {
    http::checked_url(url, allow_http).map_err(|refusal| match refusal {
        UrlRefusal::Invalid => RemoteError::InvalidUrl {
            what,
            url: url.to_owned(),
        },
        UrlRefusal::Insecure => RemoteError::InsecureUrl {
            what,
            url: url.to_owned(),
        },
    })
}

/// How long to keep a response with this `Cache-Control`: its `max-age` (`no-store` and
/// `no-cache` count as 0) bounded to [`MIN_CACHE_LIFETIME`]..=[`MAX_CACHE_LIFETIME`], or
/// [`DEFAULT_CACHE_LIFETIME`] without one.
fn cache_lifetime(cache_control: Option<&str>) -> Duration {
    let mut max_age = None;
    for directive in cache_control.unwrap_or("").split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => max_age = Some(0),
            "max-age" if max_age.is_none() => {
                let value = value.trim().trim_matches('"');
                // An unparsable max-age is treated as stale (RFC 9111 §4.2.1); a huge one is
                // capped below anyway.
                max_age = Some(
                    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        value.parse::<u64>().unwrap_or(u64::MAX)
                    } else {
                        0
                    },
                );
            }
            _ => {}
        }
    }
    match max_age {
        None => DEFAULT_CACHE_LIFETIME,
        Some(secs) => Duration::from_secs(secs).clamp(MIN_CACHE_LIFETIME, MAX_CACHE_LIFETIME),
    }
}

/// GETs `url` and parses the JSON body, at most `limit` bytes; returns it with the cache
/// lifetime its `Cache-Control` allows.
async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    limit: usize,
) -> Result<(T, Duration), RemoteError> {
    let http_error = |source| RemoteError::Http {
        url: url.to_string(),
        source,
    };
    let too_large = || RemoteError::TooLarge {
        url: url.to_string(),
        limit,
    };
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(http_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(RemoteError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let lifetime = cache_lifetime(
        response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
    );
    let body = http::read_body(&mut response, limit)
        .await
        .map_err(|err| match err {
            BodyError::Http(source) => http_error(source),
            BodyError::TooLarge => too_large(),
        })?;
    let value = serde_json::from_slice(&body).map_err(|source| RemoteError::Json {
        url: url.to_string(),
        source,
    })?;
    Ok((value, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetime_is_bounded() {
        let secs = |h: Option<&str>| cache_lifetime(h).as_secs();
        assert_eq!(secs(None), 300);
        assert_eq!(secs(Some("public")), 300);
        assert_eq!(secs(Some("public, max-age=300")), 300);
        assert_eq!(secs(Some("Max-Age=\"7200\"")), 7200);
        assert_eq!(secs(Some("max-age=5")), 60);
        assert_eq!(secs(Some("max-age=0")), 60);
        assert_eq!(secs(Some("no-store")), 60);
        assert_eq!(secs(Some("max-age=3600, no-cache")), 60);
        assert_eq!(secs(Some("max-age=99999999")), 86_400);
        assert_eq!(secs(Some("max-age=999999999999999999999999")), 86_400);
        assert_eq!(secs(Some("max-age=soon")), 60);
    }

    #[test]
    fn http_only_for_loopback_unless_allowed() {
        for ok in [
            "https://id.example.com",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/x",
            "http://localhost:3000",
            "http://api.localhost",
        ] {
            assert!(checked_url(ok, "issuer", false).is_ok(), "{ok}");
        }
        for bad in [
            "http://id.example.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "ftp://id.example.com",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(
                    checked_url(bad, "jwks_uri", false),
                    Err(RemoteError::InsecureUrl { .. } | RemoteError::InvalidUrl { .. })
                ),
                "{bad}"
            );
        }
        assert!(checked_url("http://id.example.com", "issuer", true).is_ok());
        assert!(matches!(
            checked_url("not a url", "issuer", false),
            Err(RemoteError::InvalidUrl { .. })
        ));
    }

    /// A one-shot-per-connection HTTP server on a thread: `routes(base)` maps paths to raw
    /// responses; anything else is a 404.
    fn serve(routes: impl FnOnce(&str) -> Vec<(String, String)>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request);
                let path = request.split(' ').nth(1).unwrap_or("");
                let response = routes
                    .iter()
                    .find(|(p, _)| p == path)
                    .map_or_else(|| response("404 Not Found", "", "{}"), |(_, r)| r.clone());
                let _ = stream.write_all(response.as_bytes());
            }
        });
        base
    }

    fn response(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    }

    /// A response without `Content-Length`, its body delimited by closing the connection.
    fn close_delimited(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{body}")
    }

    fn discovery(issuer: &str, jwks_uri: &str) -> String {
        response(
            "200 OK",
            "",
            &serde_json::json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string(),
        )
    }

    fn jwks_body() -> String {
        let key = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256, "k1").unwrap();
        serde_json::to_string(&JwkSet {
            keys: vec![key.public_jwk().clone()],
        })
        .unwrap()
    }

    const DISCOVERY: &str = "/.well-known/openid-configuration";

    async fn discover_at(base: &str, remote: RemoteOptions) -> Result<RemoteVerifier, RemoteError> {
        RemoteVerifier::discover_with(VerifierOptions::new(base, "api"), remote).await
    }

    #[tokio::test]
    async fn discovery_and_cache_lifetime_over_http() {
        let jwks = jwks_body();
        let base = serve(|base| {
            vec![
                (DISCOVERY.into(), discovery(base, &format!("{base}/keys"))),
                (
                    "/keys".into(),
                    response("200 OK", "Cache-Control: public, max-age=7200\r\n", &jwks),
                ),
            ]
        });
        let remote = discover_at(&base, RemoteOptions::default()).await.unwrap();
        assert_eq!(remote.fetch_count(), 1);
        assert_eq!(remote.jwks_uri(), format!("{base}/keys"));
        let left = remote.until_stale().as_secs();
        assert!((7190..=7200).contains(&left), "{left}");
    }

    #[tokio::test]
    async fn hostile_or_broken_answers_are_refused() {
        let jwks = jwks_body();
        // The discovered jwks_uri is plain http to another host.
        let base = serve(|base| {
            vec![(
                DISCOVERY.into(),
                discovery(base, "http://keys.example.com/"),
            )]
        });
        let err = discover_at(&base, RemoteOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RemoteError::InsecureUrl {
                    what: "jwks_uri",
                    ..
                }
            ),
            "{err}"
        );

        // Redirects are not followed.
        let base = serve(|_| {
            vec![(
                DISCOVERY.into(),
                response(
                    "302 Found",
                    "Location: https://elsewhere.example.com/\r\n",
                    "",
                ),
            )]
        });
        let err = discover_at(&base, RemoteOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, RemoteError::Status { status: 302, .. }),
            "{err}"
        );

        // Too large, announced by Content-Length or not.
        let limited = || RemoteOptions::default().max_response_bytes(100);
        for keys in [response("200 OK", "", &jwks), close_delimited(&jwks)] {
            let base = serve(|base| {
                vec![
                    (DISCOVERY.into(), discovery(base, &format!("{base}/keys"))),
                    ("/keys".into(), keys),
                ]
            });
            assert!(jwks.len() > 100);
            let err = discover_at(&base, limited()).await.unwrap_err();
            assert!(
                matches!(err, RemoteError::TooLarge { limit: 100, .. }),
                "{err}"
            );
            // Within the default limit the same answer is fine.
            discover_at(&base, RemoteOptions::default()).await.unwrap();
        }

        // An empty key set, and JSON that is not a key set.
        for (keys, empty) in [(r#"{"keys":[]}"#, true), (r#"{"keys":"none"}"#, false)] {
            let base = serve(|base| {
                vec![
                    (DISCOVERY.into(), discovery(base, &format!("{base}/keys"))),
                    ("/keys".into(), response("200 OK", "", keys)),
                ]
            });
            let err = discover_at(&base, RemoteOptions::default())
                .await
                .unwrap_err();
            if empty {
                assert!(matches!(err, RemoteError::EmptyKeySet { .. }), "{err}");
            } else {
                assert!(matches!(err, RemoteError::Json { .. }), "{err}");
            }
        }
    }

    #[tokio::test]
    async fn an_oversized_discovery_document_is_refused() {
        let jwks = jwks_body();
        let base = serve(|base| {
            vec![
                (DISCOVERY.into(), discovery(base, &format!("{base}/keys"))),
                ("/keys".into(), response("200 OK", "", &jwks)),
            ]
        });
        let document = serde_json::json!({"issuer": base, "jwks_uri": format!("{base}/keys")});
        let size = document.to_string().len();
        // The limit sits between the discovery document and the (larger) JWKS, so only the
        // discovery document can be the one refused.
        assert!(jwks.len() > size);
        let err = discover_at(&base, RemoteOptions::default().max_response_bytes(size - 1))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RemoteError::TooLarge { url, limit } if *limit == size - 1 && url.ends_with(DISCOVERY)),
            "{err}"
        );
        discover_at(&base, RemoteOptions::default()).await.unwrap();
    }

    #[tokio::test]
    async fn a_non_loopback_http_issuer_is_refused_before_any_request() {
        let err = RemoteVerifier::discover(VerifierOptions::new(
            "http://id.example.invalid",
            "https://api.example.com",
        ))
        .await
        .unwrap_err();
        assert!(
            matches!(err, RemoteError::InsecureUrl { what: "issuer", .. }),
            "{err}"
        );
        let err = RemoteVerifier::discover(VerifierOptions::new("", "aud"))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            RemoteError::Config(ConfigError::Empty("issuer"))
        ));
    }
}
