//! Recovery codes: a set of single-use codes shown to the user once, to sign in when their
//! other second factor is lost.
//!
//! Each code carries 50 random bits (ten characters of a 32-letter alphabet without look-alikes,
//! shown as `xxxxx-xxxxx`), so no slow password hash is needed: they are stored as keyed hashes
//! ([`KeyEncryptionKey::keyed_hash`]), which a stolen database alone cannot test guesses against.
//! A new set replaces the old one entirely; using a code is one atomic update in the store that
//! succeeds once.

use crate::kek::KeyEncryptionKey;
use zeroize::Zeroizing;

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;
/// Characters in a code (without the hyphen): 10 × 5 bits = 50 bits.
pub const CODE_LEN: usize = 10;
/// The alphabet: lower-case letters and digits without the look-alikes `i`, `l`, `o` and `1`,
/// 32 symbols.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
/// The purpose under which codes are hashed (see [`KeyEncryptionKey::keyed_hash`]).
const HASH_PURPOSE: &str = "tessera recovery code v1";

/// A new set: the codes to show once, and the hashes to store.
pub struct RecoveryCodeSet {
    /// The codes, formatted for display (`xxxxx-xxxxx`).
    pub codes: Vec<Zeroizing<String>>,
    /// Their keyed hashes, in the same order.
    pub hashes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodeSet({} codes, <redacted>)", self.codes.len())
    }
}

impl RecoveryCodeSet {
    /// A new random set, hashed under `kek`.
    pub fn generate(kek: &KeyEncryptionKey) -> Self {
        let mut codes = Vec::with_capacity(CODES_PER_SET);
        let mut hashes = Vec::with_capacity(CODES_PER_SET);
        while codes.len() < CODES_PER_SET {
            let mut bytes = Zeroizing::new([0u8; CODE_LEN]);
            crate::random::fill(bytes.as_mut());
            let raw: Zeroizing<String> = Zeroizing::new(
                bytes
                    .iter()
                    .map(|b| ALPHABET[(b & 31) as usize] as char)
                    .collect(),
            );
            let hash = hash(kek, &raw);
            if hashes.contains(&hash) {
                continue; // a repeat within one set (2^-50): draw again
            }
            codes.push(Zeroizing::new(format!("{}-{}", &raw[..5], &raw[5..])));
            hashes.push(hash);
        }
        Self { codes, hashes }
    }
}

/// The stored hash of what a user typed, or `None` if it cannot be a code (so nothing is looked
/// up for it). Case, spaces and hyphens are ignored.
pub fn hash_typed(kek: &KeyEncryptionKey, typed: &str) -> Option<String> {
    let normalised: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let valid = normalised.len() == CODE_LEN && normalised.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| hash(kek, &normalised))
}

fn hash(kek: &KeyEncryptionKey, normalised: &str) -> String {
    kek.keyed_hash(HASH_PURPOSE, normalised.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_has_ten_distinct_well_formed_codes_whose_hashes_match_what_is_typed() {
        let (kek, _) = KeyEncryptionKey::generate();
        let set = RecoveryCodeSet::generate(&kek);
        assert_eq!(set.codes.len(), CODES_PER_SET);
        assert_eq!(set.hashes.len(), CODES_PER_SET);
        for (code, stored) in set.codes.iter().zip(&set.hashes) {
            assert_eq!(code.len(), CODE_LEN + 1);
            assert_eq!(code.as_bytes()[5], b'-');
            assert_eq!(hash_typed(&kek, code).as_ref(), Some(stored));
            let sloppy = format!(" {} ", code.replace('-', " ").to_uppercase());
            assert_eq!(hash_typed(&kek, &sloppy).as_ref(), Some(stored), "{sloppy}");
        }
        let mut unique = set.hashes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), CODES_PER_SET);
        assert!(!format!("{set:?}").contains(set.codes[0].as_str()));
    }

    #[test]
    fn what_cannot_be_a_code_is_not_hashed_and_other_keys_do_not_match() {
        let (kek, _) = KeyEncryptionKey::generate();
        for typed in [
            "",
            "abcde",
            "abcde-fghij-k",
            "abcd1-fghjk",
            "abcde-fghjl",
            "ÄBCDE-FGHJK",
        ] {
            assert_eq!(hash_typed(&kek, typed), None, "{typed:?}");
        }
        let set = RecoveryCodeSet::generate(&kek);
        let (other, _) = KeyEncryptionKey::generate();
        assert_ne!(hash_typed(&other, &set.codes[0]).unwrap(), set.hashes[0]);
    }

    #[test]
    fn the_alphabet_has_32_distinct_symbols() {
        let mut symbols = ALPHABET.to_vec();
        symbols.sort();
        symbols.dedup();
        assert_eq!(symbols.len(), 32);
    }
}
