//! Cross-checks tessera-jose tokens with the independent `jsonwebtoken` crate: if both agree,
//! our header layout, base64url, signature encodings and JWKs are interoperable.

use std::sync::OnceLock;

use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tessera_jose::{Algorithm, SigningKey};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: String,
    scope: String,
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "https://id.example.com".into(),
        sub: "user-123".into(),
        aud: "https://api.example.com".into(),
        // Far in the future so jsonwebtoken's exp check passes whatever the clock says.
        exp: 32_503_680_000,
        iat: 1_700_000_000,
        jti: "3f9c5a1e-7b2d-4c8e-9a10-5d6e7f8a9b0c".into(),
        client_id: "web-app".into(),
        scope: "openid profile email".into(),
    }
}

fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = Algorithm::ALL.iter().position(|a| *a == alg).unwrap();
    KEYS[i].get_or_init(|| SigningKey::generate(alg, format!("cross-{alg}")).unwrap())
}

fn their_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}

/// Builds jsonwebtoken's decoding key from our public JWK via JSON, as a relying party would.
fn their_key(key: &SigningKey) -> DecodingKey {
    let json = serde_json::to_string(key.public_jwk()).unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&json).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(their_alg(alg));
    v.set_audience(&["https://api.example.com"]);
    v.set_issuer(&["https://id.example.com"]);
    v
}

#[test]
fn jsonwebtoken_verifies_our_tokens() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = key.sign_jwt("at+jwt", &claims()).unwrap();
        let data = decode::<AccessClaims>(&token, &their_key(key), &validation(alg))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(data.claims, claims(), "{alg}");
        assert_eq!(data.header.alg, their_alg(alg));
        assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
    }
}

#[test]
fn jsonwebtoken_verifies_claimless_tokens() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = key
            .sign_jwt("JWT", &serde_json::json!({"hello": "world"}))
            .unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));

        let mut v = Validation::new(their_alg(alg));
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_aud = false;
        let data = decode::<serde_json::Value>(&token, &their_key(key), &v)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(data.claims["hello"], "world");
    }
}

#[test]
fn jsonwebtoken_rejects_tampered_payload() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = key.sign_jwt("at+jwt", &claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut evil = claims();
        evil.sub = "admin".into();
        let evil = tessera_jose::b64::encode(serde_json::to_vec(&evil).unwrap());
        let tampered = format!("{}.{evil}.{}", parts[0], parts[2]);
        let err = decode::<AccessClaims>(&tampered, &their_key(key), &validation(alg))
            .expect_err("tampered token must not verify");
        assert_eq!(
            *err.kind(),
            jsonwebtoken::errors::ErrorKind::InvalidSignature,
            "{alg}"
        );
        // And our verifier agrees.
        let jwks = tessera_jose::JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        assert!(matches!(
            tessera_jose::verify_compact(&tampered, &jwks, &[alg]),
            Err(tessera_jose::JoseError::BadSignature)
        ));
    }
}

#[test]
fn we_verify_jsonwebtoken_signed_tokens() {
    // The other direction: jsonwebtoken signs with our exported PKCS#8 key, we verify.
    for alg in Algorithm::ALL {
        let key = key(alg);
        let der = key.to_pkcs8_der().unwrap();
        let encoding_key = match alg {
            Algorithm::RS256 => {
                // jsonwebtoken wants PKCS#1 DER for RSA; use PEM-wrapped PKCS#8 instead.
                let pem = pem_wrap("PRIVATE KEY", &der);
                jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
            }
            Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_der(&der),
            Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_der(&der),
        };
        let mut header = jsonwebtoken::Header::new(their_alg(alg));
        header.kid = Some(key.kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims(), &encoding_key).unwrap();
        let jwks = tessera_jose::JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let verified = tessera_jose::verify_compact(&token, &jwks, &[alg])
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.claims::<AccessClaims>().unwrap(), claims());
    }
}

fn pem_wrap(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}
