//! One-time codes sent to the user, by email or SMS: six digits, valid for ten minutes, used
//! once, at most five wrong tries each. The same mechanism serves a second factor at sign-in and
//! the proof that a user receives messages at an address or number, as different
//! [`CodePurpose`]s.
//!
//! A code is stored only as a keyed hash ([`KeyEncryptionKey::keyed_hash`]) bound to its user,
//! purpose and destination (the address or number it was sent to): six digits are quickly
//! guessed from an unkeyed hash, a code for verifying the address never matches at sign-in, one
//! user's code never matches another's, and a code sent to one number does not verify another.
//! The store keeps one live code per user and purpose (a new one replaces it) and applies the
//! rules below in single conditional statements.

use crate::ids::UserId;
use crate::kek::KeyEncryptionKey;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Digits in a code.
pub const DIGITS: usize = 6;
/// How long a code is valid.
pub const LIFETIME: Duration = Duration::minutes(10);
/// Wrong tries after which a code stops working (a new one must be sent).
pub const MAX_WRONG_ATTEMPTS: u32 = 5;

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// A second factor at sign-in, sent by email.
    EmailSignIn,
    /// Proving the user receives mail at their address.
    VerifyEmail,
    /// A second factor at sign-in, sent by SMS.
    SmsSignIn,
    /// Proving the user receives SMS at a number.
    VerifyPhone,
    /// Proving the user receives mail at the new address they want their account moved to (a
    /// separate purpose from [`CodePurpose::VerifyEmail`], so a code for confirming the current
    /// address never moves the account).
    ChangeEmail,
}

impl CodePurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::EmailSignIn => "sign-in",
            CodePurpose::VerifyEmail => "verify-email",
            CodePurpose::SmsSignIn => "sms-sign-in",
            CodePurpose::VerifyPhone => "verify-phone",
            CodePurpose::ChangeEmail => "change-email",
        }
    }
}

/// A code as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentCode {
    /// Whose.
    pub user_id: UserId,
    /// What for.
    pub purpose: CodePurpose,
    /// Keyed hash of the digits, bound to user and purpose.
    pub code_hash: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What presenting a code gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, and now used.
    Accepted,
    /// Wrong; this many tries are left on the live code.
    Wrong {
        /// Tries left before the code stops working.
        tries_left: u32,
    },
    /// No live code: none sent, expired, used, or out of tries.
    NoLiveCode,
}

impl SentCode {
    /// A new random code for `user` and `purpose`, to send to `destination` (an address or a
    /// number): the digits to send, and the record to store.
    pub fn issue(
        user: &UserId,
        purpose: CodePurpose,
        destination: &str,
        kek: &KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> (Zeroizing<String>, Self) {
        // Uniform over 000000–999999: draw 32-bit values and reject the top sliver that would
        // bias the remainder.
        const RANGE: u32 = 1_000_000;
        const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
        let value = loop {
            let mut bytes = [0u8; 4];
            crate::random::fill(&mut bytes);
            let drawn = u32::from_be_bytes(bytes);
            if drawn < LIMIT {
                break drawn % RANGE;
            }
        };
        let digits = Zeroizing::new(format!("{value:06}"));
        let record = Self {
            user_id: user.clone(),
            purpose,
            code_hash: hash(kek, user, purpose, destination, &digits),
            created_at: now,
            expires_at: now + LIFETIME,
        };
        (digits, record)
    }
}

/// The stored hash `typed` would have for `user`, `purpose` and `destination`; `None` if it is
/// not six digits (spaces ignored), so nothing is looked up and no try is spent on a typo of the
/// wrong shape.
pub fn hash_typed(
    kek: &KeyEncryptionKey,
    user: &UserId,
    purpose: CodePurpose,
    destination: &str,
    typed: &str,
) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| hash(kek, user, purpose, destination, &digits))
}

fn hash(
    kek: &KeyEncryptionKey,
    user: &UserId,
    purpose: CodePurpose,
    destination: &str,
    digits: &str,
) -> String {
    kek.keyed_hash(
        "tessera sent code v1",
        format!(
            "{}\0{}\0{destination}\0{digits}",
            purpose.as_str(),
            user.as_str()
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hash_only_for_their_user_and_purpose() {
        let (kek, _) = KeyEncryptionKey::generate();
        let ada = UserId::from_stored("ada".into());
        let bob = UserId::from_stored("bob".into());
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let to = "ada@example.com";
        let (digits, code) = SentCode::issue(&ada, CodePurpose::EmailSignIn, to, &kek, now);
        assert_eq!(digits.len(), 6);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(code.expires_at - code.created_at, LIFETIME);
        let spaced = format!("{} {}", &digits[..3], &digits[3..]);
        assert_eq!(
            hash_typed(&kek, &ada, CodePurpose::EmailSignIn, to, &spaced).as_deref(),
            Some(code.code_hash.as_str())
        );
        assert_ne!(
            hash_typed(&kek, &ada, CodePurpose::VerifyEmail, to, &digits).unwrap(),
            code.code_hash,
            "a code for another purpose"
        );
        assert_ne!(
            hash_typed(&kek, &bob, CodePurpose::EmailSignIn, to, &digits).unwrap(),
            code.code_hash,
            "another user's code"
        );
        assert_ne!(
            hash_typed(
                &kek,
                &ada,
                CodePurpose::EmailSignIn,
                "+442079460958",
                &digits
            )
            .unwrap(),
            code.code_hash,
            "a code sent elsewhere"
        );
        for typed in ["", "12345", "1234567", "12a456"] {
            assert_eq!(
                hash_typed(&kek, &ada, CodePurpose::EmailSignIn, to, typed),
                None
            );
        }
    }

    #[test]
    fn codes_differ_between_issues() {
        let (kek, _) = KeyEncryptionKey::generate();
        let ada = UserId::from_stored("ada".into());
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let drawn: std::collections::HashSet<String> = (0..20)
            .map(|_| {
                SentCode::issue(&ada, CodePurpose::EmailSignIn, "a@b.c", &kek, now)
                    .0
                    .to_string()
            })
            .collect();
        assert!(drawn.len() > 15, "{drawn:?}");
    }
}
