//! Answers for an API to send when a valid token is not enough: a step-up challenge (RFC 9470)
//! when the user authenticated too long ago, and `insufficient_scope` (RFC 6750 §3.1).

use std::fmt;

/// The user must authenticate again (RFC 9470): answer `401` with
/// [`www_authenticate`](Self::www_authenticate). The app then sends the user through Tessera
/// with `max_age` (or `prompt=login`) and retries with the new token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUpRequired {
    /// The longest acceptable time since authentication, in seconds.
    pub max_age: u64,
    /// When the user last authenticated, if the token says (`None` for a token without
    /// `auth_time`, such as a `client_credentials` token).
    pub auth_time: Option<i64>,
}

impl StepUpRequired {
    /// The `WWW-Authenticate` header value: `Bearer error="insufficient_user_authentication",
    /// error_description="…", max_age="N"`.
    pub fn www_authenticate(&self) -> String {
        format!(
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"A more recent authentication is required\", max_age=\"{}\"",
            self.max_age
        )
    }
}

impl fmt::Display for StepUpRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "authentication older than {} s", self.max_age)
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
            max_age: 300,
            auth_time: Some(1),
        };
        assert_eq!(
            step_up.www_authenticate(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A more recent authentication is required\", max_age=\"300\""
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
