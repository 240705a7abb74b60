//! The one HTTP helper behind [`RemoteVerifier`](crate::remote::RemoteVerifier) (discovery and
//! the JWKS) and [`FeedSync`](crate::feed_sync::FeedSync) (the revocation feed), so both follow
//! the same rules:
//!
//! - a URL must be `https`, or `http` for a loopback host (`127.0.0.0/8`, `::1`, `localhost`),
//!   unless the caller opted into `insecure_allow_http`; a refused URL is refused before any
//!   request is built, so no credential is ever sent to it;
//! - redirects are never followed (a 3xx is an error status): the URL that was checked is the
//!   only one that receives the request and its credentials; a response that nevertheless came
//!   from another URL (a caller's own client that follows redirects) is checked again;
//! - every body is read chunk by chunk and refused as soon as it passes its size limit, so an
//!   oversized body is never held in memory whole;
//! - one client configuration: no redirects, a connection timeout, this library's user agent,
//!   and TLS by rustls on aws-lc-rs with the webpki roots ([`https_client_builder`]).

use reqwest::{Response, Url};
use rustls::{ClientConfig, RootCertStore};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why a URL is refused by [`checked_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlRefusal {
    /// Not an absolute URL with a host.
    Invalid,
    /// Plain `http` to a host that is not loopback (without `insecure_allow_http`), or another
    /// scheme than `http`/`https`.
    Insecure,
}

/// Parses `url` and demands `https`, or `http` for a loopback host (or with `allow_http`).
pub(crate) fn checked_url(url: &str, allow_http: bool) -> Result<Url, UrlRefusal> {
    let parsed = Url::parse(url)
        .ok()
        .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or(UrlRefusal::Invalid)?;
    if url_allowed(&parsed, allow_http) {
        Ok(parsed)
    } else {
        Err(UrlRefusal::Insecure)
    }
}

/// Whether an already parsed URL passes the scheme rule of [`checked_url`].
pub(crate) fn url_allowed(url: &Url, allow_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_http || is_loopback(url),
        _ => false,
    }
}

/// `localhost` (and its subdomains, RFC 6761), `127.0.0.0/8` and `::1`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A reqwest client builder whose TLS is rustls on aws-lc-rs, TLS 1.3 and 1.2, the Mozilla
/// roots of `webpki-roots` (what reqwest's `rustls-tls` trusts), certificate and host name
/// verification on, ALPN `h2` then `http/1.1` as reqwest offers them.
///
/// The workspace's reqwest has no crypto provider of its own (`rustls-tls` would bring ring),
/// and a library must not install a process-wide default, so every client of this crate is
/// built from here. reqwest ignores its own TLS settings (`add_root_certificate`, …) on such a
/// builder.
pub(crate) fn https_client_builder() -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // Fails only for a provider without the cipher suites or key exchanges of TLS 1.2 and
        // 1.3, which aws-lc-rs's default provider has: a constant, like reqwest's own `expect`.
        .expect("aws-lc-rs's default provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder().use_preconfigured_tls(tls)
}

/// The client configuration every request of this crate uses: redirects disabled (see the
/// module documentation), a connection timeout, this library's user agent, TLS from
/// [`https_client_builder`]. A total `timeout` is set only where a response is expected to end
/// (discovery and the JWKS); the feed's stream stays open, so its requests carry their own
/// timeouts instead.
pub(crate) fn client(
    timeout: Option<Duration>,
    connect_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = https_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .user_agent(concat!("tessera-verify/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build()
}

/// Why a body could not be read by [`read_body`].
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The transport failed while reading.
    Http(reqwest::Error),
    /// The body is (or announces itself as) larger than the limit.
    TooLarge,
}

/// Reads `response`'s body, at most `limit` bytes: refused up front when `Content-Length`
/// announces more, and otherwise as soon as the chunks read so far pass the limit.
pub(crate) async fn read_body(response: &mut Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL policy as a table: each row would flip if its rule were removed.
    #[test]
    fn https_only_except_loopback_unless_allowed() {
        for ok in [
            "https://id.example.com",
            "https://id.example.com:8443/x",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/x",
            "http://localhost:3000",
            "http://LOCALHOST.",
            "http://api.localhost",
        ] {
            assert_eq!(checked_url(ok, false).map(|_| ()), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://id.example.com",
            "http://10.0.0.1",
            "http://[::2]",
            "http://0.0.0.0",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "ftp://id.example.com",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                checked_url(bad, false).map(|_| ()),
                Err(if bad.starts_with("file") {
                    UrlRefusal::Invalid
                } else {
                    UrlRefusal::Insecure
                }),
                "{bad}"
            );
        }
        // The opt-in lets plain http through to any host, but no other scheme.
        assert!(checked_url("http://example.com", true).is_ok());
        assert!(checked_url("http://10.0.0.1/feed", true).is_ok());
        assert_eq!(
            checked_url("ftp://example.com", true).map(|_| ()),
            Err(UrlRefusal::Insecure)
        );
        for invalid in ["not a url", "", "http://", "/relative"] {
            assert_eq!(
                checked_url(invalid, true).map(|_| ()),
                Err(UrlRefusal::Invalid),
                "{invalid}"
            );
        }
    }
}
