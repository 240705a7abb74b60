//! Password rules and hashing.
//!
//! Rules follow NIST SP 800-63B: 8 to 128 characters, no composition rules, no truncation, and
//! rejection of the 10,000 most common passwords. Hashes are argon2id with the OWASP parameters
//! (m = 19 MiB, t = 2, p = 1) in PHC string form, so parameters can change later and old hashes
//! still verify.

use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// Fewest characters (Unicode scalar values) a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters a password may have. Bounded so that hashing cost cannot be driven up by
/// megabyte-long inputs.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Bytes of argon2 output in the hashes made here (the PHC default).
const OUTPUT_LEN: usize = 32;

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

/// Scratch memory for argon2 (19 MiB at the OWASP parameters), kept from one hash to the next.
///
/// Why not let each hash allocate its own: glibc's malloc serves the first such block with mmap,
/// then raises its mmap threshold past that size, and later blocks come from per-thread arenas
/// that keep the memory once the hash is done. Hashing on tokio's changing blocking threads
/// spread them over many arenas, and a burst of sign-ins left the server holding hundreds of
/// megabytes (bench/run measured 250 MB peak RSS on one core). Reusing a block per concurrent
/// hash bounds that at one block per hash that can run at once.
pub struct HashingMemory {
    blocks: Vec<argon2::Block>,
}

impl HashingMemory {
    /// The first `params.block_count()` blocks, grown if a stored hash asks for more memory
    /// than this was made for.
    fn blocks_for(&mut self, params: &Params) -> &mut [argon2::Block] {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, argon2::Block::default());
        }
        &mut self.blocks[..needed]
    }
}

impl fmt::Debug for HashingMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashingMemory({} blocks)", self.blocks.len())
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

    /// Scratch memory for [`hash_in`](Self::hash_in) and [`verify_in`](Self::verify_in) at
    /// this hasher's parameters.
    pub fn new_memory(&self) -> HashingMemory {
        HashingMemory {
            blocks: vec![argon2::Block::default(); self.argon2.params().block_count()],
        }
    }

    /// Hashes `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> PasswordHash {
        self.hash_in(password, &mut self.new_memory())
    }

    /// [`hash`](Self::hash), computed in `memory`.
    pub fn hash_in(&self, password: &str, memory: &mut HashingMemory) -> PasswordHash {
        let mut salt = [0u8; 16];
        crate::random::fill(&mut salt);
        let mut output = [0u8; OUTPUT_LEN];
        self.argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut output,
                memory.blocks_for(self.argon2.params()),
            )
            .expect("argon2 hashing with valid parameters cannot fail");
        self.phc(&salt, &output)
    }

    /// A well-formed hash with this hasher's parameters that no password matches: a random salt
    /// and a random output, computed without running argon2. Verifying a password against it
    /// costs exactly what verifying against a real hash costs, so a sign-in for an unknown
    /// account can take as long as one for a real account, and making it costs nothing at
    /// start-up. (A password would have to hash to 256 given random bits to match.)
    pub fn unmatchable_hash(&self) -> PasswordHash {
        let mut salt = [0u8; 16];
        crate::random::fill(&mut salt);
        let mut output = [0u8; OUTPUT_LEN];
        crate::random::fill(&mut output);
        self.phc(&salt, &output)
    }

    /// The PHC string of an argon2id output at this hasher's parameters.
    fn phc(&self, salt: &[u8], output: &[u8]) -> PasswordHash {
        let salt = SaltString::encode_b64(salt).expect("16 bytes is a valid salt length");
        let output = Output::new(output).expect("32 bytes is a valid argon2 output length");
        let params = self.argon2.params();
        PasswordHash(format!(
            "$argon2id$v={}${}${}${}",
            u32::from(Version::V0x13),
            ParamsString::try_from(params).expect("argon2 parameters fit a PHC string"),
            salt.as_str(),
            output
        ))
    }

    /// Whether `password` matches `hash`. A malformed stored hash never matches.
    pub fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        self.verify_in(password, hash, &mut self.new_memory())
    }

    /// [`verify`](Self::verify), computed in `memory`. The hash's own algorithm, version and
    /// parameters are used, as the argon2 crate's verifier does, so hashes made with other
    /// parameters still verify; the comparison is constant-time (`Output`'s equality).
    pub fn verify_in(
        &self,
        password: &str,
        hash: &PasswordHash,
        memory: &mut HashingMemory,
    ) -> bool {
        let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_str()) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
            return false;
        };
        let Ok(version) = parsed.version.map(Version::try_from).transpose() else {
            return false;
        };
        // Reads m, t and p, and takes the output length from the stored output.
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
        let mut output = vec![0u8; expected.len()];
        let computed = argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut output,
            memory.blocks_for(&params),
        );
        computed.is_ok() && Output::new(&output).is_ok_and(|output| output == expected)
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

    /// `verify_in` reimplements the argon2 crate's verifier on reusable memory; it must agree
    /// with that verifier on hashes the crate makes with any algorithm, version and parameters,
    /// and the crate must accept the hashes `hash_in` makes.
    #[test]
    fn verifying_in_reused_memory_agrees_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::owasp();
        let mut memory = hasher.new_memory();
        let password = "correct horse battery staple";

        let ours = hasher.hash_in(password, &mut memory);
        let parsed = argon2::password_hash::PasswordHash::new(ours.as_str()).unwrap();
        let reference = Argon2::default();
        assert!(reference
            .verify_password(password.as_bytes(), &parsed)
            .is_ok());
        assert!(reference
            .verify_password(b"correct horse", &parsed)
            .is_err());

        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let others = [
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(2048, 3, 2, None),
            ),
            (
                Algorithm::Argon2i,
                Version::V0x10,
                Params::new(1024, 1, 1, Some(24)),
            ),
            (
                Algorithm::Argon2d,
                Version::V0x13,
                Params::new(4096, 2, 1, Some(64)),
            ),
            // More memory than `memory` was made for: it grows.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(24 * 1024, 1, 1, None),
            ),
        ];
        for (algorithm, version, params) in others {
            let theirs = Argon2::new(algorithm, version, params.unwrap())
                .hash_password(password.as_bytes(), &salt)
                .unwrap()
                .to_string();
            let theirs = PasswordHash::from_stored(theirs);
            assert!(
                hasher.verify_in(password, &theirs, &mut memory),
                "{theirs:?}"
            );
            assert!(!hasher.verify_in("correct horse battery stapler", &theirs, &mut memory));
        }
        // The memory still serves the default parameters after growing.
        assert!(hasher.verify_in(password, &ours, &mut memory));

        for malformed in [
            "$argon2id$v=19$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "$argon2id$v=7$m=19456,t=2,p=1$c2l4dGVlbiBieXRlIHNsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "",
        ] {
            let malformed = PasswordHash::from_stored(malformed.into());
            assert!(!hasher.verify_in(password, &malformed, &mut memory));
        }
    }

    /// The unmatchable hash must parse with the same algorithm and parameters as a real one:
    /// a malformed one would be refused before argon2 ran, and a sign-in for an unknown account
    /// would answer measurably faster than for a real one.
    #[test]
    fn unmatchable_hash_costs_what_a_real_hash_costs_and_matches_nothing() {
        let hasher = PasswordHasher::owasp();
        let real = hasher.hash("correct horse battery staple");
        let unmatchable = hasher.unmatchable_hash();
        let parse = |hash: &PasswordHash| {
            let parsed = argon2::password_hash::PasswordHash::new(hash.as_str())
                .expect("a well-formed PHC string");
            assert_eq!(parsed.hash.expect("an output").len(), 32);
            (
                parsed.algorithm.to_string(),
                parsed.version,
                parsed.params.to_string(),
            )
        };
        assert_eq!(parse(&unmatchable), parse(&real));
        assert_ne!(
            unmatchable,
            hasher.unmatchable_hash(),
            "salt and output are random"
        );
        assert!(!hasher.verify("", &unmatchable));
        assert!(!hasher.verify("correct horse battery staple", &unmatchable));
    }
}
