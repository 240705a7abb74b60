//! The crate's error type.

/// Everything that can go wrong while handling keys, signing or verifying.
///
/// Messages are safe to log: they never contain private or public key material, and values
/// copied from an untrusted token (such as an unknown `alg`) are truncated.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// The token or one of its segments is structurally invalid; the text says which part.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),

    /// The algorithm is unknown to this crate or not in the caller's allow-list.
    #[error("unsupported or disallowed JWS algorithm {0:?}")]
    UnsupportedAlgorithm(String),

    /// No key in the key set has the token's `kid`.
    #[error("no key in the key set matches the token's kid")]
    UnknownKey,

    /// The key selected by `kid` cannot be used with the token's algorithm (wrong `kty`, `crv`,
    /// `alg` or `use`).
    #[error("the key's type, curve, use or algorithm does not match the token's algorithm")]
    KeyAlgorithmMismatch,

    /// The header carries `crit`; this crate understands no JWS extensions, so any `crit` is
    /// rejected as RFC 7515 section 4.1.11 requires.
    #[error("the token has a critical header extension, and none are supported")]
    CriticalHeader,

    /// The token is longer than the configured limit.
    #[error("token is {len} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The token's length in bytes.
        len: usize,
        /// The largest length accepted.
        max: usize,
    },

    /// The signature does not verify under the selected key.
    #[error("signature verification failed")]
    BadSignature,

    /// A key could not be parsed or is not acceptable (wrong type, too small, bad encoding).
    #[error("key rejected: {0}")]
    KeyRejected(String),

    /// A cryptographic primitive failed; the text names the operation.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),

    /// Claims or header could not be serialized to, or deserialized from, JSON.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

impl JoseError {
    /// Builds [`JoseError::UnsupportedAlgorithm`] from untrusted input, truncating it so an
    /// attacker-controlled value cannot blow up log lines.
    pub(crate) fn unsupported_alg(alg: &str) -> Self {
        const MAX: usize = 32;
        let mut end = alg.len().min(MAX);
        while !alg.is_char_boundary(end) {
            end -= 1;
        }
        JoseError::UnsupportedAlgorithm(alg[..end].to_owned())
    }

    /// Builds [`JoseError::KeyRejected`] from aws-lc-rs's rejection reason, which is a fixed
    /// description and never contains key bytes.
    pub(crate) fn key_rejected(e: aws_lc_rs::error::KeyRejected) -> Self {
        JoseError::KeyRejected(e.description_().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_alg_is_truncated_on_char_boundary() {
        let long = "é".repeat(40);
        match JoseError::unsupported_alg(&long) {
            JoseError::UnsupportedAlgorithm(s) => {
                assert!(s.len() <= 32);
                assert!(long.starts_with(&s));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn too_large_message_is_clear() {
        let msg = JoseError::TooLarge {
            len: 20000,
            max: 16384,
        }
        .to_string();
        assert!(msg.contains("20000") && msg.contains("16384"), "{msg}");
    }
}
