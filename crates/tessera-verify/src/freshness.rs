//! Answers for an API to send when a valid token is not enough: a step-up challenge (RFC 9470)
//! when the user authenticated too long ago or not strongly enough, and `insufficient_scope`
//! (RFC 6750 §3.1).

use std::fmt;

/// The `acr` of a Tessera sign-in with one factor (the password).
pub const ACR_PASSWORD: &str = "urn:tessera:acr:password";
/// The `acr` of a Tessera sign-in with two factors of different kinds (RFC 9470 step-up target
/// for a sensitive operation that needs a second factor).
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
/// The `acr` of a Tessera sign-in with a passkey: phishing-resistant, and multi-factor (a
/// passkey is accepted only with user verification). It includes [`ACR_MFA`]: an API that
/// demands a second factor accepts both, `require_acr(token, &[ACR_MFA, ACR_PHR])`.
pub const ACR_PHR: &str = "urn:tessera:acr:phr";

/// The user must authenticate again, more recently or more strongly (RFC 9470): answer `401`
/// with [`www_authenticate`](Self::www_authenticate). The app then sends the user through
/// Tessera with `max_age` (or `prompt=login`) and/or `acr_values`, and retries with the new
/// token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUpRequired {
    /// The longest acceptable time since authentication, in seconds, when recency was asked.
    pub max_age: Option<u64>,
    /// The acceptable `acr` values (space-separated), when a level was asked.
    pub acr_values: Option<String>,
    /// When the user last authenticated, if the token says (`None` for a token without
    /// `auth_time`, such as a `client_credentials` token).
    pub auth_time: Option<i64>,
}

impl StepUpRequired {
    /// The `WWW-Authenticate` header value (RFC 9470 §3): `Bearer
    /// error="insufficient_user_authentication", error_description="…"`, then `acr_values="…"`
    /// and/or `max_age="N"`.
    pub fn www_authenticate(&self) -> String {
        let description = if self.acr_values.is_some() {
            "A stronger authentication is required"
        } else {
            "A more recent authentication is required"
        };
        let mut value = format!(
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"{description}\""
        );
        if let Some(acr_values) = &self.acr_values {
            value.push_str(&format!(
                ", acr_values=\"{}\"",
                acr_values.replace(['"', '\\'], "")
            ));
        }
        if let Some(max_age) = self.max_age {
            value.push_str(&format!(", max_age=\"{max_age}\""));
        }
        value
    }
}

impl fmt::Display for StepUpRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.acr_values, self.max_age) {
            (Some(acr), Some(max_age)) => {
                write!(f, "authentication at {acr} within {max_age} s required")
            }
            (Some(acr), None) => write!(f, "authentication at {acr} required"),
            (None, Some(max_age)) => write!(f, "authentication older than {max_age} s"),
            (None, None) => f.write_str("a new authentication is required"),
        }
    }
}

impl std::error::Error for StepUpRequired {}

/// The token lacks a scope or role the operation needs: answer `403` with
/// [`www_authenticate`](Self::www_authenticate).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InsufficientScope {
    /// The scope that was required (for a role, the `roles` scope).
    pub scope: String,
}

impl InsufficientScope {
    /// The `WWW-Authenticate` header value: `Bearer error="insufficient_scope", scope="…"`.
    pub fn www_authenticate(&self) -> String {
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\"",
            self.scope.replace(['"', '\\'], "")
        )
    }
}

impl fmt::Display for InsufficientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scope {} is required", self.scope)
    }
}

impl std::error::Error for InsufficientScope {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_9470_and_6750() {
        let step_up = StepUpRequired {
            max_age: Some(300),
            acr_values: None,
            auth_time: Some(1),
        };
        assert_eq!(
            step_up.www_authenticate(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A more recent authentication is required\", max_age=\"300\""
        );
        let stronger = StepUpRequired {
            max_age: None,
            acr_values: Some(ACR_MFA.into()),
            auth_time: Some(1),
        };
        assert_eq!(
            stronger.www_authenticate(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger authentication is required\", acr_values=\"urn:tessera:acr:mfa\""
        );
        let scope = InsufficientScope {
            scope: "orders:write\"".into(),
        };
        assert_eq!(
            scope.www_authenticate(),
            "Bearer error=\"insufficient_scope\", scope=\"orders:write\""
        );
    }
}
