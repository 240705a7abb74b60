//! Self-service sign-up: the mailed link that proves an address before any account exists.
//!
//! The link carries its own state, sealed under the key-encryption key (AES-256-GCM, bound to
//! the purpose `sign-up-link`): the address, when the link lapses and, optionally, the pending
//! sign-in to return to. Nothing is stored until the account is created, so asking for links
//! fills no table, and a link cannot be forged or edited to another address. It is single-use
//! because the account it creates takes the address: a second use finds the address taken and
//! creates nothing.

use crate::kek::KeyEncryptionKey;
use crate::user::Email;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::{Duration, OffsetDateTime};

/// How long a sign-up link works.
pub const LIFETIME: Duration = Duration::hours(1);

/// The purpose the link is sealed for, so no other sealed value opens as a link.
const SEALED_FOR: &str = "sign-up-link";

/// What a sign-up link proves once opened: who receives mail at `email`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpLink {
    /// The address the link was mailed to.
    pub email: Email,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// The pending sign-in (login request id) the user came from, to continue it afterwards.
    pub continue_login: Option<String>,
}

/// Why a link was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignUpLinkError {
    /// Not a link this server made (damaged, forged, or made under another key).
    #[error("the link is not valid")]
    Invalid,
    /// Made here, but too long ago.
    #[error("the link has expired")]
    Expired,
}

impl SignUpLink {
    /// A link for `email`, working for [`LIFETIME`] from `now`.
    pub fn issue(email: Email, continue_login: Option<String>, now: OffsetDateTime) -> Self {
        Self {
            email,
            expires_at: now + LIFETIME,
            continue_login,
        }
    }

    /// The token to put in the mailed URL (base64url).
    pub fn seal(&self, kek: &KeyEncryptionKey) -> String {
        // Lines: an address and a login request id hold no line breaks (both are validated).
        let plain = format!(
            "{}\n{}\n{}",
            self.expires_at.unix_timestamp(),
            self.email.as_str(),
            self.continue_login.as_deref().unwrap_or_default()
        );
        URL_SAFE_NO_PAD.encode(kek.seal(SEALED_FOR, plain.as_bytes()))
    }

    /// Opens `token` and checks it has not lapsed at `now`.
    pub fn open(
        token: &str,
        kek: &KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> Result<Self, SignUpLinkError> {
        let sealed = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| SignUpLinkError::Invalid)?;
        let plain = kek
            .open(SEALED_FOR, &sealed)
            .map_err(|_| SignUpLinkError::Invalid)?;
        let plain = std::str::from_utf8(&plain).map_err(|_| SignUpLinkError::Invalid)?;
        let mut lines = plain.split('\n');
        let (Some(expires), Some(email), Some(login), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(SignUpLinkError::Invalid);
        };
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or(SignUpLinkError::Invalid)?;
        let email = Email::parse(email).map_err(|_| SignUpLinkError::Invalid)?;
        if now >= expires_at {
            return Err(SignUpLinkError::Expired);
        }
        Ok(Self {
            email,
            expires_at,
            continue_login: (!login.is_empty()).then(|| login.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn ada() -> Email {
        Email::parse("ada@example.com").unwrap()
    }

    #[test]
    fn a_link_opens_to_what_was_sealed_until_it_lapses() {
        let (kek, _) = KeyEncryptionKey::generate();
        let link = SignUpLink::issue(ada(), Some("req-1".into()), now());
        let token = link.seal(&kek);
        assert!(
            !token.contains("ada"),
            "the address is not readable in the URL"
        );
        assert_eq!(SignUpLink::open(&token, &kek, now()), Ok(link));
        let last_moment = now() + LIFETIME - Duration::seconds(1);
        assert!(SignUpLink::open(&token, &kek, last_moment).is_ok());
        assert_eq!(
            SignUpLink::open(&token, &kek, now() + LIFETIME),
            Err(SignUpLinkError::Expired)
        );
        let without_login = SignUpLink::issue(ada(), None, now());
        let opened = SignUpLink::open(&without_login.seal(&kek), &kek, now()).unwrap();
        assert_eq!(opened.continue_login, None);
    }

    #[test]
    fn a_link_from_another_key_or_edited_is_invalid() {
        let (kek, _) = KeyEncryptionKey::generate();
        let (other, _) = KeyEncryptionKey::generate();
        let token = SignUpLink::issue(ada(), None, now()).seal(&kek);
        assert_eq!(
            SignUpLink::open(&token, &other, now()),
            Err(SignUpLinkError::Invalid)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let edited = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            SignUpLink::open(&edited, &kek, now()),
            Err(SignUpLinkError::Invalid)
        );
        for garbage in ["", "not base64!", "AAAA"] {
            assert_eq!(
                SignUpLink::open(garbage, &kek, now()),
                Err(SignUpLinkError::Invalid)
            );
        }
        // Another sealed value (a TOTP seed's purpose) does not open as a link.
        let foreign = URL_SAFE_NO_PAD.encode(kek.seal("totp", b"1\nada@example.com\n"));
        assert_eq!(
            SignUpLink::open(&foreign, &kek, now()),
            Err(SignUpLinkError::Invalid)
        );
    }
}
