//! Strict verification of JWS compact serializations against a JWK Set.

use std::cell::Cell;
use std::fmt;

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::{b64, Algorithm, JoseError, Jwk, JwkSet};

/// The longest token [`verify_compact`] looks at, in bytes (16 KiB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token whose signature has been verified. The claims inside are *not* validated.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedJws {
    /// The protected header, as a JSON object.
    pub header: Map<String, Value>,
    /// The decoded payload bytes (for a JWT, the claims JSON).
    pub payload: Vec<u8>,
}

impl VerifiedJws {
    /// Returns the header's `typ`, if it is a string.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// Returns the header's `kid`; verification guarantees it is present.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Deserializes the payload as JSON claims.
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Json`] if the payload is not JSON of the shape `T` expects.
    pub fn claims<T: serde::de::DeserializeOwned>(&self) -> Result<T, JoseError> {
        Ok(serde_json::from_slice(&self.payload)?)
    }

    /// Parses the payload as JWT claims the strict way: UTF-8 holding one JSON object without
    /// duplicate members (with duplicates, two parsers may disagree about which `exp` or `aud`
    /// applies).
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Malformed`] for anything else.
    pub fn claims_object(&self) -> Result<Map<String, Value>, JoseError> {
        let text = std::str::from_utf8(&self.payload)
            .map_err(|_| JoseError::Malformed("claims are not UTF-8"))?;
        parse_strict_object(text, Part::Claims)
    }
}

/// Which part of a token is being parsed, for error messages.
#[derive(Clone, Copy)]
enum Part {
    Header,
    Claims,
}

/// Verifies a JWS compact serialization (such as a JWT) against `jwks`, accepting only the
/// algorithms in `allowed`.
///
/// The rules, checked in this order:
/// 1. the token is at most [`MAX_TOKEN_LEN`] bytes ([`JoseError::TooLarge`]);
/// 2. it is exactly three segments of strict unpadded base64url, with a non-empty header and
///    signature ([`JoseError::Malformed`]);
/// 3. the header is UTF-8 holding a JSON object without duplicate members
///    ([`JoseError::Malformed`]);
/// 4. its `alg` is a string naming an algorithm in `allowed`, so `"none"` and HMAC are always
///    refused ([`JoseError::UnsupportedAlgorithm`]);
/// 5. it has no `crit` member at all, since no extensions are supported
///    ([`JoseError::CriticalHeader`]);
/// 6. its `kid` is a string equal to the `kid` of a key in `jwks` ([`JoseError::UnknownKey`]);
/// 7. that key's `kty`, `crv`, `alg` and (if present) `use` fit the header's algorithm
///    ([`JoseError::KeyAlgorithmMismatch`]);
/// 8. the signature verifies ([`JoseError::BadSignature`]).
///
/// Header members that point at other keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored: only keys
/// in `jwks` are ever used. Claims such as `exp` and `aud` are not checked here.
///
/// # Errors
///
/// Returns the [`JoseError`] of the first rule broken, or [`JoseError::KeyRejected`] when the
/// selected JWK's key material is unusable.
pub fn verify_compact(
    token: &str,
    jwks: &JwkSet,
    allowed: &[Algorithm],
) -> Result<VerifiedJws, JoseError> {
    verify_with(
        token,
        allowed,
        |kid, alg| select_key(jwks.keys.iter().map(|k| (k, k)), kid, alg),
        |key, alg, message, signature| parse_public_key(key, alg)?.verify(message, signature),
    )
}

/// A JWK Set with each key's public key parsed once, for a verifier that checks many tokens:
/// [`verify_compact`](Self::verify_compact) applies exactly the rules of the free function
/// [`verify_compact`], without decoding and parsing the key material again for every token.
///
/// ```
/// use tessera_jose::{Algorithm, JwkSet, SigningKey, VerifyingKeys};
///
/// # fn main() -> Result<(), tessera_jose::JoseError> {
/// let key = SigningKey::generate(Algorithm::EdDSA, "k1")?;
/// let keys = VerifyingKeys::new(JwkSet { keys: vec![key.public_jwk().clone()] });
/// let token = key.sign_jwt("JWT", &serde_json::json!({ "sub": "alice" }))?;
/// assert_eq!(keys.verify_compact(&token, &[Algorithm::EdDSA])?.typ(), Some("JWT"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct VerifyingKeys {
    jwks: JwkSet,
    /// One entry per key of `jwks`, in the same order: the parsed key, or why its material is
    /// unusable (reported only when a token selects that key, as the free function does).
    parsed: Vec<Result<PublicKey, JoseError>>,
}

impl VerifyingKeys {
    /// Parses every key of `jwks` for the algorithm its `alg` names. Keys that name no
    /// supported algorithm, or whose material is unusable, are kept but never verify anything.
    pub fn new(jwks: JwkSet) -> Self {
        let parsed = jwks
            .keys
            .iter()
            .map(|key| match Algorithm::parse(&key.alg) {
                Some(alg) if key_fits(key, alg) => parse_public_key(key, alg),
                _ => Err(JoseError::KeyAlgorithmMismatch),
            })
            .collect();
        Self { jwks, parsed }
    }

    /// The key set these keys were parsed from.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Verifies a JWS compact serialization under the rules of the free function
    /// [`verify_compact`].
    ///
    /// # Errors
    ///
    /// As [`verify_compact`].
    pub fn verify_compact(
        &self,
        token: &str,
        allowed: &[Algorithm],
    ) -> Result<VerifiedJws, JoseError> {
        verify_with(
            token,
            allowed,
            |kid, alg| select_key(self.jwks.keys.iter().zip(&self.parsed), kid, alg),
            |parsed, _alg, message, signature| match parsed {
                Ok(key) => key.verify(message, signature),
                Err(JoseError::KeyRejected(why)) => Err(JoseError::KeyRejected(why.clone())),
                // `key_fits` held when the key was selected, so it was parsed.
                Err(_) => Err(JoseError::KeyAlgorithmMismatch),
            },
        )
    }
}

/// The rules of [`verify_compact`], with the key lookup (`select`, given the header's `kid`
/// and algorithm) and the signature check (`verify`) supplied by the caller.
fn verify_with<K>(
    token: &str,
    allowed: &[Algorithm],
    select: impl FnOnce(&str, Algorithm) -> Result<K, JoseError>,
    verify: impl FnOnce(K, Algorithm, &[u8], &[u8]) -> Result<(), JoseError>,
) -> Result<VerifiedJws, JoseError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JoseError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JoseError::Malformed("expected exactly three segments"));
    };
    if header_b64.is_empty() {
        return Err(JoseError::Malformed("empty header segment"));
    }
    if signature_b64.is_empty() {
        return Err(JoseError::Malformed("empty signature segment"));
    }

    let header_bytes =
        b64::decode(header_b64).map_err(|_| JoseError::Malformed("header is not base64url"))?;
    let header_text = std::str::from_utf8(&header_bytes)
        .map_err(|_| JoseError::Malformed("header is not valid UTF-8"))?;
    let header = parse_strict_object(header_text, Part::Header)?;

    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed(
            "alg header is missing or not a string",
        ))?;
    let alg = Algorithm::parse(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JoseError::unsupported_alg(alg_name))?;

    if header.contains_key("crit") {
        return Err(JoseError::CriticalHeader);
    }

    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed(
            "kid header is missing or not a string",
        ))?;
    let key = select(kid, alg)?;

    let payload =
        b64::decode(payload_b64).map_err(|_| JoseError::Malformed("payload is not base64url"))?;
    let signature = b64::decode(signature_b64)
        .map_err(|_| JoseError::Malformed("signature is not base64url"))?;
    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];

    verify(key, alg, signing_input, &signature)?;
    Ok(VerifiedJws { header, payload })
}

/// Picks the key for `kid` that fits `alg` among `(jwk, handle)` pairs, returning its handle
/// and distinguishing "no such kid" from "wrong key type".
fn select_key<'a, H>(
    keys: impl Iterator<Item = (&'a Jwk, H)>,
    kid: &str,
    alg: Algorithm,
) -> Result<H, JoseError> {
    let mut found_kid = false;
    for (key, handle) in keys.filter(|(k, _)| k.kid == kid) {
        found_kid = true;
        if key_fits(key, alg) {
            return Ok(handle);
        }
    }
    Err(if found_kid {
        JoseError::KeyAlgorithmMismatch
    } else {
        JoseError::UnknownKey
    })
}

/// Whether `key` may verify `alg` signatures: `alg` must be equal, `kty` (and `crv`) must be
/// the algorithm's, and `use`, when present, must be `"sig"`.
fn key_fits(key: &Jwk, alg: Algorithm) -> bool {
    let curve_ok = match alg {
        Algorithm::RS256 => key.crv.is_none(),
        Algorithm::ES256 => key.crv.as_deref() == Some("P-256"),
        Algorithm::EdDSA => key.crv.as_deref() == Some("Ed25519"),
    };
    key.alg == alg.as_str()
        && key.kty == alg.key_type()
        && curve_ok
        && (key.use_.is_empty() || key.use_ == "sig")
}

/// A public key parsed by aws-lc-rs, ready to verify signatures of its algorithm.
#[derive(Debug)]
struct PublicKey(ParsedPublicKey);

impl PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        self.0
            .verify_sig(message, signature)
            .map_err(|_| JoseError::BadSignature)
    }
}

/// Parses the public key in `key` (already known to fit `alg`).
fn parse_public_key(key: &Jwk, alg: Algorithm) -> Result<PublicKey, JoseError> {
    let member = |value: &Option<String>, what: &'static str| -> Result<Vec<u8>, JoseError> {
        let text = value
            .as_deref()
            .ok_or_else(|| JoseError::KeyRejected(format!("JWK has no {what}")))?;
        b64::decode(text)
            .map_err(|_| JoseError::KeyRejected(format!("JWK {what} is not base64url")))
    };
    let parsed = match alg {
        Algorithm::RS256 => {
            let n = member(&key.n, "n")?;
            let e = member(&key.e, "e")?;
            let n = strip_leading_zeros(&n);
            let e = strip_leading_zeros(&e);
            if n.len() < 256 {
                return Err(JoseError::KeyRejected(
                    "RSA modulus is shorter than 2048 bits".to_owned(),
                ));
            }
            RsaPublicKeyComponents { n, e }.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        }
        Algorithm::ES256 => {
            let x = member(&key.x, "x")?;
            let y = member(&key.y, "y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err(JoseError::KeyRejected(
                    "P-256 coordinates must be 32 bytes".to_owned(),
                ));
            }
            let mut point = [0u8; 65];
            point[0] = 0x04;
            point[1..33].copy_from_slice(&x);
            point[33..].copy_from_slice(&y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).parse()
        }
        Algorithm::EdDSA => {
            let x = member(&key.x, "x")?;
            if x.len() != 32 {
                return Err(JoseError::KeyRejected(
                    "Ed25519 public key must be 32 bytes".to_owned(),
                ));
            }
            UnparsedPublicKey::new(&ED25519, &x).parse()
        }
    };
    parsed.map(PublicKey).map_err(JoseError::key_rejected)
}

/// Removes leading zero octets, which some encoders add to RSA integers.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Parses a header or claims set as a JSON object, rejecting duplicate members: with
/// duplicates, different parsers may disagree about which `alg`, `kid` or `exp` applies.
fn parse_strict_object(text: &str, part: Part) -> Result<Map<String, Value>, JoseError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(StrictObject {
        duplicate: &duplicate,
    })
    .and_then(|map| de.end().map(|()| map))
    .map_err(|_| {
        JoseError::Malformed(match (part, duplicate.get()) {
            (Part::Header, true) => "header has duplicate members",
            (Part::Header, false) => "header is not a JSON object",
            (Part::Claims, true) => "claims have duplicate members",
            (Part::Claims, false) => "claims are not a JSON object",
        })
    })
}

/// Visitor for a JSON object that fails, and sets `duplicate`, on a repeated member name.
struct StrictObject<'a> {
    duplicate: &'a Cell<bool>,
}

impl<'de> Visitor<'de> for StrictObject<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let value = access.next_value::<Value>()?;
            if map.insert(name, value).is_some() {
                self.duplicate.set(true);
                return Err(serde::de::Error::custom("duplicate member"));
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{forge, key};
    use crate::SigningKey;

    const ALL: &[Algorithm] = &Algorithm::ALL;

    /// Verifies with the free function and with pre-parsed [`VerifyingKeys`], demanding the
    /// same answer, so every rule below is shown to hold on both paths.
    fn verify_both(
        token: &str,
        jwks: &JwkSet,
        allowed: &[Algorithm],
    ) -> Result<VerifiedJws, JoseError> {
        let free = verify_compact(token, jwks, allowed);
        let parsed = VerifyingKeys::new(jwks.clone()).verify_compact(token, allowed);
        assert_eq!(format!("{free:?}"), format!("{parsed:?}"), "{token}");
        free
    }

    fn jwks() -> JwkSet {
        Algorithm::ALL
            .iter()
            .map(|alg| key(*alg).public_jwk().clone())
            .collect()
    }

    fn header(alg: &str, kid: &str) -> String {
        format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#)
    }

    const PAYLOAD: &[u8] = br#"{"sub":"alice"}"#;

    #[test]
    fn forged_helper_produces_valid_tokens() {
        // Guards the negative tests below: tokens built this way verify unless a rule is broken.
        for alg in Algorithm::ALL {
            let k = key(alg);
            let t = forge(k, header(alg.as_str(), k.kid()).as_bytes(), PAYLOAD);
            let v = verify_both(&t, &jwks(), ALL).unwrap();
            assert_eq!(v.payload, PAYLOAD);
        }
    }

    #[test]
    fn empty_payload_is_allowed() {
        let k = key(Algorithm::ES256);
        let t = forge(k, header("ES256", k.kid()).as_bytes(), b"");
        assert!(verify_both(&t, &jwks(), ALL).unwrap().payload.is_empty());
    }

    #[test]
    fn rejects_wrong_segment_count() {
        let k = key(Algorithm::EdDSA);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut parts = t.split('.');
        let (h, p, s) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        for bad in [
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}."),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}.{p}{s}"),
            String::new(),
        ] {
            assert!(
                matches!(
                    verify_both(&bad, &jwks(), ALL),
                    Err(JoseError::Malformed("expected exactly three segments"))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_empty_header_or_signature() {
        let k = key(Algorithm::EdDSA);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let (rest, _sig) = t.rsplit_once('.').unwrap();
        assert!(matches!(
            verify_both(&format!("{rest}."), &jwks(), ALL),
            Err(JoseError::Malformed("empty signature segment"))
        ));
        let (_h, rest) = t.split_once('.').unwrap();
        assert!(matches!(
            verify_both(&format!(".{rest}"), &jwks(), ALL),
            Err(JoseError::Malformed("empty header segment"))
        ));
    }

    #[test]
    fn rejects_padded_or_non_url_base64() {
        let k = key(Algorithm::EdDSA);
        // A header whose JSON length makes its base64 need padding.
        let mut h = header("EdDSA", k.kid());
        while h.len() % 3 != 1 {
            h.push(' ');
        }
        let t = forge(k, h.as_bytes(), PAYLOAD);
        verify_both(&t, &jwks(), ALL).unwrap();
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let padding = "=".repeat((4 - parts[0].len() % 4) % 4);
        let padded = format!("{}{padding}.{}.{}", parts[0], parts[1], parts[2]);
        assert!(matches!(
            verify_both(&padded, &jwks(), ALL),
            Err(JoseError::Malformed("header is not base64url"))
        ));

        // Standard-alphabet characters in the signature.
        parts[2] = parts[2].replace('-', "+").replace('_', "/");
        if !parts[2].contains(['+', '/']) {
            parts[2].replace_range(0..1, "+");
        }
        let std_alphabet = parts.join(".");
        assert!(matches!(
            verify_both(&std_alphabet, &jwks(), ALL),
            Err(JoseError::Malformed("signature is not base64url"))
        ));

        // Bad payload encoding (a validly signed token cannot contain it, but the check must
        // still happen before the signature is trusted).
        let bad_payload = format!("{}.{}*.{}", parts[0], parts[1], parts[2]);
        assert!(matches!(
            verify_both(&bad_payload, &jwks(), ALL),
            Err(JoseError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_invalid_utf8_header() {
        let k = key(Algorithm::EdDSA);
        let mut h = header("EdDSA", k.kid()).into_bytes();
        h.insert(h.len() - 1, b',');
        let pos = h.len() - 1;
        h.splice(pos..pos, *br#""x":"#);
        h.splice(pos + 4..pos + 4, [b'"', 0xff, 0xfe, b'"']);
        let t = forge(k, &h, PAYLOAD);
        assert!(matches!(
            verify_both(&t, &jwks(), ALL),
            Err(JoseError::Malformed("header is not valid UTF-8"))
        ));
    }

    #[test]
    fn rejects_non_object_or_invalid_json_header() {
        let k = key(Algorithm::EdDSA);
        for h in [
            "not json".to_owned(),
            r#"["alg","EdDSA"]"#.to_owned(),
            "\"EdDSA\"".to_owned(),
            format!("{} trailing", header("EdDSA", k.kid())),
            header("EdDSA", k.kid()).trim_end_matches('}').to_owned(),
        ] {
            let t = forge(k, h.as_bytes(), PAYLOAD);
            assert!(
                matches!(
                    verify_both(&t, &jwks(), ALL),
                    Err(JoseError::Malformed("header is not a JSON object"))
                ),
                "{h}"
            );
        }
    }

    #[test]
    fn claims_object_is_strict() {
        let verified = |payload: &[u8]| VerifiedJws {
            header: Map::new(),
            payload: payload.to_vec(),
        };
        let ok = verified(br#"{"exp":1,"aud":["a"]}"#)
            .claims_object()
            .unwrap();
        assert_eq!(ok["exp"], 1);
        for (payload, why) in [
            (
                &br#"{"exp":1,"exp":"2"}"#[..],
                "claims have duplicate members",
            ),
            (&b"[1]"[..], "claims are not a JSON object"),
            (&b"{\"sub\":\"\xff\"}"[..], "claims are not UTF-8"),
            (&b"{} {}"[..], "claims are not a JSON object"),
            (&b""[..], "claims are not a JSON object"),
        ] {
            let err = verified(payload).claims_object().unwrap_err();
            assert!(
                matches!(err, JoseError::Malformed(got) if got == why),
                "{}: {err:?}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn rejects_duplicate_header_members() {
        let k = key(Algorithm::EdDSA);
        // serde_json's default would keep the last "alg" and this would verify.
        let h = format!(r#"{{"alg":"HS256","alg":"EdDSA","kid":"{}"}}"#, k.kid());
        let t = forge(k, h.as_bytes(), PAYLOAD);
        assert!(matches!(
            verify_both(&t, &jwks(), ALL),
            Err(JoseError::Malformed("header has duplicate members"))
        ));
    }

    #[test]
    fn rejects_missing_or_non_string_alg() {
        let k = key(Algorithm::EdDSA);
        for h in [
            format!(r#"{{"kid":"{}"}}"#, k.kid()),
            format!(r#"{{"alg":null,"kid":"{}"}}"#, k.kid()),
            format!(r#"{{"alg":["EdDSA"],"kid":"{}"}}"#, k.kid()),
        ] {
            let t = forge(k, h.as_bytes(), PAYLOAD);
            assert!(matches!(
                verify_both(&t, &jwks(), ALL),
                Err(JoseError::Malformed(
                    "alg header is missing or not a string"
                ))
            ));
        }
    }

    #[test]
    fn rejects_none_and_hmac_and_unknown_algorithms() {
        let k = key(Algorithm::RS256);
        for alg in ["none", "HS256", "RS384", "PS256", "rs256", ""] {
            let t = forge(k, header(alg, k.kid()).as_bytes(), PAYLOAD);
            assert!(
                matches!(
                    verify_both(&t, &jwks(), ALL),
                    Err(JoseError::UnsupportedAlgorithm(ref a)) if a == alg
                ),
                "{alg}"
            );
        }
        // The classic unsigned token.
        let unsigned = format!(
            "{}.{}.",
            b64::encode(header("none", k.kid())),
            b64::encode(PAYLOAD)
        );
        assert!(verify_both(&unsigned, &jwks(), ALL).is_err());
        let unsigned = format!(
            "{}.{}.AA",
            b64::encode(header("none", k.kid())),
            b64::encode(PAYLOAD)
        );
        assert!(matches!(
            verify_both(&unsigned, &jwks(), ALL),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn rejects_algorithms_outside_the_allow_list() {
        for alg in Algorithm::ALL {
            let k = key(alg);
            let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
            let others: Vec<Algorithm> = ALL.iter().copied().filter(|a| *a != alg).collect();
            assert!(matches!(
                verify_both(&t, &jwks(), &others),
                Err(JoseError::UnsupportedAlgorithm(ref a)) if a == alg.as_str()
            ));
            assert!(matches!(
                verify_both(&t, &jwks(), &[]),
                Err(JoseError::UnsupportedAlgorithm(_))
            ));
        }
    }

    #[test]
    fn rejects_any_crit() {
        let k = key(Algorithm::ES256);
        for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", "null"] {
            let h = format!(
                r#"{{"alg":"ES256","kid":"{}","crit":{crit},"exp":1}}"#,
                k.kid()
            );
            let t = forge(k, h.as_bytes(), PAYLOAD);
            assert!(
                matches!(
                    verify_both(&t, &jwks(), ALL),
                    Err(JoseError::CriticalHeader)
                ),
                "{crit}"
            );
        }
    }

    #[test]
    fn rejects_missing_or_non_string_kid() {
        let k = key(Algorithm::ES256);
        for h in [r#"{"alg":"ES256"}"#, r#"{"alg":"ES256","kid":7}"#] {
            let t = forge(k, h.as_bytes(), PAYLOAD);
            assert!(matches!(
                verify_both(&t, &jwks(), ALL),
                Err(JoseError::Malformed(
                    "kid header is missing or not a string"
                ))
            ));
        }
    }

    #[test]
    fn rejects_unknown_kid() {
        let k = key(Algorithm::ES256);
        let t = forge(k, header("ES256", "someone-else").as_bytes(), PAYLOAD);
        assert!(matches!(
            verify_both(&t, &jwks(), ALL),
            Err(JoseError::UnknownKey)
        ));
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        assert!(matches!(
            verify_both(&t, &JwkSet::default(), ALL),
            Err(JoseError::UnknownKey)
        ));
    }

    #[test]
    fn rsa_key_never_verifies_other_algorithms() {
        // Same kid on an RSA key and an EC key: the ES256 token must not be checked with RSA.
        let ec = SigningKey::generate(Algorithm::ES256, "shared").unwrap();
        let mut rsa_jwk = key(Algorithm::RS256).public_jwk().clone();
        rsa_jwk.kid = "shared".into();
        let set = JwkSet {
            keys: vec![rsa_jwk.clone()],
        };
        let t = ec.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        assert!(matches!(
            verify_both(&t, &set, ALL),
            Err(JoseError::KeyAlgorithmMismatch)
        ));
        // With both keys present, the EC one is selected.
        let set = JwkSet {
            keys: vec![rsa_jwk, ec.public_jwk().clone()],
        };
        verify_both(&t, &set, ALL).unwrap();
    }

    #[test]
    fn rejects_key_whose_alg_differs_from_header() {
        let k = key(Algorithm::ES256);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        for alg in ["ES384", "EdDSA", "RS256", ""] {
            let mut jwk = k.public_jwk().clone();
            jwk.alg = alg.into();
            let set = JwkSet { keys: vec![jwk] };
            assert!(
                matches!(
                    verify_both(&t, &set, ALL),
                    Err(JoseError::KeyAlgorithmMismatch)
                ),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn rejects_key_whose_kty_or_crv_differs() {
        let k = key(Algorithm::EdDSA);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut wrong_kty = k.public_jwk().clone();
        wrong_kty.kty = "EC".into();
        let mut wrong_crv = k.public_jwk().clone();
        wrong_crv.crv = Some("X25519".into());
        for jwk in [wrong_kty, wrong_crv] {
            let set = JwkSet { keys: vec![jwk] };
            assert!(matches!(
                verify_both(&t, &set, ALL),
                Err(JoseError::KeyAlgorithmMismatch)
            ));
        }
    }

    #[test]
    fn rejects_key_for_encryption() {
        let k = key(Algorithm::RS256);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut jwk = k.public_jwk().clone();
        jwk.use_ = "enc".into();
        assert!(matches!(
            verify_both(
                &t,
                &JwkSet {
                    keys: vec![jwk.clone()]
                },
                ALL
            ),
            Err(JoseError::KeyAlgorithmMismatch)
        ));
        // An absent `use` is fine.
        jwk.use_.clear();
        verify_both(&t, &JwkSet { keys: vec![jwk] }, ALL).unwrap();
    }

    #[test]
    fn rejects_oversized_token() {
        let k = key(Algorithm::EdDSA);
        let big = serde_json::json!({ "pad": "x".repeat(MAX_TOKEN_LEN) });
        let t = k.sign_jwt("JWT", &big).unwrap();
        assert!(matches!(
            verify_both(&t, &jwks(), ALL),
            Err(JoseError::TooLarge {
                max: MAX_TOKEN_LEN,
                ..
            })
        ));
        // Just under the limit still verifies.
        let mut size = MAX_TOKEN_LEN / 2;
        loop {
            let c = serde_json::json!({ "pad": "x".repeat(size) });
            let t = k.sign_jwt("JWT", &c).unwrap();
            if t.len() > MAX_TOKEN_LEN {
                break;
            }
            verify_both(&t, &jwks(), ALL).unwrap();
            size += 1000;
        }
    }

    #[test]
    fn rejects_tampered_payload_and_signature() {
        for alg in Algorithm::ALL {
            let k = key(alg);
            let t = k
                .sign_jwt("JWT", &serde_json::json!({"sub":"alice"}))
                .unwrap();
            let parts: Vec<&str> = t.split('.').collect();
            let evil = b64::encode(br#"{"sub":"admin"}"#);
            let tampered = format!("{}.{evil}.{}", parts[0], parts[2]);
            assert!(matches!(
                verify_both(&tampered, &jwks(), ALL),
                Err(JoseError::BadSignature)
            ));
            let mut sig = b64::decode(parts[2]).unwrap();
            sig[10] ^= 1;
            let tampered = format!("{}.{}.{}", parts[0], parts[1], b64::encode(&sig));
            assert!(matches!(
                verify_both(&tampered, &jwks(), ALL),
                Err(JoseError::BadSignature)
            ));
            let truncated = format!("{}.{}.{}", parts[0], parts[1], b64::encode(&sig[..32]));
            assert!(matches!(
                verify_both(&truncated, &jwks(), ALL),
                Err(JoseError::BadSignature)
            ));
        }
    }

    #[test]
    fn rejects_signature_from_another_key_with_same_kid() {
        for alg in Algorithm::ALL {
            let impostor = SigningKey::generate(alg, key(alg).kid()).unwrap();
            let t = impostor.sign_jwt("JWT", &serde_json::json!({})).unwrap();
            assert!(matches!(
                verify_both(&t, &jwks(), ALL),
                Err(JoseError::BadSignature)
            ));
        }
    }

    #[test]
    fn rejects_unusable_key_material() {
        let k = key(Algorithm::ES256);
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut short = k.public_jwk().clone();
        short.x = Some(b64::encode([1u8; 31]));
        let mut missing = k.public_jwk().clone();
        missing.y = None;
        let mut off_curve = k.public_jwk().clone();
        off_curve.y = Some(b64::encode([1u8; 32]));
        for jwk in [short, missing, off_curve] {
            assert!(matches!(
                verify_both(&t, &JwkSet { keys: vec![jwk] }, ALL),
                Err(JoseError::KeyRejected(_))
            ));
        }

        let r = key(Algorithm::RS256);
        let t = r.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut small = r.public_jwk().clone();
        small.n = Some(b64::encode([0xffu8; 128]));
        assert!(matches!(
            verify_both(&t, &JwkSet { keys: vec![small] }, ALL),
            Err(JoseError::KeyRejected(_))
        ));
        // A modulus with a leading zero octet is tolerated.
        let mut padded = r.public_jwk().clone();
        let mut n = b64::decode(padded.n.as_ref().unwrap()).unwrap();
        n.insert(0, 0);
        padded.n = Some(b64::encode(n));
        verify_both(&t, &JwkSet { keys: vec![padded] }, ALL).unwrap();
    }

    #[test]
    fn foreign_header_key_members_are_ignored() {
        // An attacker-supplied "jwk" header must not be used to verify.
        let attacker = SigningKey::generate(Algorithm::EdDSA, "k-EdDSA").unwrap();
        let h = serde_json::json!({
            "alg": "EdDSA",
            "kid": "k-EdDSA",
            "jwk": attacker.public_jwk(),
            "jku": "https://evil.example/jwks",
        });
        let t = forge(&attacker, h.to_string().as_bytes(), PAYLOAD);
        assert!(matches!(
            verify_both(&t, &jwks(), ALL),
            Err(JoseError::BadSignature)
        ));
    }

    #[test]
    fn error_messages_contain_no_key_material() {
        let k = key(Algorithm::RS256);
        let n = k.public_jwk().n.clone().unwrap();
        let t = k.sign_jwt("JWT", &serde_json::json!({})).unwrap();
        let mut jwk = k.public_jwk().clone();
        jwk.n = Some(format!("{n}!"));
        let err = verify_both(&t, &JwkSet { keys: vec![jwk] }, ALL).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains(&n[..16]), "{msg}");
    }
}
