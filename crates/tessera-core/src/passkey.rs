//! Passkeys as Tessera keeps them: the WebAuthn credentials users register, and the single-use
//! challenges of the ceremonies that register and use them.
//!
//! The cryptography lives in [`crate::webauthn`]; this module holds what the store keeps and the
//! small rules around it. Three of the checks [`crate::webauthn`] leaves to its caller are
//! storage rules, and the store makes each one atomic:
//!
//! - a credential ID is registered once, across all users (WebAuthn §7.1 step 25): the
//!   credential ID is the table's key;
//! - a challenge is answered once: the store hands a [`PasskeyChallenge`] out by deleting it,
//!   in one statement, so of two answers racing with one challenge only one finds it;
//! - the signature counter moves by compare-and-swap on the count the verification read, so of
//!   two uses racing from one stored state only one records its new count.
//!
//! Nothing here performs IO; time is passed in.

use crate::ids::UserId;
use crate::webauthn::Challenge;
use time::{Duration, OffsetDateTime};

/// How long a challenge waits for the browser's answer: long enough for a user to find their
/// phone for a cross-device (hybrid) sign-in, short enough that a leaked challenge soon lapses.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

/// The longest passkey label kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A passkey as stored: a WebAuthn credential registered by a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passkey {
    /// The credential ID the authenticator chose: 1 to 1023 bytes, unique across all users.
    pub credential_id: Vec<u8>,
    /// Whose passkey it is.
    pub user_id: UserId,
    /// The user's label for it, e.g. "MacBook" (see [`normalise_passkey_name`]).
    pub name: String,
    /// The credential's public key, as COSE_Key bytes.
    pub public_key: Vec<u8>,
    /// The key's COSE algorithm identifier (-7 ES256, -8 EdDSA, -257 RS256).
    pub algorithm: i64,
    /// The signature counter after the last accepted ceremony (0 for authenticators that keep
    /// none, which is most passkeys).
    pub sign_count: u32,
    /// The BE flag at registration: whether the credential may be synced between devices. It
    /// never changes; an assertion claiming otherwise is refused.
    pub backup_eligible: bool,
    /// The BS flag at the last use: whether the credential was backed up then.
    pub backed_up: bool,
    /// The transports the authenticator reported (e.g. `["internal", "hybrid"]`), handed back
    /// as hints in `allowCredentials`.
    pub transports: Vec<String>,
    /// The authenticator model's AAGUID, unattested: a display hint, not a security fact.
    pub aaguid: [u8; 16],
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed a user in; `None` if it never has.
    pub last_used_at: Option<OffsetDateTime>,
}

impl Passkey {
    /// The WebAuthn user handle (`user.id` in the creation options) of `user`: the bytes of the
    /// user's random, opaque id.
    ///
    /// Never the email or anything else personal: authenticators store the handle and hand it
    /// to anyone who uses the credential (WebAuthn §14.6.1), and it must stay the same when the
    /// user changes their address, since a discoverable credential finds its account by it. The
    /// id Tessera generates is 22 characters, well within the specification's 64-byte limit.
    pub fn user_handle(user: &UserId) -> Vec<u8> {
        user.as_str().as_bytes().to_vec()
    }

    /// The credential id as text (base64url, no padding), as pages, the CLI and the audit
    /// trail name the passkey.
    pub fn id_text(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.credential_id)
    }
}

/// What a challenge was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengePurpose {
    /// Registering a new passkey for a signed-in user.
    Registration,
    /// Signing in (or reauthenticating) with a passkey.
    Authentication,
}

impl ChallengePurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Registration => "registration",
            ChallengePurpose::Authentication => "authentication",
        }
    }

    /// The purpose whose stored name is `stored`, if any.
    pub fn from_stored(stored: &str) -> Option<Self> {
        match stored {
            "registration" => Some(ChallengePurpose::Registration),
            "authentication" => Some(ChallengePurpose::Authentication),
            _ => None,
        }
    }
}

/// A WebAuthn challenge waiting for the browser's answer, single use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyChallenge {
    /// What the ceremony is for.
    pub purpose: ChallengePurpose,
    /// What the ceremony is bound to: for authentication the pending sign-in's id (login
    /// request id), for registration the browser session's sid. One live challenge per
    /// (purpose, bound_to): issuing another replaces it.
    pub bound_to: String,
    /// The user the ceremony is for: the registering user; for authentication the user
    /// expected (a second factor or a reauthentication), or `None` for a sign-in with no
    /// username (discoverable credential).
    pub user_id: Option<UserId>,
    /// The challenge's base64url text form ([`Challenge::as_str`]); read it back with
    /// [`Challenge::from_encoded`].
    pub challenge: String,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

impl PasskeyChallenge {
    /// A challenge record for `challenge`, issued at `now` for [`CHALLENGE_LIFETIME`].
    pub fn issue(
        purpose: ChallengePurpose,
        bound_to: String,
        user_id: Option<UserId>,
        challenge: &Challenge,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            purpose,
            bound_to,
            user_id,
            challenge: challenge.as_str().to_owned(),
            created_at: now,
            expires_at: now + CHALLENGE_LIFETIME,
        }
    }

    /// Whether an answer arriving at `now` may still use it: strictly before `expires_at`
    /// (the store sweeps challenges with `expires_at <= now`, so the two agree).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

/// Why a passkey label was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a passkey name is 1 to {MAX_NAME_CHARS} characters, without control characters")]
pub struct InvalidPasskeyName;

/// A passkey label as typed by its owner, trimmed; refused when blank, longer than
/// [`MAX_NAME_CHARS`] characters, or holding control characters (it is shown on the account
/// page and written to the audit trail, where a line break could forge a line).
pub fn normalise_passkey_name(input: &str) -> Result<String, InvalidPasskeyName> {
    let name = input.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(InvalidPasskeyName);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, InvalidPasskeyName>) {
        assert_eq!(
            normalise_passkey_name(input),
            expect.map(str::to_owned),
            "{input:?}"
        );
    }

    #[test]
    fn passkey_names() {
        let longest = "é".repeat(MAX_NAME_CHARS);
        let too_long = "é".repeat(MAX_NAME_CHARS + 1);
        check("MacBook", Ok("MacBook"));
        check("  YubiKey 5C \t", Ok("YubiKey 5C"));
        check("x", Ok("x"));
        check("Ada’s phone 📱", Ok("Ada’s phone 📱"));
        // Characters, not bytes: 64 two-byte characters are fine, 65 are not.
        check(&longest, Ok(&longest));
        check(&format!("  {longest}  "), Ok(&longest));
        check(&too_long, Err(InvalidPasskeyName));
        check("", Err(InvalidPasskeyName));
        check("   \t\n ", Err(InvalidPasskeyName));
        check("Mac\nBook", Err(InvalidPasskeyName));
        check("Mac\u{7}Book", Err(InvalidPasskeyName));
        check("Mac\u{85}Book", Err(InvalidPasskeyName));
        check("Mac\0Book", Err(InvalidPasskeyName));
    }

    #[test]
    fn a_challenge_lives_until_just_before_it_expires() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let challenge = Challenge::new();
        let user = UserId::from_stored("ada".into());
        let issued = PasskeyChallenge::issue(
            ChallengePurpose::Registration,
            "sid-1".into(),
            Some(user.clone()),
            &challenge,
            now,
        );
        assert_eq!(issued.challenge, challenge.as_str());
        assert_eq!(
            Challenge::from_encoded(&issued.challenge).unwrap(),
            challenge
        );
        assert_eq!(issued.user_id, Some(user));
        assert_eq!(issued.bound_to, "sid-1");
        assert_eq!(issued.created_at, now);
        assert_eq!(issued.expires_at, now + CHALLENGE_LIFETIME);
        assert!(issued.is_live(now));
        assert!(issued.is_live(now + CHALLENGE_LIFETIME - Duration::nanoseconds(1)));
        assert!(!issued.is_live(now + CHALLENGE_LIFETIME));
        assert!(!issued.is_live(now + CHALLENGE_LIFETIME + Duration::seconds(1)));
    }

    #[test]
    fn purposes_round_trip_through_their_stored_names() {
        for purpose in [
            ChallengePurpose::Registration,
            ChallengePurpose::Authentication,
        ] {
            assert_eq!(
                ChallengePurpose::from_stored(purpose.as_str()),
                Some(purpose)
            );
        }
        assert_eq!(
            ChallengePurpose::as_str(ChallengePurpose::Registration),
            "registration"
        );
        assert_eq!(
            ChallengePurpose::as_str(ChallengePurpose::Authentication),
            "authentication"
        );
        assert_eq!(ChallengePurpose::from_stored("Registration"), None);
        assert_eq!(ChallengePurpose::from_stored(""), None);
    }

    #[test]
    fn the_user_handle_is_the_opaque_id_not_the_email() {
        let user = UserId::generate();
        let handle = Passkey::user_handle(&user);
        assert_eq!(handle, user.as_str().as_bytes());
        assert!(handle.len() <= 64, "WebAuthn caps user handles at 64 bytes");
    }
}
