//! Hand-built WebAuthn structures, for what the `passkey` authenticator will not produce: BE set,
//! UP clear at registration, RS256 keys, packed self-attestation, unsupported algorithms, and
//! well-formed samples for the fuzz test to mutate. Keys come from aws-lc-rs.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, RSA_PKCS1_SHA256,
};
use ciborium::Value;

use crate::webauthn::Flags;

pub const RP_ID: &str = "login.example.com";
pub const ORIGIN: &str = "https://login.example.com";

/// A signing key of one of the supported kinds.
pub enum TestKey {
    P256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

impl TestKey {
    pub fn p256() -> Self {
        Self::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap())
    }

    pub fn ed25519() -> Self {
        Self::Ed25519(Ed25519KeyPair::generate().unwrap())
    }

    pub fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    /// The COSE algorithm identifier.
    pub fn alg(&self) -> i64 {
        match self {
            Self::P256(_) => -7,
            Self::Ed25519(_) => -8,
            Self::Rsa(_) => -257,
        }
    }

    /// The public key as a COSE_Key (RFC 9053 §7.1, §7.2; RFC 8230 §4).
    pub fn cose(&self) -> Vec<u8> {
        let entries = match self {
            Self::P256(key) => {
                let point = key.public_key().as_ref();
                vec![
                    (int(1), int(2)),
                    (int(3), int(self.alg())),
                    (int(-1), int(1)),
                    (int(-2), Value::Bytes(point[1..33].to_vec())),
                    (int(-3), Value::Bytes(point[33..65].to_vec())),
                ]
            }
            Self::Ed25519(key) => vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), Value::Bytes(key.public_key().as_ref().to_vec())),
            ],
            Self::Rsa(key) => {
                let public = key.public_key();
                vec![
                    (int(1), int(3)),
                    (int(3), int(-257)),
                    (
                        int(-1),
                        Value::Bytes(public.modulus().big_endian_without_leading_zero().to_vec()),
                    ),
                    (
                        int(-2),
                        Value::Bytes(public.exponent().big_endian_without_leading_zero().to_vec()),
                    ),
                ]
            }
        };
        cbor(&Value::Map(entries))
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::P256(key) => key.sign(&rng, message).unwrap().as_ref().to_vec(),
            Self::Ed25519(key) => key.sign(message).as_ref().to_vec(),
            Self::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .unwrap();
                sig
            }
        }
    }

    /// Signs authenticatorData ‖ SHA-256(clientDataJSON), as an authenticator does.
    pub fn sign_ceremony(&self, auth_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
        let hash = digest::digest(&digest::SHA256, client_data_json);
        self.sign(&[auth_data, hash.as_ref()].concat())
    }
}

pub fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

/// A COSE key with an algorithm outside the allow-list: ES384 on P-384 (RFC 9053 §2.1).
pub fn es384_cose_key() -> Vec<u8> {
    cbor(&Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-35)),
        (int(-1), int(2)),
        (int(-2), Value::Bytes(vec![1; 48])),
        (int(-3), Value::Bytes(vec![2; 48])),
    ]))
}

/// The usual flags of a registration or assertion: UP and UV.
pub const UP_UV: u8 = Flags::USER_PRESENT | Flags::USER_VERIFIED;

/// Authenticator data for `rp_id`; `credential` adds attested credential data (and AT), and
/// `extensions` adds an extensions map (and ED).
pub fn auth_data(
    rp_id: &str,
    flags: u8,
    sign_count: u32,
    credential: Option<(&[u8], &[u8])>,
    extensions: Option<&Value>,
) -> Vec<u8> {
    let mut out = digest::digest(&digest::SHA256, rp_id.as_bytes())
        .as_ref()
        .to_vec();
    let mut flags = flags;
    if credential.is_some() {
        flags |= Flags::ATTESTED_CREDENTIAL;
    }
    if extensions.is_some() {
        flags |= Flags::EXTENSIONS;
    }
    out.push(flags);
    out.extend_from_slice(&sign_count.to_be_bytes());
    if let Some((id, cose)) = credential {
        out.extend_from_slice(&[0xAA; 16]);
        out.extend_from_slice(&u16::try_from(id.len()).unwrap().to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(cose);
    }
    if let Some(extensions) = extensions {
        out.extend_from_slice(&cbor(extensions));
    }
    out
}

/// An attestation object `{fmt, attStmt, authData}`.
pub fn attestation_object(fmt: &str, statement: Vec<(Value, Value)>, auth_data: &[u8]) -> Vec<u8> {
    cbor(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(fmt.into())),
        (Value::Text("attStmt".into()), Value::Map(statement)),
        (
            Value::Text("authData".into()),
            Value::Bytes(auth_data.to_vec()),
        ),
    ]))
}

/// A packed self-attestation statement by `key` over `auth_data` and `client_data_json`.
pub fn packed_self(
    key: &TestKey,
    alg: i64,
    auth_data: &[u8],
    client_data_json: &[u8],
) -> Vec<(Value, Value)> {
    vec![
        (Value::Text("alg".into()), int(alg)),
        (
            Value::Text("sig".into()),
            Value::Bytes(key.sign_ceremony(auth_data, client_data_json)),
        ),
    ]
}

/// clientDataJSON as a browser writes it, with `extra` members appended (`,"k":v`).
pub fn client_data(ty: &str, challenge: &str, origin: &str, extra: &str) -> Vec<u8> {
    format!(r#"{{"type":"{ty}","challenge":"{challenge}","origin":"{origin}"{extra}}}"#)
        .into_bytes()
}
