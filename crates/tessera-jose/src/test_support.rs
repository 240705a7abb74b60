//! Shared fixtures for the unit tests.

use std::sync::OnceLock;

use crate::{b64, Algorithm, SigningKey};

/// Returns a process-wide key for `alg` with kid `"k-<alg>"`, generated once (RSA generation
/// is slow enough to be worth sharing).
pub(crate) fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = Algorithm::ALL.iter().position(|a| *a == alg).unwrap();
    KEYS[i].get_or_init(|| SigningKey::generate(alg, format!("k-{alg}")).unwrap())
}

/// Builds a correctly signed compact JWS with an arbitrary header and payload, so a test can
/// show that a rejection comes from the rule under test and not from a bad signature.
pub(crate) fn forge(key: &SigningKey, header_json: &[u8], payload: &[u8]) -> String {
    let mut token = b64::encode(header_json);
    token.push('.');
    b64::encode_into(payload, &mut token);
    let sig = key.sign_bytes(token.as_bytes()).unwrap();
    token.push('.');
    b64::encode_into(sig, &mut token);
    token
}
