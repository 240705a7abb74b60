//! Strict parsing of `application/x-www-form-urlencoded` request bodies.
//!
//! Stricter than a generic form extractor on purpose: RFC 6749 §3.2 forbids repeated parameters,
//! and a lossy UTF-8 decode would let two different byte strings compare equal.

use crate::error::OAuthError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use percent_encoding::percent_decode;
use std::collections::HashMap;

/// Parameters of a form body: each name at most once, values decoded as UTF-8. Empty values are
/// dropped, because RFC 6749 §3.1 says a parameter sent without a value is treated as omitted.
#[derive(Debug, Default)]
pub struct FormParams(HashMap<String, String>);

impl FormParams {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is missing")))
    }

    /// Parses a body. Repeated names, invalid percent-encoding into non-UTF-8, and bodies that
    /// are not UTF-8 are `invalid_request`.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))?;
        let mut params = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            if params.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "the {} parameter is repeated",
                    printable(&name)
                )));
            }
            if !value.is_empty() {
                params.insert(name, value);
            } else {
                // Remember the name so a later non-empty repeat is still caught.
                params.insert(name, String::new());
            }
        }
        params.retain(|_, v| !v.is_empty());
        Ok(Self(params))
    }

    /// Reads and parses the body of a form request: checks the content type and the size limit.
    pub async fn from_request(
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<Self, OAuthError> {
        let is_form = is_form_content_type(headers);
        if !is_form {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes: Bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| OAuthError::body_too_large(limit))?;
        Self::parse(&bytes)
    }
}

/// Whether the request says its body is `application/x-www-form-urlencoded` (parameters such as
/// `charset` are allowed).
pub fn is_form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn decode(raw: &str) -> Result<String, OAuthError> {
    let plus_as_space = raw.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::invalid_request("a form parameter is not valid UTF-8"))
}

/// Parameter names are echoed in error descriptions; keep them short and printable.
fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &[u8], expect: Result<&[(&str, &str)], &str>) {
        let got = FormParams::parse(body);
        match (got, expect) {
            (Ok(params), Ok(pairs)) => {
                assert_eq!(params.0.len(), pairs.len(), "{params:?}");
                for (k, v) in pairs {
                    assert_eq!(params.get(k), Some(*v));
                }
            }
            (Err(err), Err(fragment)) => {
                let description = err.description.unwrap_or_default();
                assert!(description.contains(fragment), "{description}");
            }
            (got, expect) => panic!("{:?}: got {got:?}, expected {expect:?}", body),
        }
    }

    #[test]
    fn form_rules() {
        check(b"a=1&b=two+words", Ok(&[("a", "1"), ("b", "two words")]));
        check(b"a=%41%20b&&c", Ok(&[("a", "A b")]));
        check(b"scope=", Ok(&[]));
        check(b"a=1&a=1", Err("repeated"));
        check(b"a=&a=1", Err("repeated"));
        check(b"a=1&a=", Err("repeated"));
        check(b"a=%FF", Err("UTF-8"));
        check(b"a=\xff", Err("UTF-8"));
        check(
            b"grant_type=client_credentials&scope=a%20b",
            Ok(&[("grant_type", "client_credentials"), ("scope", "a b")]),
        );
    }
}
