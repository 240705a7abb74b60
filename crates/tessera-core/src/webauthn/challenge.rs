//! The per-ceremony challenge: 32 random bytes, kept by the caller between sending the options and
//! receiving the response, and matched once against clientDataJSON.

use aws_lc_rs::constant_time;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::WebauthnError;

/// A WebAuthn challenge, held in its base64url (no padding) text form: that is how it travels in
/// the options JSON, how clientDataJSON echoes it, and how the caller stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge(String);

impl Challenge {
    /// Length of a challenge in bytes: 256 bits, well above the specification's 16-byte minimum.
    pub const BYTES: usize = 32;

    /// A fresh challenge from the operating system's CSPRNG.
    pub fn new() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        crate::random::fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A challenge read back from the caller's store. Only the form [`Challenge::new`] makes is
    /// accepted, so a corrupted store cannot weaken the check to a short or empty challenge.
    pub fn from_encoded(encoded: &str) -> Result<Self, WebauthnError> {
        match URL_SAFE_NO_PAD.decode(encoded) {
            Ok(bytes) if bytes.len() == Self::BYTES => Ok(Self(encoded.to_owned())),
            _ => Err(WebauthnError::MalformedChallenge),
        }
    }

    /// The base64url text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether clientDataJSON's `challenge` is this one. The specification compares the base64url
    /// forms (§7.1 step 8, §7.2 step 13); comparing in constant time keeps a timing side channel
    /// from revealing a pending challenge byte by byte.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.as_bytes()).is_ok()
    }
}

impl Default for Challenge {
    /// A fresh random challenge, as [`Challenge::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_random_and_round_trip() {
        let a = Challenge::new();
        assert_eq!(a.as_str().len(), 43);
        assert_ne!(a, Challenge::new());
        assert_eq!(Challenge::from_encoded(a.as_str()), Ok(a.clone()));
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(Challenge::new().as_str()));
        assert!(!a.matches(""));
    }

    #[test]
    fn only_our_own_form_is_accepted_back() {
        for bad in [
            "",
            "AAAA",
            "not base64!",
            &"A".repeat(44),
            &format!("{}=", "A".repeat(43)),
        ] {
            assert_eq!(
                Challenge::from_encoded(bad),
                Err(WebauthnError::MalformedChallenge),
                "{bad:?}"
            );
        }
    }
}
