//! Time-based one-time passwords (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step
//! of clock drift accepted either way. These are the parameters every authenticator app
//! understands; apps that claim SHA-256 support often fall back to SHA-1 silently.
//!
//! A code is accepted **once** (RFC 6238 §5.2). [`verify`] answers the time step a code
//! matched and refuses a step at or before the last one used; the store then advances the
//! factor's last used step with a compare-and-swap, so two requests racing with one code cannot
//! both win. Without that rule a code stays valid for about 90 seconds, long enough to be
//! relayed by a phishing page or read over a shoulder.
//!
//! HMAC comes from aws-lc-rs (the project's one crypto stack); the whole algorithm is a few
//! lines, so no TOTP crate is needed. Tests check the RFC 6238 Appendix B vectors here, and the
//! flow tests compute codes with an independent implementation.

use crate::ids::UserId;
use crate::kek::{KekError, KeyEncryptionKey};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac::{self, HMAC_SHA1_FOR_LEGACY_USE_ONLY};
use std::fmt;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds in a time step.
pub const STEP_SECONDS: i64 = 30;
/// Steps of clock drift accepted before and after the current one.
pub const DRIFT_STEPS: i64 = 1;
/// Bytes in a new seed: 160 bits, the size of SHA-1's output that RFC 4226 §4 recommends.
pub const SEED_LEN: usize = 20;

/// A TOTP shared secret. Kept only sealed at rest; its `Debug` never shows it.
#[derive(Clone)]
pub struct TotpSeed(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSeed(<redacted>)")
    }
}

/// Why a typed code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpRejection {
    /// Not six digits.
    #[error("the code must be {DIGITS} digits")]
    Malformed,
    /// Not the code of any step in the accepted window.
    #[error("the code is wrong or expired")]
    Wrong,
    /// The code of a step already used (RFC 6238 §5.2).
    #[error("the code was already used")]
    Replayed,
}

impl TotpSeed {
    /// A new random seed.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SEED_LEN]);
        crate::random::fill(&mut bytes);
        Self(bytes)
    }

    /// A seed from its bytes (as opened from storage).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The raw bytes, to be sealed for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The seed in base32 without padding (RFC 4648 §6), as authenticator apps take it typed.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://` URI authenticator apps read from a QR code (Google Authenticator's
    /// Key Uri Format): the label is `issuer:account`, and the issuer is repeated as a
    /// parameter, as the apps that group accounts by issuer need.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{issuer}:{account}");
        format!(
            "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            url_encode(&label),
            self.base32(),
            url_encode(issuer),
        )
    }

    /// The code of time step `step`, with `digits` digits (RFC 4226 §5.3 truncation).
    pub fn code_at_step(&self, step: i64, digits: u32) -> String {
        let key = hmac::Key::new(HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = (mac[mac.len() - 1] & 0x0f) as usize;
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let value = u64::from(binary) % 10u64.pow(digits);
        format!("{value:0width$}", width = digits as usize)
    }
}

/// The time step `now` falls in.
pub fn step_at(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// Checks `typed` against the steps around `now`, refusing any step at or before
/// `last_used_step`. Answers the step matched, which the caller must store as the new last used
/// step (atomically, so only one use of it wins). Spaces in `typed` are ignored, as apps show
/// codes as `123 456`.
pub fn verify(
    seed: &TotpSeed,
    typed: &str,
    now: OffsetDateTime,
    last_used_step: Option<i64>,
) -> Result<i64, TotpRejection> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpRejection::Malformed);
    }
    let current = step_at(now);
    let mut replayed = false;
    // Every step of the window is computed and compared, whatever matches, so the time taken
    // does not tell which step a guess hit.
    let mut matched = None;
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        let expected = seed.code_at_step(step, DIGITS);
        if verify_slices_are_equal(expected.as_bytes(), typed.as_bytes()).is_ok() {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else if matched.is_none() {
                matched = Some(step);
            }
        }
    }
    match (matched, replayed) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpRejection::Replayed),
        (None, false) => Err(TotpRejection::Wrong),
    }
}

/// How long an enrolment waits for its confirming code before housekeeping forgets it.
pub const ENROLMENT_LIFETIME: Duration = Duration::minutes(15);

/// A user's TOTP authenticator, as stored: unconfirmed from enrolment until the user types a
/// first code from the app, then the user's factor. A user has at most one confirmed factor;
/// confirming a new one replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    /// Random id.
    pub id: String,
    /// Whose it is.
    pub user_id: UserId,
    /// The seed, sealed under the key-encryption key and bound to this factor's id.
    pub sealed_seed: Vec<u8>,
    /// When a code from the app confirmed it; `None` while the enrolment waits.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last time step whose code was accepted; only later steps are (RFC 6238 §5.2). The
    /// confirming code's step counts, so it cannot be replayed as a first sign-in code.
    pub last_used_step: Option<i64>,
    /// When the enrolment began.
    pub created_at: OffsetDateTime,
}

impl TotpFactor {
    /// A new, unconfirmed factor for `user_id` holding `seed`.
    pub fn enrol(
        user_id: UserId,
        seed: &TotpSeed,
        kek: &KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> Self {
        let id = crate::random::token(16);
        let sealed_seed = kek.seal(&Self::sealing_context(&id), seed.as_bytes());
        Self {
            id,
            user_id,
            sealed_seed,
            confirmed_at: None,
            last_used_step: None,
            created_at: now,
        }
    }

    /// Opens the seed. Fails if the key-encryption key is not the one that sealed it, or the
    /// sealed seed was moved from another factor's row.
    pub fn seed(&self, kek: &KeyEncryptionKey) -> Result<TotpSeed, KekError> {
        let bytes = kek.open(&Self::sealing_context(&self.id), &self.sealed_seed)?;
        Ok(TotpSeed::from_bytes(&bytes))
    }

    /// Whether an unconfirmed enrolment is still waiting at `now`.
    pub fn is_enrolment_open(&self, now: OffsetDateTime) -> bool {
        self.confirmed_at.is_none() && now < self.created_at + ENROLMENT_LIFETIME
    }

    /// Checks a typed code against this factor's seed and last used step.
    pub fn check(
        &self,
        kek: &KeyEncryptionKey,
        typed: &str,
        now: OffsetDateTime,
    ) -> Result<Result<i64, TotpRejection>, KekError> {
        Ok(verify(&self.seed(kek)?, typed, now, self.last_used_step))
    }

    fn sealing_context(id: &str) -> String {
        format!("totp:{id}")
    }
}

/// RFC 4648 base32, upper case, without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 seed.
    fn rfc_seed() -> TotpSeed {
        TotpSeed::from_bytes(b"12345678901234567890")
    }

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        // (time, 8-digit TOTP) from the RFC's table, SHA-1 rows.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            let step = step_at(at(time));
            assert_eq!(rfc_seed().code_at_step(step, 8), expected, "T = {time}");
            // The six-digit code is the same number modulo 10^6.
            assert_eq!(
                rfc_seed().code_at_step(step, 6),
                expected[2..],
                "T = {time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_within_one_step_of_drift_and_answers_its_step() {
        let seed = rfc_seed();
        let now = at(1_234_567_890);
        let current = step_at(now);
        for drift in [-1, 0, 1] {
            let code = seed.code_at_step(current + drift, DIGITS);
            assert_eq!(verify(&seed, &code, now, None), Ok(current + drift));
        }
        for drift in [-2, 2] {
            let code = seed.code_at_step(current + drift, DIGITS);
            assert_eq!(
                verify(&seed, &code, now, None),
                Err(TotpRejection::Wrong),
                "drift {drift}"
            );
        }
    }

    #[test]
    fn a_step_at_or_before_the_last_used_one_is_a_replay() {
        let seed = rfc_seed();
        let now = at(1_234_567_890);
        let current = step_at(now);
        let code = seed.code_at_step(current, DIGITS);
        assert_eq!(
            verify(&seed, &code, now, Some(current)),
            Err(TotpRejection::Replayed)
        );
        assert_eq!(
            verify(&seed, &code, now, Some(current + 1)),
            Err(TotpRejection::Replayed)
        );
        assert_eq!(verify(&seed, &code, now, Some(current - 1)), Ok(current));
        // The next step's code is still good after this one was used.
        let next = seed.code_at_step(current + 1, DIGITS);
        assert_eq!(verify(&seed, &next, now, Some(current)), Ok(current + 1));
    }

    #[test]
    fn malformed_codes_are_refused_before_any_comparison() {
        let seed = rfc_seed();
        let now = at(59);
        for typed in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(&seed, typed, now, None),
                Err(TotpRejection::Malformed),
                "{typed:?}"
            );
        }
        let spaced = seed.code_at_step(step_at(now), DIGITS);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(verify(&seed, &spaced, now, None).is_ok());
    }

    #[test]
    fn base32_matches_rfc_4648_vectors_without_padding() {
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(rfc_seed().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_parameters() {
        let uri = rfc_seed().otpauth_uri("Tessera Demo", "ada@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Tessera%20Demo%3Aada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Tessera%20Demo&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn a_sealed_seed_opens_only_for_its_own_factor() {
        let (kek, _) = KeyEncryptionKey::generate();
        let seed = TotpSeed::generate();
        let now = at(1_700_000_000);
        let factor = TotpFactor::enrol(UserId::from_stored("u1".into()), &seed, &kek, now);
        assert_eq!(factor.seed(&kek).unwrap().as_bytes(), seed.as_bytes());
        assert!(factor.is_enrolment_open(now));
        assert!(!factor.is_enrolment_open(now + ENROLMENT_LIFETIME));

        let mut moved = TotpFactor::enrol(UserId::from_stored("u2".into()), &seed, &kek, now);
        moved.sealed_seed = factor.sealed_seed.clone();
        assert_eq!(moved.seed(&kek).unwrap_err(), KekError::WrongKeyOrCorrupt);
        let (other_kek, _) = KeyEncryptionKey::generate();
        assert!(factor.seed(&other_kek).is_err());
    }

    #[test]
    fn new_seeds_are_random_and_never_printed() {
        let a = TotpSeed::generate();
        let b = TotpSeed::generate();
        assert_eq!(a.as_bytes().len(), SEED_LEN);
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "TotpSeed(<redacted>)");
    }
}
