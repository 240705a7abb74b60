//! The device cookie: a browser that has signed in to an account keeps its own allowance of
//! password attempts at that account.
//!
//! Without it, anyone who knows a user's email address can keep that user locked out: a few
//! wrong passwords every few minutes hold the account's shared count at its lock
//! ([`tessera_core::login_throttle`]). With it, the user's own browser presents a cookie issued
//! at its last successful sign-in, and its attempts count under a key of their own
//! ([`ThrottleKey::for_device`]) with the same limits; the attacker's lockout does not reach it.
//!
//! The cookie is sealed under the key-encryption key (AES-256-GCM, bound to a purpose string of
//! its own): a forged, altered or foreign one fails to open and counts for nothing, so an attacker
//! cannot mint fresh allowances. It names the account by a hash of its normalised email (never in
//! clear) and expires after [`LIFETIME`]. One browser holds one device cookie, for the account it
//! signed in to last.

use crate::cookies;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use tessera_core::kek::KeyEncryptionKey;
use tessera_core::ThrottleKey;
use time::{Duration, OffsetDateTime};

/// How long a device cookie is honoured after the sign-in that issued it.
pub const LIFETIME: Duration = Duration::days(180);

/// Binds sealed device cookies to this purpose, apart from everything else the KEK seals.
const PURPOSE: &str = "tessera/device-cookie/v1";

const ACCOUNT_BYTES: usize = 16;
const DEVICE_ID_BYTES: usize = 16;

/// The account part of the cookie: the first bytes of the account's throttle key, a SHA-256 of
/// the email as [`ThrottleKey::for_username`] normalises it. Not secret (the cookie is sealed);
/// only a binding.
fn account_tag(typed_username: &str) -> [u8; ACCOUNT_BYTES] {
    let key = ThrottleKey::for_username(typed_username);
    let hash = URL_SAFE_NO_PAD
        .decode(key.as_str())
        .expect("a throttle key is base64url of a SHA-256");
    let mut tag = [0u8; ACCOUNT_BYTES];
    tag.copy_from_slice(&hash[..ACCOUNT_BYTES]);
    tag
}

/// The throttle key for an attempt at `typed_username`: the browser's own key when it presents
/// a valid device cookie for that account, otherwise the account's shared key.
pub fn throttle_key(
    kek: &KeyEncryptionKey,
    headers: &HeaderMap,
    typed_username: &str,
    now: OffsetDateTime,
) -> ThrottleKey {
    match device_id(kek, headers, typed_username, now) {
        Some(device) => ThrottleKey::for_device(typed_username, &device),
        None => ThrottleKey::for_username(typed_username),
    }
}

/// The device id of a valid, unexpired device cookie for `typed_username`, if the browser sent
/// one.
fn device_id(
    kek: &KeyEncryptionKey,
    headers: &HeaderMap,
    typed_username: &str,
    now: OffsetDateTime,
) -> Option<String> {
    let value = cookies::read(headers, cookies::DEVICE)?;
    let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
    let payload = kek.open(PURPOSE, &sealed).ok()?;
    if payload.len() != ACCOUNT_BYTES + DEVICE_ID_BYTES + 8 {
        return None;
    }
    let (account, rest) = payload.split_at(ACCOUNT_BYTES);
    let (device, expires) = rest.split_at(DEVICE_ID_BYTES);
    let expires = i64::from_be_bytes(expires.try_into().ok()?);
    let same_account = account == account_tag(typed_username);
    (same_account && now.unix_timestamp() < expires).then(|| URL_SAFE_NO_PAD.encode(device))
}

/// The `Set-Cookie` header for a browser that has just signed in to `typed_username`.
pub fn issue(
    kek: &KeyEncryptionKey,
    typed_username: &str,
    now: OffsetDateTime,
) -> (HeaderName, HeaderValue) {
    let mut device = [0u8; DEVICE_ID_BYTES];
    tessera_core::random::fill(&mut device);
    let expires = now + LIFETIME;
    let mut payload = Vec::with_capacity(ACCOUNT_BYTES + DEVICE_ID_BYTES + 8);
    payload.extend_from_slice(&account_tag(typed_username));
    payload.extend_from_slice(&device);
    payload.extend_from_slice(&expires.unix_timestamp().to_be_bytes());
    let value = URL_SAFE_NO_PAD.encode(kek.seal(PURPOSE, &payload));
    (
        header::SET_COOKIE,
        cookies::set(cookies::DEVICE, &value, LIFETIME.whole_seconds()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn browser_with(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_browser_that_signed_in_gets_its_own_key_for_that_account_only() {
        let (kek, _) = KeyEncryptionKey::generate();
        let (_, cookie) = issue(&kek, "Ada@Example.com", NOW);
        let browser = browser_with(&cookie);
        let shared = ThrottleKey::for_username("ada@example.com");
        let own = throttle_key(&kek, &browser, " ada@example.com", NOW);
        assert_ne!(own, shared, "its own count");
        assert_eq!(own, throttle_key(&kek, &browser, "ada@example.com", NOW));
        // The cookie is no allowance for another account, nor after it expires.
        assert_eq!(
            throttle_key(&kek, &browser, "bob@example.com", NOW),
            ThrottleKey::for_username("bob@example.com")
        );
        assert_eq!(
            throttle_key(&kek, &browser, "ada@example.com", NOW + LIFETIME),
            shared
        );
        // Without a cookie: the shared key.
        assert_eq!(
            throttle_key(&kek, &HeaderMap::new(), "ada@example.com", NOW),
            shared
        );
    }

    #[test]
    fn forged_altered_or_foreign_cookies_count_for_nothing() {
        let (kek, _) = KeyEncryptionKey::generate();
        let (other_kek, _) = KeyEncryptionKey::generate();
        let shared = ThrottleKey::for_username("ada@example.com");
        // Sealed under another installation's key.
        let (_, foreign) = issue(&other_kek, "ada@example.com", NOW);
        assert_eq!(
            throttle_key(&kek, &browser_with(&foreign), "ada@example.com", NOW),
            shared
        );
        // One character changed.
        let (_, cookie) = issue(&kek, "ada@example.com", NOW);
        let text = cookie.to_str().unwrap();
        let at = text.find('=').unwrap() + 10;
        let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
        let altered =
            HeaderValue::from_str(&format!("{}{flipped}{}", &text[..at], &text[at + 1..])).unwrap();
        assert_eq!(
            throttle_key(&kek, &browser_with(&altered), "ada@example.com", NOW),
            shared
        );
        // Random bytes of the right shape.
        let forged = HeaderValue::from_str(&format!(
            "{}={}",
            cookies::DEVICE,
            URL_SAFE_NO_PAD.encode([7u8; 69])
        ))
        .unwrap();
        assert_eq!(
            throttle_key(&kek, &browser_with(&forged), "ada@example.com", NOW),
            shared
        );
    }
}
