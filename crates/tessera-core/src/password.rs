//! Password rules and hashing.
//!
//! Rules follow NIST SP 800-63B: 8 to 128 characters, no composition rules, no truncation, and
//! rejection of the 10,000 most common passwords. Hashes are argon2id with the OWASP parameters
//! (m = 19 MiB, t = 2, p = 1) in PHC string form, so parameters can change later and old hashes
//! still verify.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// Fewest characters (Unicode scalar values) a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters a password may have. Bounded so that hashing cost cannot be driven up by
/// megabyte-long inputs.
pub const MAX_PASSWORD_CHARS: usize = 128;

const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Why a new password was refused. The messages are meant for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejection {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    /// Among the most common passwords.
    #[error("this password is among the 10,000 most common passwords; choose another")]
    TooCommon,
}

/// Checks a new password against the rules. Only new passwords are checked; a login compares
/// whatever is typed.
pub fn check_new_password(password: &str) -> Result<(), PasswordRejection> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordRejection::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordRejection::TooLong);
    }
    if common_passwords().contains(password.to_lowercase().as_str()) {
        return Err(PasswordRejection::TooCommon);
    }
    Ok(())
}

/// A stored password hash in PHC string format.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from the store.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Hashes and verifies passwords with argon2id. CPU-heavy and blocking: callers on an async
/// runtime run it on a blocking thread with bounded concurrency (see the server's hashing pool).
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::owasp()
    }
}

impl PasswordHasher {
    /// argon2id, m = 19 MiB, t = 2, p = 1.
    pub fn owasp() -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    /// Hashes `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> PasswordHash {
        let mut salt = [0u8; 16];
        crate::random::fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
        let phc = self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 hashing with valid parameters cannot fail")
            .to_string();
        PasswordHash(phc)
    }

    /// Whether `password` matches `hash`. A malformed stored hash never matches.
    pub fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        match argon2::password_hash::PasswordHash::new(hash.as_str()) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_ten_thousand_passwords() {
        assert_eq!(common_passwords().len(), 10_000);
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(
            check_new_password("short"),
            Err(PasswordRejection::TooShort)
        );
        // Characters, not bytes: seven multi-byte characters are still too short.
        assert_eq!(
            check_new_password("ééééééé"),
            Err(PasswordRejection::TooShort)
        );
        assert_eq!(
            check_new_password(&"x".repeat(129)),
            Err(PasswordRejection::TooLong)
        );
        assert_eq!(
            check_new_password("password"),
            Err(PasswordRejection::TooCommon)
        );
        assert_eq!(
            check_new_password("PassWord"),
            Err(PasswordRejection::TooCommon)
        );
        assert_eq!(
            check_new_password("12345678"),
            Err(PasswordRejection::TooCommon)
        );
        // No composition rules: a long lower-case phrase is fine.
        assert_eq!(check_new_password("correct horse battery staple"), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(128)), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::owasp();
        let hash = hasher.hash("correct horse battery staple");
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(hasher.verify("correct horse battery staple", &hash));
        assert!(!hasher.verify("correct horse battery stapl", &hash));
        assert!(!hasher.verify("x", &PasswordHash::from_stored("not a phc string".into())));
        // No truncation: a difference in the 128th character matters.
        let long = "y".repeat(127) + "a";
        let hash = hasher.hash(&long);
        assert!(!hasher.verify(&("y".repeat(127) + "b"), &hash));
    }
}
