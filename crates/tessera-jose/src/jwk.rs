//! Public JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) and key sets.

use serde::{Deserialize, Serialize};

/// Public JSON Web Key (RFC 7517/7518/8037), public parts only.
///
/// Binary members (`n`, `e`, `x`, `y`) are base64url without padding. Private members such as
/// `d` have no field here, so they are dropped on deserialization and can never be emitted.
///
/// `alg` and `use` are optional in RFC 7517 and default to the empty string when absent, but
/// [`verify_compact`](crate::verify_compact) only accepts a key whose `alg` equals the token's
/// algorithm, so keys without `alg` never verify anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"RSA"`, `"EC"` or `"OKP"`.
    pub kty: String,
    /// Key identifier, matched against a token's `kid` header.
    #[serde(default)]
    pub kid: String,
    /// The one JWS algorithm this key is for, for example `"RS256"`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alg: String,
    /// Public key use; Tessera's keys are always `"sig"`.
    #[serde(rename = "use", default, skip_serializing_if = "String::is_empty")]
    pub use_: String,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Curve name: `"P-256"` for EC keys, `"Ed25519"` for OKP keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, or the Ed25519 public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl Jwk {
    /// Builds an RSA signing JWK from the big-endian modulus and exponent.
    pub(crate) fn rsa(kid: &str, alg: &str, n: &[u8], e: &[u8]) -> Jwk {
        Jwk {
            kty: "RSA".to_owned(),
            kid: kid.to_owned(),
            alg: alg.to_owned(),
            use_: "sig".to_owned(),
            n: Some(crate::b64::encode(n)),
            e: Some(crate::b64::encode(e)),
            crv: None,
            x: None,
            y: None,
        }
    }

    /// Builds a P-256 signing JWK from the fixed-length big-endian coordinates.
    pub(crate) fn ec_p256(kid: &str, alg: &str, x: &[u8], y: &[u8]) -> Jwk {
        Jwk {
            kty: "EC".to_owned(),
            kid: kid.to_owned(),
            alg: alg.to_owned(),
            use_: "sig".to_owned(),
            n: None,
            e: None,
            crv: Some("P-256".to_owned()),
            x: Some(crate::b64::encode(x)),
            y: Some(crate::b64::encode(y)),
        }
    }

    /// Builds an Ed25519 signing JWK from the 32-byte public key.
    pub(crate) fn ed25519(kid: &str, alg: &str, public: &[u8]) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            kid: kid.to_owned(),
            alg: alg.to_owned(),
            use_: "sig".to_owned(),
            n: None,
            e: None,
            crv: Some("Ed25519".to_owned()),
            x: Some(crate::b64::encode(public)),
            y: None,
        }
    }
}

/// A JWK Set (RFC 7517 section 5), as served at a `jwks_uri`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, in publication order.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Returns the first key whose `kid` equals `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

impl FromIterator<Jwk> for JwkSet {
    fn from_iter<I: IntoIterator<Item = Jwk>>(iter: I) -> Self {
        JwkSet {
            keys: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_only_present_members() {
        let jwk = Jwk::ed25519("k1", "EdDSA", &[7u8; 32]);
        let v = serde_json::to_value(&jwk).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(obj["use"], "sig");
        assert_eq!(obj["crv"], "Ed25519");
    }

    #[test]
    fn deserializes_foreign_keys_and_drops_private_members() {
        let json = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AQ","d":"secret"}]}"#;
        let set: JwkSet = serde_json::from_str(json).unwrap();
        let k = &set.keys[0];
        assert_eq!(k.alg, "");
        assert_eq!(k.use_, "");
        let back = serde_json::to_string(&set).unwrap();
        assert!(
            !back.contains("secret") && !back.contains("\"d\""),
            "{back}"
        );
    }

    #[test]
    fn find_by_kid() {
        let set: JwkSet = [
            Jwk::ed25519("a", "EdDSA", &[1; 32]),
            Jwk::ed25519("b", "EdDSA", &[2; 32]),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.find("b").unwrap().x, Some(crate::b64::encode([2; 32])));
        assert!(set.find("c").is_none());
    }
}
