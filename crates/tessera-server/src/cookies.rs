//! Browser cookies: the session cookie, the CSRF cookie and the device cookie.
//!
//! Both use the `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no
//! `Domain`, so no subdomain can set or shadow them. Browsers treat `http://localhost` and
//! `http://127.0.0.1` as secure contexts, so this works on a laptop too.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use tessera_core::BearerSecret;

/// Holds the browser-session secret.
pub const SESSION: &str = "__Host-tessera_session";
/// Holds the browser's CSRF token (double-submit: the login and consent forms repeat it).
pub const CSRF: &str = "__Host-tessera_csrf";
/// Holds the sealed device cookie of the account this browser last signed in to
/// (`crate::authn::device_cookie`).
pub const DEVICE: &str = "__Host-tessera_device";
/// Bytes of entropy in cookie secrets.
pub const COOKIE_SECRET_BYTES: usize = 32;

/// The value of cookie `name`, if the request carries exactly one.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == name {
                    if found.is_some() {
                        // Two cookies of one name: someone is playing games; trust neither.
                        return None;
                    }
                    found = Some(v.to_owned());
                }
            }
        }
    }
    found.filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A `Set-Cookie` value for a secure, HTTP-only, same-site-lax cookie living `max_age_secs`.
pub fn set(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}"
    ))
    .expect("cookie names and base64url values are valid header text")
}

/// The browser's CSRF token: the existing cookie's, or a new one with the `Set-Cookie` to send.
pub fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match read(headers, CSRF) {
        Some(token) => (token, None),
        None => {
            let token = BearerSecret::generate(COOKIE_SECRET_BYTES)
                .expose()
                .to_owned();
            // A day: long enough for any sign-in page left open, renewed by every new one.
            let cookie = set(CSRF, &token, 86_400);
            (token, Some(cookie))
        }
    }
}

/// [`csrf_token`] for a page: the token to embed in its forms, and the headers to send with it
/// (the `Set-Cookie` of a new token; none when the browser has one).
pub fn csrf_for_page(headers: &HeaderMap) -> (String, Vec<(HeaderName, HeaderValue)>) {
    let (token, cookie) = csrf_token(headers);
    let extra = cookie
        .map(|cookie| vec![(header::SET_COOKIE, cookie)])
        .unwrap_or_default();
    (token, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-tessera_session=abc"),
        );
        assert_eq!(read(&headers, SESSION).as_deref(), Some("abc"));
        assert_eq!(read(&headers, CSRF), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-tessera_session=evil"),
        );
        assert_eq!(read(&headers, SESSION), None, "duplicates are refused");
    }

    #[test]
    fn cookies_are_host_prefixed_secure_http_only_lax() {
        let value = set(SESSION, "v", 60);
        assert_eq!(
            value.to_str().unwrap(),
            "__Host-tessera_session=v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=60"
        );
    }
}
