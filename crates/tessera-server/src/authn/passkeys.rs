//! Passkeys as the sign-in pages and the account page use them: this server as a WebAuthn
//! relying party, single-use challenges bound to what asked for them, and the browser's answers
//! checked by core's verifier ([`tessera_core::webauthn`]) against the stored credentials.
//!
//! - **Challenges** are 32 random bytes, stored with what they are bound to (a pending
//!   sign-in's id for signing in, the browser session's sid for registering) and taken with one
//!   atomic delete when the answer comes: a challenge answers one ceremony, once, for the
//!   request it was issued to, within [`CHALLENGE_LIFETIME`].
//! - **User verification is always required**: a passkey stands for two factors (the device and
//!   the biometric or PIN that unlocks it), so an assertion without the UV flag is refused.
//! - **Whose passkey**: the credential must exist, belong to the user the ceremony expects (a
//!   second factor, a reauthentication), and match the user handle the authenticator returns.
//! - **Counters**: the new count is stored by compare-and-swap; a count that went backwards is
//!   refused and audited as a possible clone.

use crate::app::AppState;
use crate::config::PasskeyConfig;
use tessera_core::audit::action;
use tessera_core::passkey::{ChallengePurpose, Passkey, PasskeyChallenge, CHALLENGE_LIFETIME};
use tessera_core::sign_in::Method;
use tessera_core::webauthn::{
    self, AssertionResponse, Challenge, CreationOptions, CredentialDescriptor,
    RegistrationResponse, RelyingParty, RequestOptions, StoredCredential, UserEntity,
    UserVerification, WebauthnError,
};
use tessera_core::{BrowserSession, User, UserId};
use tessera_store::StoreError;
use time::OffsetDateTime;

/// How long the browser lets the user answer, in milliseconds (the challenge lives as long).
const CEREMONY_TIMEOUT_MS: u32 = CHALLENGE_LIFETIME.whole_milliseconds() as u32;

/// This server as a relying party.
#[derive(Clone, Debug)]
pub struct PasskeySettings {
    /// The RP ID and the origins allowed to use it.
    pub rp: RelyingParty,
    /// The name browsers show.
    pub rp_name: String,
}

/// The relying party for `issuer` under `config`: `None` when passkeys are off, or the
/// issuer's host is an IP address (browsers refuse WebAuthn there) and no RP ID is set.
/// An RP ID the issuer's host is not within is a configuration error.
pub fn relying_party(
    config: &PasskeyConfig,
    issuer: &str,
) -> Result<Option<PasskeySettings>, String> {
    if !config.enabled {
        return Ok(None);
    }
    let url = url::Url::parse(issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
    let host = match url.host() {
        Some(url::Host::Domain(domain)) => domain.to_ascii_lowercase(),
        Some(_) if config.rp_id.is_some() => {
            return Err(
                "passkeys.rp_id is set, but the issuer's host is an IP address: \
                        passkeys need a domain name"
                    .into(),
            )
        }
        // An IP address: passkeys cannot be offered, and nothing was asked of them.
        _ => return Ok(None),
    };
    let rp_id = config
        .rp_id
        .as_deref()
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| host.clone());
    if !(host == rp_id || host.ends_with(&format!(".{rp_id}"))) {
        return Err(format!(
            "passkeys.rp_id {rp_id:?} must be the issuer's host {host:?} or a domain it is in"
        ));
    }
    let mut origins = vec![url.origin().ascii_serialization()];
    origins.extend(config.extra_origins.iter().cloned());
    Ok(Some(PasskeySettings {
        rp_name: config.rp_name.clone().unwrap_or_else(|| rp_id.clone()),
        rp: RelyingParty::new(rp_id, origins),
    }))
}

/// Why a passkey answer was refused. Pages show one message for all of them; the reason goes to
/// the log (and the audit trail for a possible clone).
#[derive(Debug)]
pub enum PasskeyRefused {
    /// No live challenge for this request: never asked, already answered, or expired.
    NoChallenge,
    /// Not a credential this server knows (never registered here, or removed).
    UnknownCredential,
    /// A credential of another user than the one the ceremony is for.
    WrongUser,
    /// The verifier refused it.
    Verification(WebauthnError),
    /// Another use of the credential was recorded at the same time.
    CounterRaced,
    /// The credential is registered already (registration only).
    AlreadyRegistered,
    /// The credential's user is disabled.
    UserDisabled,
}

impl PasskeyRefused {
    /// A stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            PasskeyRefused::NoChallenge => "no_challenge",
            PasskeyRefused::UnknownCredential => "unknown_credential",
            PasskeyRefused::WrongUser => "wrong_user",
            PasskeyRefused::Verification(err) => err.code(),
            PasskeyRefused::CounterRaced => "counter_raced",
            PasskeyRefused::AlreadyRegistered => "already_registered",
            PasskeyRefused::UserDisabled => "user_disabled",
        }
    }
}

/// A passkey sign-in that was accepted: whose, and which [`Method`] it proves.
#[derive(Debug)]
pub struct PasskeyProof {
    /// The passkey's user.
    pub user_id: UserId,
    /// [`Method::SyncedPasskey`] or [`Method::DevicePasskey`].
    pub method: Method,
}

fn settings(state: &AppState) -> Result<&PasskeySettings, StoreError> {
    // Callers check `passkeys_offered` first; reaching here without is a bug in a page, which
    // is answered like a failure of the store rather than a panic.
    state
        .settings
        .passkeys
        .as_ref()
        .ok_or_else(|| StoreError::Backend("passkeys are not configured".into()))
}

/// A new challenge for a `purpose` ceremony bound to `bound_to` (for `user`), stored in place
/// of any earlier one for the same binding.
async fn issue_challenge(
    state: &AppState,
    purpose: ChallengePurpose,
    bound_to: &str,
    user: Option<UserId>,
) -> Result<Challenge, StoreError> {
    let challenge = Challenge::new();
    let record = PasskeyChallenge::issue(
        purpose,
        bound_to.to_owned(),
        user,
        &challenge,
        state.services.clock.now(),
    );
    state.services.store.put_passkey_challenge(&record).await?;
    Ok(challenge)
}

fn descriptors(passkeys: &[Passkey]) -> Vec<CredentialDescriptor> {
    passkeys
        .iter()
        .map(|p| CredentialDescriptor::new(&p.credential_id, p.transports.clone()))
        .collect()
}

/// Options for signing in with a passkey in the pending sign-in `pending_id`: for
/// `expected_user` (a second factor, a reauthentication: their passkeys are listed), or for
/// whoever the authenticator offers (no username: `allowCredentials` is empty).
pub async fn sign_in_options(
    state: &AppState,
    pending_id: &str,
    expected_user: Option<&UserId>,
) -> Result<RequestOptions, StoreError> {
    let settings = settings(state)?;
    let challenge = issue_challenge(
        state,
        ChallengePurpose::Authentication,
        pending_id,
        expected_user.cloned(),
    )
    .await?;
    let mut options = RequestOptions::new(&settings.rp, &challenge, UserVerification::Required);
    options.timeout = Some(CEREMONY_TIMEOUT_MS);
    if let Some(user) = expected_user {
        options.allow_credentials = descriptors(&state.services.store.list_passkeys(user).await?);
    }
    Ok(options)
}

/// Checks the browser's answer (`credential_json`, `PublicKeyCredential.toJSON()`) to the
/// challenge of the pending sign-in `pending_id`, and records the passkey's use.
pub async fn check_sign_in(
    state: &AppState,
    pending_id: &str,
    credential_json: &str,
    now: OffsetDateTime,
) -> Result<Result<PasskeyProof, PasskeyRefused>, StoreError> {
    let settings = settings(state)?;
    let store = &state.services.store;
    let Some(issued) = store
        .take_passkey_challenge(ChallengePurpose::Authentication, pending_id, now)
        .await?
    else {
        return Ok(Err(PasskeyRefused::NoChallenge));
    };
    let response = match AssertionResponse::from_json(credential_json.as_bytes()) {
        Ok(response) => response,
        Err(err) => return Ok(Err(PasskeyRefused::Verification(err))),
    };
    let Some(passkey) = store.find_passkey(&response.credential_id).await? else {
        return Ok(Err(PasskeyRefused::UnknownCredential));
    };
    if issued
        .user_id
        .as_ref()
        .is_some_and(|u| *u != passkey.user_id)
    {
        return Ok(Err(PasskeyRefused::WrongUser));
    }
    let expected = match Challenge::from_encoded(&issued.challenge) {
        Ok(challenge) => challenge,
        Err(err) => return Ok(Err(PasskeyRefused::Verification(err))),
    };
    let stored = StoredCredential {
        credential_id: passkey.credential_id.clone(),
        public_key: passkey.public_key.clone(),
        sign_count: passkey.sign_count,
        backup_eligible: passkey.backup_eligible,
    };
    let verified = match webauthn::verify_assertion(
        &settings.rp,
        &expected,
        &stored,
        &response,
        UserVerification::Required,
    ) {
        Ok(verified) => verified,
        Err(err) => {
            if let WebauthnError::CounterRegressed { stored, presented } = err {
                state
                    .audit(
                        "system",
                        action::PASSKEY_CLONE_SUSPECTED,
                        passkey.user_id.as_str(),
                        None,
                        serde_json::json!({ "stored": stored, "presented": presented }),
                    )
                    .await;
            }
            return Ok(Err(PasskeyRefused::Verification(err)));
        }
    };
    // WebAuthn §7.2 step 6: the user handle, when returned, names the credential's owner.
    if verified
        .user_handle
        .as_ref()
        .is_some_and(|handle| *handle != Passkey::user_handle(&passkey.user_id))
    {
        return Ok(Err(PasskeyRefused::WrongUser));
    }
    match store.find_user(&passkey.user_id).await? {
        Some(user) if !user.is_disabled => {}
        _ => return Ok(Err(PasskeyRefused::UserDisabled)),
    }
    let recorded = store
        .record_passkey_use(
            &passkey.credential_id,
            passkey.sign_count,
            verified.new_sign_count,
            verified.backed_up,
            now,
        )
        .await?;
    if !recorded {
        return Ok(Err(PasskeyRefused::CounterRaced));
    }
    Ok(Ok(PasskeyProof {
        method: if passkey.backup_eligible {
            Method::SyncedPasskey
        } else {
            Method::DevicePasskey
        },
        user_id: passkey.user_id,
    }))
}

/// Whether `user` can authenticate again when an app asks (`can_reauthenticate` in ID tokens):
/// with a password, or with a passkey where passkeys are offered. Users with a password (most)
/// cost no look-up.
pub async fn can_reauthenticate(state: &AppState, user: &User) -> Result<bool, StoreError> {
    if user.password_hash.is_some() {
        return Ok(true);
    }
    if state.settings.passkeys.is_none() {
        return Ok(false);
    }
    Ok(!state
        .services
        .store
        .list_passkeys(&user.id)
        .await?
        .is_empty())
}

/// Options for `user` to register a passkey from the browser session `session`.
pub async fn registration_options(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
) -> Result<CreationOptions, StoreError> {
    let settings = settings(state)?;
    let challenge = issue_challenge(
        state,
        ChallengePurpose::Registration,
        session.sid.as_str(),
        Some(user.id.clone()),
    )
    .await?;
    let entity = UserEntity::new(
        &Passkey::user_handle(&user.id),
        user.email.as_str(),
        user.name.as_deref().unwrap_or(user.email.as_str()),
    );
    let mut options = CreationOptions::new(
        &settings.rp,
        settings.rp_name.clone(),
        entity,
        &challenge,
        UserVerification::Required,
    );
    options.timeout = Some(CEREMONY_TIMEOUT_MS);
    options.exclude_credentials = descriptors(&state.services.store.list_passkeys(&user.id).await?);
    Ok(options)
}

/// Checks the browser's answer to `user`'s registration challenge in `session` and stores the
/// passkey under `name`.
pub async fn register(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
    name: String,
    credential_json: &str,
    now: OffsetDateTime,
) -> Result<Result<Passkey, PasskeyRefused>, StoreError> {
    let settings = settings(state)?;
    let store = &state.services.store;
    let Some(issued) = store
        .take_passkey_challenge(ChallengePurpose::Registration, session.sid.as_str(), now)
        .await?
    else {
        return Ok(Err(PasskeyRefused::NoChallenge));
    };
    if issued.user_id.as_ref() != Some(&user.id) {
        return Ok(Err(PasskeyRefused::WrongUser));
    }
    let checked = Challenge::from_encoded(&issued.challenge).and_then(|expected| {
        let response = RegistrationResponse::from_json(credential_json.as_bytes())?;
        let verified = webauthn::verify_registration(
            &settings.rp,
            &expected,
            &response,
            UserVerification::Required,
        )?;
        Ok((response, verified))
    });
    let (response, verified) = match checked {
        Ok(checked) => checked,
        Err(err) => return Ok(Err(PasskeyRefused::Verification(err))),
    };
    let passkey = Passkey {
        credential_id: verified.credential_id,
        user_id: user.id.clone(),
        name,
        public_key: verified.public_key,
        algorithm: verified.algorithm.cose_id(),
        sign_count: verified.sign_count,
        backup_eligible: verified.backup_eligible,
        backed_up: verified.backed_up,
        transports: response.transports,
        aaguid: verified.aaguid,
        created_at: now,
        last_used_at: None,
    };
    match store.create_passkey(&passkey).await {
        Ok(()) => Ok(Ok(passkey)),
        // WebAuthn §7.1 step 25: a credential ID registered already (by anyone) is refused.
        Err(StoreError::Conflict(_)) => Ok(Err(PasskeyRefused::AlreadyRegistered)),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(issuer: &str, edit: impl FnOnce(&mut PasskeyConfig)) -> Result<Option<String>, String> {
        let mut config = PasskeyConfig::default();
        edit(&mut config);
        relying_party(&config, issuer).map(|s| s.map(|s| s.rp.id))
    }

    #[test]
    fn the_rp_id_is_the_issuers_host_or_a_domain_it_is_in() {
        assert_eq!(
            rp("https://id.example.com", |_| {}),
            Ok(Some("id.example.com".into()))
        );
        assert_eq!(
            rp("https://id.example.com", |c| c.rp_id =
                Some("example.com".into())),
            Ok(Some("example.com".into()))
        );
        assert!(rp("https://id.example.com", |c| c.rp_id =
            Some("other.com".into()))
        .is_err());
        assert!(rp("https://id.example.com", |c| c.rp_id =
            Some("ample.com".into()))
        .is_err());
        assert_eq!(
            rp("http://localhost:8080", |_| {}),
            Ok(Some("localhost".into()))
        );
        // Browsers refuse WebAuthn on an IP address: not offered, unless asked for (an error).
        assert_eq!(rp("http://127.0.0.1:8080", |_| {}), Ok(None));
        assert!(rp("http://127.0.0.1:8080", |c| c.rp_id =
            Some("localhost".into()))
        .is_err());
        assert_eq!(
            rp("https://id.example.com", |c| c.enabled = false),
            Ok(None)
        );
    }

    #[test]
    fn the_issuers_origin_and_the_extra_ones_are_allowed() {
        let config = PasskeyConfig {
            extra_origins: vec!["android:apk-key-hash:abc".into()],
            ..PasskeyConfig::default()
        };
        let settings = relying_party(&config, "https://id.example.com:8443/")
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.rp.origins,
            vec![
                "https://id.example.com:8443".to_owned(),
                "android:apk-key-hash:abc".to_owned()
            ]
        );
        assert_eq!(settings.rp_name, "id.example.com");
    }
}
