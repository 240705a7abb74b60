//! The `amr` values (RFC 8176 §2) a passkey sign-in contributes to the ID token. Whether the
//! whole sign-in also earns `mfa` is the sign-in flow's decision, not this module's.

use super::VerifiedAssertion;

/// The RFC 8176 methods an accepted assertion proves:
///
/// - `hwk`, "proof-of-possession of a hardware-secured key", when the credential is not
///   backup-eligible: a device-bound key that never leaves its authenticator;
/// - `swk`, "proof-of-possession of a software-secured key", when it is backup-eligible: a synced
///   passkey is copied between devices through a provider's software, whatever protects it on
///   each device;
/// - `user`, "user presence test", only when the authenticator also verified the user (UV). Every
///   accepted assertion passed a presence test (UP is required), so emitting `user` for UP alone
///   would carry no information; keeping it for UV never claims more than happened, whereas
///   `pin`, `fpt` or `face` would claim a specific method the authenticator does not reveal.
///
/// BE is the authenticator's unattested claim (Tessera asks for no attestation), so `hwk` means
/// "device-bound by the authenticator's own account", not a certified hardware key.
pub fn amr_values(outcome: &VerifiedAssertion) -> Vec<&'static str> {
    let mut values = vec![if outcome.backup_eligible {
        "swk"
    } else {
        "hwk"
    }];
    if outcome.user_verified {
        values.push("user");
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(backup_eligible: bool, user_verified: bool) -> VerifiedAssertion {
        VerifiedAssertion {
            new_sign_count: 0,
            user_verified,
            backup_eligible,
            backed_up: backup_eligible,
            user_handle: None,
        }
    }

    #[test]
    fn device_bound_synced_and_verified() {
        assert_eq!(amr_values(&outcome(false, false)), ["hwk"]);
        assert_eq!(amr_values(&outcome(false, true)), ["hwk", "user"]);
        assert_eq!(amr_values(&outcome(true, false)), ["swk"]);
        assert_eq!(amr_values(&outcome(true, true)), ["swk", "user"]);
    }
}
