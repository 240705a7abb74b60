//! PKCE (RFC 7636) with the `S256` method only; `plain` gives no protection against an attacker
//! who can read the authorization request, so it is refused.

use aws_lc_rs::{constant_time, digest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// A method other than `S256`.
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    /// The challenge is not 43 base64url characters (a SHA-256 digest).
    #[error("code_challenge must be the base64url SHA-256 of the verifier (43 characters)")]
    MalformedChallenge,
    /// The verifier breaks RFC 7636 §4.1 (43–128 unreserved characters).
    #[error("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedVerifier,
}

/// A validated `S256` code challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates a challenge and its method (absent method means `plain` per RFC 7636 §4.3, which
    /// is refused).
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method != Some("S256") {
            return Err(PkceError::UnsupportedMethod);
        }
        let decodes_to_digest = URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32);
        if challenge.len() != 43 || !decodes_to_digest {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// Wraps a challenge read back from the store.
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The challenge for `verifier` (what a client computes).
    pub fn of_verifier(verifier: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes())))
    }

    /// Checks a verifier against this challenge, in constant time.
    pub fn verify(&self, verifier: &str) -> Result<bool, PkceError> {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c));
        if !well_formed {
            return Err(PkceError::MalformedVerifier);
        }
        let expected = Self::of_verifier(verifier);
        Ok(
            constant_time::verify_slices_are_equal(self.0.as_bytes(), expected.0.as_bytes())
                .is_ok(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(CodeChallenge::of_verifier(VERIFIER).as_str(), CHALLENGE);
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap();
        assert_eq!(challenge.verify(VERIFIER), Ok(true));
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
        assert_eq!(challenge.verify(other), Ok(false));
    }

    #[test]
    fn plain_and_malformed_values_are_refused() {
        assert_eq!(
            CodeChallenge::parse(CHALLENGE, None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(CHALLENGE, Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse("short", Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(&"*".repeat(43), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap();
        assert_eq!(
            challenge.verify("too-short"),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(
            challenge.verify(&"a".repeat(129)),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(
            challenge.verify(&format!("{VERIFIER}!")),
            Err(PkceError::MalformedVerifier)
        );
    }
}
