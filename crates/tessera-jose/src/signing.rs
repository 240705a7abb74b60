//! In-memory private keys that sign JWTs without re-parsing the key.

use std::cell::RefCell;
use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use zeroize::Zeroizing;

use crate::b64;
use crate::{Algorithm, JoseError, Jwk};

/// Largest RSA modulus accepted, in bytes (8192 bits).
const MAX_RSA_MODULUS_LEN: usize = 1024;

/// Claims buffers larger than this are not kept for reuse after signing.
const MAX_RETAINED_BUFFER: usize = 64 * 1024;

/// The `typ` values whose header segment is precomputed at key construction.
const CACHED_TYPS: [&str; 2] = ["at+jwt", "JWT"];

thread_local! {
    /// Per-thread scratch buffer the claims are serialized into, reused across calls.
    static CLAIMS_BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// The parsed aws-lc-rs key pair.
enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A copy of a raw signature on the stack.
struct SignatureBuf {
    bytes: [u8; MAX_RSA_MODULUS_LEN],
    len: usize,
}

impl SignatureBuf {
    fn copy_from(sig: &[u8]) -> SignatureBuf {
        let mut buf = SignatureBuf {
            bytes: [0u8; MAX_RSA_MODULUS_LEN],
            len: sig.len(),
        };
        buf.bytes[..sig.len()].copy_from_slice(sig);
        buf
    }
}

impl AsRef<[u8]> for SignatureBuf {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A parsed private key held in memory, ready to sign without re-parsing.
///
/// Construction parses the key once and caches the public [`Jwk`] and the encoded JWS header
/// for the common `typ` values (`"at+jwt"` and `"JWT"`), so [`SigningKey::sign_jwt`] does only
/// claims serialization, base64url encoding and the signature itself.
///
/// `SigningKey` is `Send + Sync` and is meant to be shared behind an `Arc`. Its `Debug` output
/// shows the `kid` and algorithm only, never key material.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: KeyPair,
    jwk: Jwk,
    /// Base64url header segments for [`CACHED_TYPS`], in the same order.
    cached_headers: [String; 2],
}

impl SigningKey {
    /// Generates a fresh key for `alg`: RSA 2048 bits for RS256, P-256 for ES256, Ed25519 for
    /// EdDSA.
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Crypto`] if key generation fails.
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<SigningKey, JoseError> {
        let failed = |_| JoseError::Crypto("key generation failed");
        let pair = match alg {
            Algorithm::RS256 => {
                KeyPair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            Algorithm::ES256 => KeyPair::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?,
            ),
            Algorithm::EdDSA => KeyPair::Ed(Ed25519KeyPair::generate().map_err(failed)?),
        };
        SigningKey::new(alg, kid.into(), pair)
    }

    /// Parses an unencrypted PKCS#8 (v1, or v2 for Ed25519) DER private key for `alg`.
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::KeyRejected`] if the document is not a valid key of the type `alg`
    /// needs (RSA of 2048 to 8192 bits, P-256, or Ed25519).
    pub fn from_pkcs8_der(
        alg: Algorithm,
        kid: impl Into<String>,
        der: &[u8],
    ) -> Result<SigningKey, JoseError> {
        let pair = match alg {
            Algorithm::RS256 => {
                KeyPair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(JoseError::key_rejected)?)
            }
            Algorithm::ES256 => KeyPair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(JoseError::key_rejected)?,
            ),
            Algorithm::EdDSA => {
                KeyPair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(JoseError::key_rejected)?)
            }
        };
        SigningKey::new(alg, kid.into(), pair)
    }

    fn new(alg: Algorithm, kid: String, pair: KeyPair) -> Result<SigningKey, JoseError> {
        let jwk = match &pair {
            KeyPair::Rsa(kp) => {
                let len = kp.public_modulus_len();
                if !(256..=MAX_RSA_MODULUS_LEN).contains(&len) {
                    return Err(JoseError::KeyRejected(
                        "RSA modulus must be 2048 to 8192 bits".to_owned(),
                    ));
                }
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(kp.public_key());
                Jwk::rsa(&kid, alg.as_str(), &c.n, &c.e)
            }
            KeyPair::Ec(kp) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = kp.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(JoseError::KeyRejected(
                        "unexpected P-256 public key encoding".to_owned(),
                    ));
                }
                Jwk::ec_p256(&kid, alg.as_str(), &point[1..33], &point[33..])
            }
            KeyPair::Ed(kp) => Jwk::ed25519(&kid, alg.as_str(), kp.public_key().as_ref()),
        };
        let cached_headers = [
            header_segment(alg, CACHED_TYPS[0], &kid)?,
            header_segment(alg, CACHED_TYPS[1], &kid)?,
        ];
        Ok(SigningKey {
            kid,
            alg,
            pair,
            jwk,
            cached_headers,
        })
    }

    /// Serializes the private key as an unencrypted PKCS#8 v1 DER document.
    ///
    /// The result round-trips through [`SigningKey::from_pkcs8_der`] and is wiped from memory
    /// when dropped.
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Crypto`] if aws-lc-rs cannot serialize the key.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        let failed = |_| JoseError::Crypto("PKCS#8 serialization failed");
        let der = match &self.pair {
            KeyPair::Rsa(kp) => {
                let doc: Pkcs8V1Der<'static> = kp.as_der().map_err(failed)?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            KeyPair::Ec(kp) => Zeroizing::new(kp.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()),
            KeyPair::Ed(kp) => Zeroizing::new(kp.to_pkcs8v1().map_err(failed)?.as_ref().to_vec()),
        };
        Ok(der)
    }

    /// Returns the key identifier placed in every token's `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Returns the algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Returns the public JWK (`kty`, `kid`, `alg`, `use` = `"sig"`, and `n`/`e` or
    /// `crv`/`x`/`y`), ready to publish in a [`JwkSet`](crate::JwkSet).
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs a JWT: header `{"alg","typ","kid"}` (typ e.g. `"at+jwt"` or `"JWT"`), payload =
    /// serde_json of `claims`.
    ///
    /// An empty `typ` leaves the `typ` member out of the header. The output is built in one
    /// allocation of exactly the right size; the claims JSON goes through a reused per-thread
    /// buffer.
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Json`] if `claims` fails to serialize, or [`JoseError::Crypto`] if
    /// signing fails.
    pub fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, JoseError> {
        let uncached;
        let header = match CACHED_TYPS.iter().position(|t| *t == typ) {
            Some(i) => self.cached_headers[i].as_str(),
            None => {
                uncached = header_segment(self.alg, typ, &self.kid)?;
                uncached.as_str()
            }
        };
        CLAIMS_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                let result = serde_json::to_writer(&mut *buf, claims)
                    .map_err(JoseError::from)
                    .and_then(|()| self.assemble(header, &buf));
                if buf.capacity() > MAX_RETAINED_BUFFER {
                    *buf = Vec::with_capacity(1024);
                }
                result
            }
            // Only reachable if a `Serialize` impl signs a token itself; use a fresh buffer.
            Err(_) => self.assemble(header, &serde_json::to_vec(claims)?),
        })
    }

    /// Builds `header.payload.signature` from an encoded header and the raw payload bytes.
    fn assemble(&self, header: &str, payload: &[u8]) -> Result<String, JoseError> {
        let capacity = header.len()
            + 1
            + b64::encoded_len(payload.len())
            + 1
            + b64::encoded_len(self.signature_len());
        let mut out = String::with_capacity(capacity);
        out.push_str(header);
        out.push('.');
        b64::encode_into(payload, &mut out);
        // The signing input is borrowed from `out`, so the signature is copied out (at most
        // 1 KiB, on the stack) before being appended.
        let signature = self.with_signature(out.as_bytes(), SignatureBuf::copy_from)?;
        out.push('.');
        b64::encode_into(signature.as_ref(), &mut out);
        debug_assert_eq!(out.len(), capacity);
        Ok(out)
    }

    /// Lower level: signs arbitrary bytes and returns the raw signature (JWS form: ES256 is the
    /// fixed 64-byte `r || s`, RS256 is as long as the modulus, EdDSA is 64 bytes).
    ///
    /// # Errors
    ///
    /// Returns [`JoseError::Crypto`] if signing fails.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.with_signature(message, <[u8]>::to_vec)
    }

    /// Returns the length in bytes of this key's signatures.
    pub fn signature_len(&self) -> usize {
        match &self.pair {
            KeyPair::Rsa(kp) => kp.public_modulus_len(),
            KeyPair::Ec(_) | KeyPair::Ed(_) => 64,
        }
    }

    /// Signs `message` and hands the raw signature to `f` in place, without copying it out of
    /// the buffer the primitive produced it in.
    fn with_signature<R>(
        &self,
        message: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, JoseError> {
        let failed = |_| JoseError::Crypto("signing failed");
        match &self.pair {
            KeyPair::Rsa(kp) => {
                let mut sig = [0u8; MAX_RSA_MODULUS_LEN];
                let sig = &mut sig[..kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, sig)
                    .map_err(failed)?;
                Ok(f(sig))
            }
            KeyPair::Ec(kp) => {
                let sig = kp.sign(&SystemRandom::new(), message).map_err(failed)?;
                Ok(f(sig.as_ref()))
            }
            KeyPair::Ed(kp) => {
                let sig = kp.try_sign(message).map_err(failed)?;
                Ok(f(sig.as_ref()))
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The JWS protected header Tessera emits. Field order is the serialization order.
#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    typ: &'a str,
    kid: &'a str,
}

/// Returns the base64url-encoded protected header for `alg`, `typ` and `kid`.
fn header_segment(alg: Algorithm, typ: &str, kid: &str) -> Result<String, JoseError> {
    let json = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        typ,
        kid,
    })?;
    Ok(b64::encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::key;
    use crate::{verify_compact, JwkSet};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Claims {
        iss: String,
        sub: String,
        exp: u64,
    }

    fn claims() -> Claims {
        Claims {
            iss: "https://issuer.example".into(),
            sub: "alice \"quoted\" ✓".into(),
            exp: 4_000_000_000,
        }
    }

    fn set(key: &SigningKey) -> JwkSet {
        JwkSet {
            keys: vec![key.public_jwk().clone()],
        }
    }

    #[test]
    fn signing_key_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<SigningKey>();
    }

    #[test]
    fn round_trip_all_algorithms() {
        for alg in Algorithm::ALL {
            let key = key(alg);
            for typ in ["at+jwt", "JWT", "logout+jwt"] {
                let token = key.sign_jwt(typ, &claims()).unwrap();
                let v = verify_compact(&token, &set(key), &[alg]).unwrap();
                assert_eq!(v.header["alg"], alg.as_str());
                assert_eq!(v.typ(), Some(typ));
                assert_eq!(v.kid(), Some(key.kid()));
                assert_eq!(v.header.len(), 3);
                assert_eq!(v.claims::<Claims>().unwrap(), claims());
            }
        }
    }

    #[test]
    fn header_member_order_and_cache_match_uncached() {
        let key = key(Algorithm::ES256);
        for typ in CACHED_TYPS {
            let token = key.sign_jwt(typ, &claims()).unwrap();
            let header = token.split('.').next().unwrap();
            assert_eq!(
                header,
                header_segment(key.algorithm(), typ, key.kid()).unwrap()
            );
            let json = String::from_utf8(b64::decode(header).unwrap()).unwrap();
            assert_eq!(
                json,
                format!(r#"{{"alg":"ES256","typ":"{typ}","kid":"k-ES256"}}"#)
            );
        }
    }

    #[test]
    fn empty_typ_is_omitted() {
        let key = key(Algorithm::EdDSA);
        let token = key.sign_jwt("", &claims()).unwrap();
        let v = verify_compact(&token, &set(key), &[Algorithm::EdDSA]).unwrap();
        assert!(!v.header.contains_key("typ"));
    }

    #[test]
    fn kid_is_json_escaped() {
        let key = SigningKey::generate(Algorithm::EdDSA, "we\"ird\\kid").unwrap();
        let token = key.sign_jwt("JWT", &claims()).unwrap();
        let v = verify_compact(&token, &set(&key), &[Algorithm::EdDSA]).unwrap();
        assert_eq!(v.kid(), Some("we\"ird\\kid"));
    }

    #[test]
    fn signature_lengths() {
        assert_eq!(key(Algorithm::RS256).signature_len(), 256);
        for alg in Algorithm::ALL {
            let key = key(alg);
            let sig = key.sign_bytes(b"message").unwrap();
            assert_eq!(sig.len(), key.signature_len(), "{alg}");
            let token = key.sign_jwt("JWT", &claims()).unwrap();
            let sig_b64 = token.rsplit('.').next().unwrap();
            assert_eq!(b64::decode(sig_b64).unwrap().len(), key.signature_len());
        }
    }

    #[test]
    fn pkcs8_round_trip_keeps_public_jwk() {
        for alg in Algorithm::ALL {
            let key = key(alg);
            let der = key.to_pkcs8_der().unwrap();
            let again = SigningKey::from_pkcs8_der(alg, key.kid(), &der).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk(), "{alg}");
            assert_eq!(again.algorithm(), alg);
            // The reloaded key signs tokens that the original public key verifies.
            let token = again.sign_jwt("JWT", &claims()).unwrap();
            verify_compact(&token, &set(key), &[alg]).unwrap();
        }
    }

    #[test]
    fn pkcs8_of_the_wrong_type_is_rejected() {
        let ec_der = key(Algorithm::ES256).to_pkcs8_der().unwrap();
        let ed_der = key(Algorithm::EdDSA).to_pkcs8_der().unwrap();
        for (alg, der) in [
            (Algorithm::RS256, &ec_der),
            (Algorithm::EdDSA, &ec_der),
            (Algorithm::ES256, &ed_der),
        ] {
            assert!(matches!(
                SigningKey::from_pkcs8_der(alg, "x", der),
                Err(JoseError::KeyRejected(_))
            ));
        }
        assert!(matches!(
            SigningKey::from_pkcs8_der(Algorithm::ES256, "x", b"not der"),
            Err(JoseError::KeyRejected(_))
        ));
    }

    #[test]
    fn public_jwk_members() {
        let rsa = key(Algorithm::RS256).public_jwk();
        assert_eq!((rsa.kty.as_str(), rsa.alg.as_str()), ("RSA", "RS256"));
        assert_eq!(rsa.use_, "sig");
        assert_eq!(rsa.kid, "k-RS256");
        assert_eq!(b64::decode(rsa.n.as_ref().unwrap()).unwrap().len(), 256);
        assert_eq!(rsa.e.as_deref(), Some("AQAB"));
        assert!(rsa.crv.is_none() && rsa.x.is_none() && rsa.y.is_none());

        let ec = key(Algorithm::ES256).public_jwk();
        assert_eq!((ec.kty.as_str(), ec.crv.as_deref()), ("EC", Some("P-256")));
        assert_eq!(b64::decode(ec.x.as_ref().unwrap()).unwrap().len(), 32);
        assert_eq!(b64::decode(ec.y.as_ref().unwrap()).unwrap().len(), 32);
        assert!(ec.n.is_none() && ec.e.is_none());

        let ed = key(Algorithm::EdDSA).public_jwk();
        assert_eq!(
            (ed.kty.as_str(), ed.crv.as_deref()),
            ("OKP", Some("Ed25519"))
        );
        assert_eq!(b64::decode(ed.x.as_ref().unwrap()).unwrap().len(), 32);
        assert!(ed.y.is_none() && ed.n.is_none());
    }

    #[test]
    fn debug_shows_no_key_material() {
        for alg in Algorithm::ALL {
            let key = key(alg);
            let debug = format!("{key:?}");
            assert!(
                debug.contains(key.kid()) && debug.contains(alg.as_str()),
                "{debug}"
            );
            let jwk = key.public_jwk();
            for part in [&jwk.n, &jwk.x, &jwk.y].into_iter().flatten() {
                assert!(!debug.contains(part.as_str()));
            }
            assert!(debug.len() < 80, "{debug}");
        }
    }

    #[test]
    fn claims_serialization_errors_surface_as_json() {
        struct Failing;
        impl serde::Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let err = key(Algorithm::EdDSA).sign_jwt("JWT", &Failing).unwrap_err();
        assert!(matches!(err, JoseError::Json(_)));
        // The scratch buffer is reusable afterwards.
        key(Algorithm::EdDSA).sign_jwt("JWT", &claims()).unwrap();
    }

    #[test]
    fn reentrant_signing_from_serialize_works() {
        struct Nested;
        impl serde::Serialize for Nested {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let inner = key(Algorithm::EdDSA)
                    .sign_jwt("JWT", &serde_json::json!({"inner": true}))
                    .map_err(serde::ser::Error::custom)?;
                s.serialize_str(&inner)
            }
        }
        let key = key(Algorithm::EdDSA);
        let token = key.sign_jwt("JWT", &Nested).unwrap();
        let v = verify_compact(&token, &set(key), &[Algorithm::EdDSA]).unwrap();
        let inner: String = v.claims().unwrap();
        verify_compact(&inner, &set(key), &[Algorithm::EdDSA]).unwrap();
    }

    #[test]
    fn many_tokens_with_one_key() {
        for alg in Algorithm::ALL {
            let key = key(alg);
            let n = if alg == Algorithm::RS256 { 50 } else { 300 };
            for i in 0..n {
                let claims = serde_json::json!({ "jti": i, "sub": "bob" });
                let token = key.sign_jwt("at+jwt", &claims).unwrap();
                let v = verify_compact(&token, &set(key), &[alg]).unwrap();
                assert_eq!(v.claims::<serde_json::Value>().unwrap()["jti"], i);
            }
        }
    }

    #[test]
    fn large_claims_do_not_pin_a_large_buffer() {
        let key = key(Algorithm::EdDSA);
        let big = "x".repeat(100 * 1024);
        key.sign_jwt("JWT", &serde_json::json!({ "big": big }))
            .unwrap();
        CLAIMS_BUF.with(|b| assert!(b.borrow().capacity() <= MAX_RETAINED_BUFFER));
    }
}
