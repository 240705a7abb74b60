//! The JWS algorithms Tessera supports.

use std::fmt;
use std::str::FromStr;

use crate::JoseError;

/// JWS algorithms Tessera signs with.
///
/// Serialized with serde as the exact JWA names `"RS256"`, `"ES256"` and `"EdDSA"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3); keys are RSA, 2048 bits or more.
    RS256,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 section 3.4); signatures are the fixed 64-byte
    /// `r || s` form.
    ES256,
    /// Ed25519 signatures (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    /// Returns the JWA name used in the `alg` header and JWK member.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Parses a JWA name exactly and case-sensitively, returning `None` for anything else
    /// (including `"none"` and the HMAC algorithms).
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "RS256" => Some(Algorithm::RS256),
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            _ => None,
        }
    }

    /// Returns the JWK `kty` that keys for this algorithm have.
    pub fn key_type(&self) -> &'static str {
        match self {
            Algorithm::RS256 => "RSA",
            Algorithm::ES256 => "EC",
            Algorithm::EdDSA => "OKP",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = JoseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::parse(s).ok_or_else(|| JoseError::unsupported_alg(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
            assert_eq!(alg.to_string(), alg.as_str());
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), alg);
        }
    }

    #[test]
    fn parse_is_exact_and_case_sensitive() {
        for bad in [
            "rs256", "es256", "EDDSA", "eddsa", "none", "HS256", "RS384", " RS256", "",
        ] {
            assert_eq!(Algorithm::parse(bad), None, "{bad:?}");
            assert!(matches!(
                bad.parse::<Algorithm>(),
                Err(JoseError::UnsupportedAlgorithm(_))
            ));
        }
    }
}
