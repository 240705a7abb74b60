//! Why a token was refused, one enum per concern. Messages are for logs: an API answers every
//! refusal with the same `invalid_token`, so that a caller learns nothing from the difference.

use tessera_jose::JoseError;

/// A token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The JWS itself: size, encoding, header, algorithm, key or signature.
    #[error("signature: {0}")]
    Signature(#[from] JoseError),
    /// The `typ` header names another kind of token (an ID token presented as an access token,
    /// or the reverse), or is missing.
    #[error("wrong token type: expected {expected}, found {found:?}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// What the header said, if anything.
        found: Option<String>,
    },
    /// The claims broke a rule.
    #[error("claims: {0}")]
    Claims(#[from] ClaimsError),
}

/// A rule about the claims was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A required claim is absent.
    #[error("claim {0} is missing")]
    Missing(&'static str),
    /// A claim has the wrong JSON type (a string `exp`, a number `sub`, …).
    #[error("claim {0} has the wrong type")]
    WrongType(&'static str),
    /// `iss` is not exactly the expected issuer.
    #[error("issuer {found:?} is not the expected one")]
    WrongIssuer {
        /// The token's issuer.
        found: String,
    },
    /// `aud` does not contain the expected audience.
    #[error("the token is not meant for this audience")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// `nbf` is still ahead (beyond the leeway).
    #[error("not valid before {nbf}, now {now}")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// `iat` is in the future (beyond the leeway).
    #[error("issued in the future ({iat}), now {now}")]
    IssuedInTheFuture {
        /// The token's `iat`.
        iat: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The claims are not one JSON object of unique names in UTF-8.
    #[error("malformed claims: {0}")]
    Malformed(&'static str),
}

/// A [`Verifier`](crate::Verifier) was configured with something it cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer or audience is empty.
    #[error("the {0} must not be empty")]
    Empty(&'static str),
    /// The leeway exceeds [`MAX_LEEWAY`](crate::MAX_LEEWAY).
    #[error("a leeway of {0} s is more than the allowed maximum")]
    LeewayTooLarge(u64),
    /// No algorithm is allowed.
    #[error("at least one algorithm must be allowed")]
    NoAlgorithms,
}
