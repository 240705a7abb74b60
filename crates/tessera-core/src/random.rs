//! Unguessable values: identifiers, secrets, token ids. All come from the operating system's
//! CSPRNG through aws-lc-rs.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Fills `buf` with cryptographically secure random bytes.
pub fn fill(buf: &mut [u8]) {
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random source failed");
}

/// `bytes` random bytes, base64url-encoded without padding (so 16 bytes give 128 bits in 22
/// characters, 32 bytes give 256 bits in 43 characters).
pub fn token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_have_the_requested_entropy_and_differ() {
        let a = super::token(32);
        let b = super::token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
