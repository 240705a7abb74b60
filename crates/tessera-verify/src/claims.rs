//! The claims of verified tokens, read strictly from the JSON object: a claim of the wrong JSON
//! type is an error, never "absent".

use crate::error::ClaimsError;
use crate::freshness::InsufficientScope;
use serde_json::{Map, Value};

/// A verified access token (RFC 9068) from Tessera.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AccessToken {
    /// The user's id, or the client's id for a `client_credentials` token.
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The token's unique id.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// The granted scopes (empty when none).
    pub scopes: Vec<String>,
    /// The browser session (device sign-in) for a user's token; `None` for `client_credentials`.
    pub sid: Option<String>,
    /// When the user last authenticated (seconds since the epoch), for a user's token.
    pub auth_time: Option<i64>,
    /// The user's roles, when the `roles` scope was granted.
    pub roles: Vec<String>,
    /// The authentication level the sign-in reached (`acr`, e.g. [`ACR_MFA`](crate::ACR_MFA)),
    /// for a user's token.
    pub acr: Option<String>,
    /// How the user authenticated (`amr`, RFC 8176: `pwd`, `otp`, `mfa`, …), for a user's token.
    pub amr: Vec<String>,
    /// Every claim, for anything not modelled above.
    pub claims: Map<String, Value>,
}

impl AccessToken {
    /// Whether the token was issued to a user (it has a session), rather than to a client acting
    /// for itself.
    pub fn is_user_token(&self) -> bool {
        self.sid.is_some()
    }

    /// Whether the scope `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the user has the role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Demands the scope `scope`.
    ///
    /// # Errors
    ///
    /// [`InsufficientScope`] (answer `403`).
    pub fn require_scope(&self, scope: &str) -> Result<(), InsufficientScope> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(InsufficientScope {
                scope: scope.to_owned(),
            })
        }
    }

    /// Demands the role `role` (carried when the `roles` scope was granted).
    ///
    /// # Errors
    ///
    /// [`InsufficientScope`] naming the `roles` scope (answer `403`).
    pub fn require_role(&self, role: &str) -> Result<(), InsufficientScope> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(InsufficientScope {
                scope: "roles".to_owned(),
            })
        }
    }
}

/// A verified ID token (OpenID Connect Core §2) from Tessera, for a client that wants to read
/// the user's authentication facts (for example before a sensitive operation).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct IdToken {
    /// The user's id.
    pub sub: String,
    /// When the user last authenticated (seconds since the epoch).
    pub auth_time: i64,
    /// The browser session.
    pub sid: Option<String>,
    /// The nonce the client sent, on a sign-in (never on a refresh).
    pub nonce: Option<String>,
    /// Every claim.
    pub claims: Map<String, Value>,
}

impl IdToken {
    /// Tessera's claim saying whether the user can reauthenticate at all (has a password or
    /// another way to sign in again), read under the issuer's claim namespace (for example
    /// `https://tessera.dev/claims/`). `None` when absent.
    pub fn can_reauthenticate(&self, namespace: &str) -> Option<bool> {
        self.claims
            .get(&format!("{namespace}can_reauthenticate"))
            .and_then(Value::as_bool)
    }
}

/// Reads claims out of the JSON object, with the type rules of JWT (RFC 7519).
pub(crate) struct ClaimReader<'a>(pub(crate) &'a Map<String, Value>);

impl ClaimReader<'_> {
    pub(crate) fn string(&self, name: &'static str) -> Result<Option<String>, ClaimsError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ClaimsError::WrongType(name)),
        }
    }

    pub(crate) fn required_string(&self, name: &'static str) -> Result<String, ClaimsError> {
        self.string(name)?.ok_or(ClaimsError::Missing(name))
    }

    /// A NumericDate: a JSON number (RFC 7519 §2 allows fractions; they are truncated). A
    /// string, even one of digits, is the wrong type.
    pub(crate) fn date(&self, name: &'static str) -> Result<Option<i64>, ClaimsError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && f.abs() < 1e15)
                        .map(|f| f.trunc() as i64)
                })
                .map(Some)
                .ok_or(ClaimsError::WrongType(name)),
            Some(_) => Err(ClaimsError::WrongType(name)),
        }
    }

    pub(crate) fn required_date(&self, name: &'static str) -> Result<i64, ClaimsError> {
        self.date(name)?.ok_or(ClaimsError::Missing(name))
    }

    /// A list of strings: a JSON array of strings (or absent).
    pub(crate) fn strings(&self, name: &'static str) -> Result<Vec<String>, ClaimsError> {
        match self.0.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(ClaimsError::WrongType(name)),
            Some(_) => Err(ClaimsError::WrongType(name)),
        }
    }

    /// `aud`: a string or an array of strings, required.
    pub(crate) fn audiences(&self) -> Result<Vec<String>, ClaimsError> {
        match self.0.get("aud") {
            None => Err(ClaimsError::Missing("aud")),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(_)) => self.strings("aud"),
            Some(_) => Err(ClaimsError::WrongType("aud")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reader(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn dates_must_be_numbers() {
        let claims = reader(json!({"a": 5, "b": 5.9, "c": "5", "d": null, "e": 1e300, "f": -3}));
        let r = ClaimReader(&claims);
        assert_eq!(r.date("a"), Ok(Some(5)));
        assert_eq!(r.date("b"), Ok(Some(5)));
        assert_eq!(r.date("c"), Err(ClaimsError::WrongType("c")));
        assert_eq!(r.date("d"), Err(ClaimsError::WrongType("d")));
        assert_eq!(r.date("e"), Err(ClaimsError::WrongType("e")));
        assert_eq!(r.date("f"), Ok(Some(-3)));
        assert_eq!(r.date("missing"), Ok(None));
        assert_eq!(
            r.required_date("missing"),
            Err(ClaimsError::Missing("missing"))
        );
    }

    #[test]
    fn audiences_and_lists() {
        let claims = reader(json!({"aud": "x", "roles": ["a", "b"], "bad": ["a", 1]}));
        let r = ClaimReader(&claims);
        assert_eq!(r.audiences(), Ok(vec!["x".to_owned()]));
        assert_eq!(r.strings("roles"), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(r.strings("bad"), Err(ClaimsError::WrongType("bad")));
        let claims = reader(json!({"aud": ["x", 2]}));
        assert_eq!(
            ClaimReader(&claims).audiences(),
            Err(ClaimsError::WrongType("aud"))
        );
        let claims = reader(json!({"aud": 7}));
        assert_eq!(
            ClaimReader(&claims).audiences(),
            Err(ClaimsError::WrongType("aud"))
        );
        let claims = reader(json!({}));
        assert_eq!(
            ClaimReader(&claims).audiences(),
            Err(ClaimsError::Missing("aud"))
        );
    }
}
