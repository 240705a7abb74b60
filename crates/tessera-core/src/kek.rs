//! The key-encryption key (KEK) that seals signing keys (and TOTP seeds, device cookies) at rest,
//! and keys the hashes of high-entropy secrets that must not be verifiable without it (recovery
//! codes): a stolen database alone then cannot test guesses against them.
//!
//! Sealed form: `version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag`, with the
//! key id as associated data so a sealed key cannot be moved to another key's row unnoticed.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::fmt;
use zeroize::Zeroizing;

const SEALED_VERSION: u8 = 1;
/// Length of a key-encryption key in bytes.
pub const KEK_LEN: usize = 32;

/// A 256-bit AES-GCM key that seals and opens private signing keys.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
    /// HMAC-SHA-256 under the KEK's bytes: the root of [`KeyEncryptionKey::keyed_hash`]'s
    /// per-purpose keys.
    mac_root: hmac::Key,
}

/// Why a key-encryption key could not be read, or a sealed key could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The encoded KEK is not base64 of exactly 32 bytes.
    #[error("the key-encryption key must be {KEK_LEN} random bytes, base64-encoded (for example `openssl rand -base64 32`)")]
    Malformed,
    /// A sealed key did not open: the KEK is not the one it was sealed with, or the data is damaged.
    #[error("a stored signing key could not be decrypted: the key-encryption key is not the one the keys were sealed with, or the stored key is damaged")]
    WrongKeyOrCorrupt,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

impl KeyEncryptionKey {
    /// A new random KEK and its base64 encoding (to be written to the KEK file).
    pub fn generate() -> (Self, Zeroizing<String>) {
        let mut bytes = Zeroizing::new([0u8; KEK_LEN]);
        crate::random::fill(bytes.as_mut());
        let encoded = Zeroizing::new(STANDARD.encode(bytes.as_ref()));
        (Self::from_bytes(bytes.as_ref()), encoded)
    }

    /// Reads a base64 (standard or URL-safe, padding optional) KEK; surrounding white space is
    /// ignored so files ending in a newline work.
    pub fn from_base64(encoded: &str) -> Result<Self, KekError> {
        let trimmed = encoded.trim();
        let bytes = Zeroizing::new(
            STANDARD
                .decode(trimmed)
                .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed.trim_end_matches('=')))
                .map_err(|_| KekError::Malformed)?,
        );
        if bytes.len() != KEK_LEN {
            return Err(KekError::Malformed);
        }
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key");
        Self {
            key: LessSafeKey::new(unbound),
            mac_root: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// A keyed hash of `data` for `purpose` (base64url, 256 bits): HMAC-SHA-256 under a key
    /// derived from the KEK for that purpose alone, so hashes made for one purpose say nothing
    /// about another's. For high-entropy secrets (recovery codes), where a slow password hash
    /// is not needed but a hash anyone could recompute from a stolen table would be.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> String {
        let purpose_key = hmac::sign(&self.mac_root, purpose.as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, purpose_key.as_ref());
        URL_SAFE_NO_PAD.encode(hmac::sign(&key, data))
    }

    /// Seals `plaintext`, binding it to `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::random::fill(&mut nonce);
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut in_out,
            )
            .expect("AES-GCM sealing of a small buffer cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(SEALED_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        in_out.fill(0);
        sealed
    }

    /// Opens a value sealed for `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != SEALED_VERSION {
            return Err(KekError::WrongKeyOrCorrupt);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| KekError::WrongKeyOrCorrupt)?;
        let mut in_out = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut in_out)
            .map_err(|_| KekError::WrongKeyOrCorrupt)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_the_key_the_purpose_and_the_data() {
        let (kek, encoded) = KeyEncryptionKey::generate();
        let same = KeyEncryptionKey::from_base64(&encoded).unwrap();
        let (other, _) = KeyEncryptionKey::generate();
        let hash = kek.keyed_hash("recovery-code", b"abcde-fghij");
        assert_eq!(hash.len(), 43);
        assert_eq!(hash, same.keyed_hash("recovery-code", b"abcde-fghij"));
        assert_ne!(hash, other.keyed_hash("recovery-code", b"abcde-fghij"));
        assert_ne!(hash, kek.keyed_hash("other-purpose", b"abcde-fghij"));
        assert_ne!(hash, kek.keyed_hash("recovery-code", b"abcde-fghik"));
    }

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let (kek, encoded) = KeyEncryptionKey::generate();
        let sealed = kek.seal("kid-1", b"private key bytes");
        assert_eq!(
            kek.open("kid-1", &sealed).unwrap().as_slice(),
            b"private key bytes"
        );
        // Bound to the key id.
        assert_eq!(kek.open("kid-2", &sealed), Err(KekError::WrongKeyOrCorrupt));
        // Any flipped bit is detected.
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(
            kek.open("kid-1", &damaged),
            Err(KekError::WrongKeyOrCorrupt)
        );
        // The same KEK read back from its encoding opens it; another KEK does not.
        let again = KeyEncryptionKey::from_base64(&format!("{}\n", *encoded)).unwrap();
        assert!(again.open("kid-1", &sealed).is_ok());
        let (other, _) = KeyEncryptionKey::generate();
        assert_eq!(
            other.open("kid-1", &sealed),
            Err(KekError::WrongKeyOrCorrupt)
        );
    }

    #[test]
    fn malformed_keks_are_refused() {
        for bad in ["", "not base64!!", "c2hvcnQ=", &STANDARD.encode([0u8; 31])] {
            assert_eq!(
                KeyEncryptionKey::from_base64(bad).unwrap_err(),
                KekError::Malformed,
                "{bad}"
            );
        }
        assert!(KeyEncryptionKey::from_base64(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
    }
}
