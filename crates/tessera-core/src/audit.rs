//! The audit trail: who did what to whose tokens and sessions, when and why.
//!
//! Every revocation (each kind, whatever triggered it), every logout and every detected reuse
//! of a code or refresh token is recorded, and logged when it is recorded. Records are written
//! by the store in the same transaction as the change they describe where there is one, so the
//! trail never claims a change that was rolled back nor misses one that was made.

use crate::ClientId;
use std::fmt;
use time::OffsetDateTime;

/// What happened. Revocations use their feed kind (`session-revoked`, …); the others are named
/// here.
pub mod action {
    /// An authorization code was presented a second time.
    pub const CODE_REPLAY: &str = "code-replay";
    /// A rotated refresh token was presented again; its family was revoked.
    pub const REFRESH_REUSE: &str = "refresh-reuse";
    /// A refresh-token family was revoked at the revocation endpoint.
    pub const REFRESH_FAMILY_REVOKED: &str = "refresh-family-revoked";
    /// A back-channel logout token could not be delivered after every retry.
    pub const BACKCHANNEL_ABANDONED: &str = "backchannel-logout-abandoned";
    /// A queued mail could not be sent after every retry (or within its hour).
    pub const MAIL_ABANDONED: &str = "mail-abandoned";
    /// An operator registered a client.
    pub const CLIENT_ADDED: &str = "client-added";

    /// Whether `action` is a sign of an attack or a failure an operator should look at (a
    /// replayed code, a reused refresh token, an undeliverable logout), as opposed to the
    /// routine changes the trail also records.
    pub fn is_alarming(action: &str) -> bool {
        matches!(
            action,
            CODE_REPLAY | REFRESH_REUSE | BACKCHANNEL_ABANDONED | MAIL_ABANDONED
        )
    }
    /// An operator changed a client's policy.
    pub const CLIENT_UPDATED: &str = "client-updated";
    /// An operator removed a client.
    pub const CLIENT_REMOVED: &str = "client-removed";
    /// An operator created a user.
    pub const USER_ADDED: &str = "user-added";
    /// An operator enabled a user again (disabling is recorded as its revocation).
    pub const USER_ENABLED: &str = "user-enabled";
    /// An operator removed a user (after the user's tokens were revoked).
    pub const USER_REMOVED: &str = "user-removed";
    /// An operator rotated the signing keys.
    pub const KEYS_ROTATED: &str = "keys-rotated";
    /// A user turned on an authenticator app (TOTP).
    pub const TOTP_ENROLLED: &str = "totp-enrolled";
    /// A user removed their authenticator app.
    pub const TOTP_REMOVED: &str = "totp-removed";
    /// A user created a new set of recovery codes (the old set stops working).
    pub const RECOVERY_CODES_CREATED: &str = "recovery-codes-created";
    /// A recovery code signed a user in.
    pub const RECOVERY_CODE_USED: &str = "recovery-code-used";
    /// A user proved their address and turned on codes by email.
    pub const EMAIL_CODES_ENABLED: &str = "email-codes-enabled";
    /// A user confirmed a phone number for codes by SMS.
    pub const PHONE_VERIFIED: &str = "phone-verified";
    /// A user stopped codes by SMS.
    pub const PHONE_REMOVED: &str = "phone-removed";
    /// A user turned off codes by email.
    pub const EMAIL_CODES_DISABLED: &str = "email-codes-disabled";
    /// A user changed their password on the account page (their other sessions ended).
    pub const PASSWORD_CHANGED: &str = "password-changed";
    /// A forgotten-password link was mailed to a user.
    pub const PASSWORD_RESET_SENT: &str = "password-reset-sent";
    /// A user set a new password with a mailed link (every session was ended).
    pub const PASSWORD_RESET: &str = "password-reset";
    /// An operator removed every second factor of a user (a lost phone).
    pub const MFA_RESET: &str = "mfa-reset";
    /// An operator lifted a user's sign-in locks.
    pub const USER_UNLOCKED: &str = "user-unlocked";
    /// The user changed their display name on the account page.
    pub const PROFILE_UPDATED: &str = "profile-updated";
    /// The user proved they receive mail at their account's address.
    pub const EMAIL_VERIFIED: &str = "email-verified";
    /// The user moved their account to a new address, proved with a code sent there.
    pub const EMAIL_CHANGED: &str = "email-changed";
    /// An account was created through self-service sign-up.
    pub const USER_SIGNED_UP: &str = "user-signed-up";
    /// A user registered a passkey.
    pub const PASSKEY_ADDED: &str = "passkey-added";
    /// A passkey was removed (by its user, or an operator).
    pub const PASSKEY_REMOVED: &str = "passkey-removed";
    /// A passkey's signature counter went backwards: the credential may have been cloned. The
    /// sign-in was refused.
    pub const PASSKEY_CLONE_SUSPECTED: &str = "passkey-clone-suspected";
}

/// Who made a change, as recorded in revocations and the audit trail.
///
/// Operators are always recorded under the `cli:` prefix whatever name they give, so that no
/// operator can make a record look as if the server (`system`), a client (`client:<id>`) or a
/// user (`user:<id>`) made it. The name is an attribution for the trail, not an
/// authentication: whoever can run the CLI can also write to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(String);

/// Why an operator name was refused as an [`Actor`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the operator name must be 1 to {max} characters of letters, digits and . _ - @ +",
    max = Actor::MAX_NAME_LEN
)]
pub struct ActorError;

impl Actor {
    /// The longest operator name accepted.
    pub const MAX_NAME_LEN: usize = 64;

    /// An operator at the command line, recorded as `cli:<name>` (an OS user name or the name
    /// given with `--actor`). Names are short and plain so that the trail stays readable and a
    /// name cannot smuggle control characters into logs.
    pub fn cli(name: &str) -> Result<Self, ActorError> {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
        if name.is_empty() || name.len() > Self::MAX_NAME_LEN || !name.chars().all(plain) {
            return Err(ActorError);
        }
        Ok(Self(format!("cli:{name}")))
    }

    /// An OAuth client acting through an API, recorded as `client:<id>`.
    pub fn client(id: &ClientId) -> Self {
        Self(format!("client:{id}"))
    }

    /// The server itself (expiry, automatic reactions), recorded as `system`.
    pub fn system() -> Self {
        Self("system".to_owned())
    }

    /// The recorded form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Actor> for String {
    fn from(actor: Actor) -> Self {
        actor.0
    }
}

impl From<&Actor> for String {
    fn from(actor: &Actor) -> Self {
        actor.0.clone()
    }
}

/// One record of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the trail, assigned by the store (0 before it is stored).
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Who: `cli:<operator>` (see [`Actor`]; `cli` in records written before operators were
    /// named), `client:<id>`, `user:<id>` or `system`.
    pub actor: String,
    /// What (see [`action`] and the revocation kinds).
    pub action: String,
    /// Whom or what it concerned: a sid, a user id, a client id, a jti, or `*`.
    pub target: String,
    /// Why, when there is a reason (a revocation reason, a delivery error).
    pub reason: Option<String>,
    /// Further facts as a JSON object (counts, the client involved, …); `{}` when none.
    pub detail: String,
}

impl AuditEvent {
    /// A record not yet stored.
    pub fn new(
        at: OffsetDateTime,
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        reason: Option<String>,
        detail: String,
    ) -> Self {
        Self {
            id: 0,
            at,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            reason,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client revoking its own refresh token is routine (logged at INFO); reuse is not.
    #[test]
    fn only_attacks_and_failures_are_alarming() {
        assert!(action::is_alarming(action::REFRESH_REUSE));
        assert!(action::is_alarming(action::CODE_REPLAY));
        assert!(action::is_alarming(action::BACKCHANNEL_ABANDONED));
        assert!(!action::is_alarming(action::REFRESH_FAMILY_REVOKED));
        assert!(!action::is_alarming(action::CLIENT_ADDED));
    }

    #[test]
    fn operators_are_always_recorded_under_cli() {
        assert_eq!(Actor::cli("ada").unwrap().as_str(), "cli:ada");
        // A name that looks like another kind of actor stays an operator's name.
        assert_eq!(Actor::cli("system").unwrap().as_str(), "cli:system");
        assert_eq!(
            Actor::cli("ops@example.com").unwrap().as_str(),
            "cli:ops@example.com"
        );
    }

    #[test]
    fn odd_operator_names_are_refused() {
        let too_long = "a".repeat(Actor::MAX_NAME_LEN + 1);
        for bad in [
            "",
            "client:web",
            "a b",
            "ada\nsystem",
            "ada\u{7}",
            "é",
            too_long.as_str(),
        ] {
            assert_eq!(Actor::cli(bad), Err(ActorError), "{bad:?}");
        }
        assert!(Actor::cli(&"a".repeat(Actor::MAX_NAME_LEN)).is_ok());
    }
}
