//! A credential's public key: a COSE_Key (RFC 9052 §7, RFC 9053 §2 and §7, RFC 8230) turned into
//! an aws-lc-rs verifier. The COSE bytes themselves are what the store keeps, and every use
//! re-parses them here, so there is one decoder and one allow-list.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use ciborium::Value;
use coset::iana::{self, EnumI64};
use coset::{AsCborValue, CoseError, CoseKey, KeyType, Label, RegisteredLabelWithPrivate};

use super::cbor;
use super::WebauthnError;

/// The signature algorithms Tessera accepts for passkeys: what platform and roaming
/// authenticators produce in practice. Anything else is refused at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoseAlgorithm {
    /// ECDSA with SHA-256 on P-256 (COSE -7), signatures ASN.1 DER-encoded as WebAuthn specifies.
    Es256,
    /// EdDSA (COSE -8), accepted with the Ed25519 curve only.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE -257), 2048 to 8192-bit moduli (Windows Hello).
    Rs256,
}

impl CoseAlgorithm {
    /// The allow-list, in the order the creation options offer them.
    pub const ALL: [Self; 3] = [Self::EdDsa, Self::Es256, Self::Rs256];

    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            Self::Es256 => iana::Algorithm::ES256.to_i64(),
            Self::EdDsa => iana::Algorithm::EdDSA.to_i64(),
            Self::Rs256 => iana::Algorithm::RS256.to_i64(),
        }
    }

    /// The algorithm for a COSE identifier, if it is on the allow-list.
    pub fn from_cose_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.cose_id() == id)
    }
}

/// A parsed, validated credential public key.
#[derive(Debug, Clone)]
pub struct CredentialPublicKey {
    algorithm: CoseAlgorithm,
    key: ParsedPublicKey,
    cose: Vec<u8>,
}

impl CredentialPublicKey {
    /// Parses the stored form: exactly one CBOR-encoded COSE_Key, nothing after it.
    pub fn from_cose_bytes(bytes: &[u8]) -> Result<Self, WebauthnError> {
        let value =
            cbor::read_whole(bytes).map_err(|_| WebauthnError::MalformedPublicKey("not CBOR"))?;
        Self::from_value(value, bytes)
    }

    /// Builds the key from an already-decoded COSE_Key `value` whose encoding is `cose`.
    pub(crate) fn from_value(value: Value, cose: &[u8]) -> Result<Self, WebauthnError> {
        let key = CoseKey::from_cbor_value(value).map_err(|e| match e {
            // An identifier outside coset's IANA tables (kty or alg) is something we do not
            // support rather than something broken.
            CoseError::UnregisteredIanaValue | CoseError::UnregisteredIanaNonPrivateValue => {
                WebauthnError::UnsupportedAlgorithm
            }
            _ => WebauthnError::MalformedPublicKey("not a COSE_Key"),
        })?;
        // WebAuthn §6.5.1.1: credentialPublicKey MUST carry `alg`.
        let algorithm = match &key.alg {
            Some(RegisteredLabelWithPrivate::Assigned(alg)) => {
                CoseAlgorithm::from_cose_id(alg.to_i64())
            }
            Some(_) => None,
            None => return Err(WebauthnError::MalformedPublicKey("no alg")),
        }
        .ok_or(WebauthnError::UnsupportedAlgorithm)?;
        let parsed = match algorithm {
            CoseAlgorithm::Es256 => es256(&key)?,
            CoseAlgorithm::EdDsa => ed25519(&key)?,
            CoseAlgorithm::Rs256 => rs256(&key)?,
        };
        Ok(Self {
            algorithm,
            key: parsed,
            cose: cose.to_vec(),
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> CoseAlgorithm {
        self.algorithm
    }

    /// The COSE_Key bytes, as the authenticator sent them: the form to store.
    pub fn cose_bytes(&self) -> &[u8] {
        &self.cose
    }

    /// Verifies `signature` over `message` (authenticatorData ‖ SHA-256(clientDataJSON)).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        self.key
            .verify_sig(message, signature)
            .map_err(|_| WebauthnError::BadSignature)
    }
}

fn require_kty(key: &CoseKey, kty: iana::KeyType) -> Result<(), WebauthnError> {
    if key.kty == KeyType::Assigned(kty) {
        Ok(())
    } else {
        Err(WebauthnError::MalformedPublicKey(
            "key type does not fit alg",
        ))
    }
}

/// The parameter labelled `label`, if present.
fn param(key: &CoseKey, label: i64) -> Option<&Value> {
    key.params
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .map(|(_, v)| v)
}

fn bytes_param<'k>(
    key: &'k CoseKey,
    label: i64,
    name: &'static str,
) -> Result<&'k [u8], WebauthnError> {
    match param(key, label) {
        Some(Value::Bytes(bytes)) => Ok(bytes),
        _ => Err(WebauthnError::MalformedPublicKey(name)),
    }
}

fn curve(key: &CoseKey, label: i64) -> Result<i64, WebauthnError> {
    param(key, label)
        .and_then(Value::as_integer)
        .and_then(|crv| i64::try_from(crv).ok())
        .ok_or(WebauthnError::MalformedPublicKey("no crv"))
}

/// EC2 on P-256, x and y as 32-byte strings (WebAuthn requires the uncompressed form, §6.5.1.1).
fn es256(key: &CoseKey) -> Result<ParsedPublicKey, WebauthnError> {
    require_kty(key, iana::KeyType::EC2)?;
    if curve(key, iana::Ec2KeyParameter::Crv.to_i64())? != iana::EllipticCurve::P_256.to_i64() {
        return Err(WebauthnError::MalformedPublicKey("ES256 needs P-256"));
    }
    let x = bytes_param(key, iana::Ec2KeyParameter::X.to_i64(), "no x")?;
    let y = bytes_param(key, iana::Ec2KeyParameter::Y.to_i64(), "no y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err(WebauthnError::MalformedPublicKey(
            "P-256 coordinates are 32 bytes",
        ));
    }
    let point = [&[0x04][..], x, y].concat();
    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
        .map_err(|_| WebauthnError::MalformedPublicKey("not a P-256 point"))
}

/// OKP on Ed25519; Ed448 and the other OKP curves are refused as unsupported.
fn ed25519(key: &CoseKey) -> Result<ParsedPublicKey, WebauthnError> {
    require_kty(key, iana::KeyType::OKP)?;
    if curve(key, iana::OkpKeyParameter::Crv.to_i64())? != iana::EllipticCurve::Ed25519.to_i64() {
        return Err(WebauthnError::UnsupportedAlgorithm);
    }
    let x = bytes_param(key, iana::OkpKeyParameter::X.to_i64(), "no x")?;
    if x.len() != 32 {
        return Err(WebauthnError::MalformedPublicKey(
            "Ed25519 keys are 32 bytes",
        ));
    }
    ParsedPublicKey::new(&signature::ED25519, x)
        .map_err(|_| WebauthnError::MalformedPublicKey("not an Ed25519 key"))
}

/// RSA with n and e as big-endian byte strings (RFC 8230 §4).
fn rs256(key: &CoseKey) -> Result<ParsedPublicKey, WebauthnError> {
    require_kty(key, iana::KeyType::RSA)?;
    let n = strip_leading_zeros(bytes_param(key, iana::RsaKeyParameter::N.to_i64(), "no n")?);
    let e = strip_leading_zeros(bytes_param(key, iana::RsaKeyParameter::E.to_i64(), "no e")?);
    // aws-lc-rs checks the size range only when verifying; checking here refuses at registration
    // a key that could never sign in.
    let bits = match n.first() {
        Some(first) => n
            .len()
            .saturating_mul(8)
            .saturating_sub(first.leading_zeros() as usize),
        None => 0,
    };
    if !(2048..=8192).contains(&bits) {
        return Err(WebauthnError::MalformedPublicKey(
            "RSA modulus outside 2048-8192 bits",
        ));
    }
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| WebauthnError::MalformedPublicKey("not an RSA key"))
}

/// RFC 8230 integers carry no leading zeros, but aws-lc-rs refuses them outright; tolerate the
/// encoders that add one rather than lock their users out.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}
