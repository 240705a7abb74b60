//! Second factors as the sign-in sees them: which a user has enrolled (the engine's input), and
//! checking a typed code. The rules are the core's ([`tessera_core::totp`],
//! [`tessera_core::recovery_codes`]); the store makes each one-use rule atomic
//! ([`tessera_store::TotpStore::use_totp_step`],
//! [`tessera_store::RecoveryCodeStore::use_recovery_code`]). Attempts are limited per
//! account by the same store-backed throttle as passwords, under a key of their own
//! ([`ThrottleKey::for_second_factor`]), so every node shares the count.

use crate::app::AppState;
use std::net::IpAddr;
use tessera_core::audit::action;
use tessera_core::recovery_codes;
use tessera_core::sent_code;
use tessera_core::sign_in::{EnrolledMethods, Method};
use tessera_core::{
    totp, Admission, CodeCheck, CodePurpose, Recipient, SentCode, ThrottleKey, TotpFactor,
    TotpRejection, TotpSeed, User, UserId,
};
use tessera_store::StoreError;
use time::OffsetDateTime;

/// The second factors `user` can prove.
pub async fn enrolled(state: &AppState, user: &UserId) -> Result<EnrolledMethods, StoreError> {
    let store = &state.services.store;
    let mut second_factors = Vec::new();
    if store.find_totp_factor(user).await?.is_some() {
        second_factors.push(Method::Totp);
    }
    if let Some(user) = store.find_user(user).await? {
        if state.can_send_mail() && user.email_codes_enabled && user.email_verified {
            second_factors.push(Method::EmailCode);
        }
        if state.can_send_sms() && user.phone_number.is_some() {
            second_factors.push(Method::Sms);
        }
    }
    if store.count_unused_recovery_codes(user).await? > 0 {
        second_factors.push(Method::RecoveryCode);
    }
    // Passkeys, by kind: either one proves a second factor after a password.
    if state.settings.passkeys.is_some() {
        let passkeys = store.list_passkeys(user).await?;
        for (synced, method) in [
            (false, Method::DevicePasskey),
            (true, Method::SyncedPasskey),
        ] {
            if passkeys.iter().any(|p| p.backup_eligible == synced) {
                second_factors.push(method);
            }
        }
    }
    Ok(EnrolledMethods { second_factors })
}

/// Whether the server's policy (`mfa.required`, `mfa.required_roles`) requires `user` to have a
/// second factor, whatever the client.
pub fn required_for(state: &AppState, user: &User) -> bool {
    let mfa = &state.settings.mfa;
    mfa.required
        || user
            .roles
            .iter()
            .any(|role| mfa.required_roles.contains(role))
}

/// Whether `user` may remove the factor `removing` (core's
/// [`may_remove_second_factor`](tessera_core::sign_in::may_remove_second_factor)).
pub async fn may_remove(
    state: &AppState,
    user: &User,
    removing: Method,
) -> Result<bool, StoreError> {
    let enrolled = enrolled(state, &user.id).await?;
    Ok(tessera_core::sign_in::may_remove_second_factor(
        &enrolled,
        removing,
        required_for(state, user),
    ))
}

/// Why a typed code was not accepted (or a code not sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefused {
    /// Too many wrong codes (or codes sent) for this account: nothing is checked or sent until
    /// then.
    Locked { until: OffsetDateTime },
    /// Not a code of the expected shape.
    Malformed,
    /// Wrong, expired, already used, or out of tries.
    Wrong,
    /// The user has no such factor (removed meanwhile), or the enrolment is gone.
    NoFactor,
}

impl From<TotpRejection> for CodeRefused {
    fn from(rejection: TotpRejection) -> Self {
        match rejection {
            TotpRejection::Malformed => CodeRefused::Malformed,
            _ => CodeRefused::Wrong,
        }
    }
}

/// Checks `typed` as `user`'s TOTP code and, if it is right, spends its time step.
pub async fn check_totp(
    state: &AppState,
    user: &UserId,
    typed: &str,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    if let Some(locked) = count_attempt(state, user, now).await? {
        return Ok(Err(locked));
    }
    let store = &state.services.store;
    let Some(factor) = store.find_totp_factor(user).await? else {
        return Ok(Err(CodeRefused::NoFactor));
    };
    let step = match factor.check(state.services.keys.kek(), typed, now) {
        Ok(Ok(step)) => step,
        Ok(Err(rejection)) => return Ok(Err(rejection.into())),
        Err(err) => {
            return Err(StoreError::Backend(format!(
                "TOTP factor {} of user {user}: {err}",
                factor.id
            )))
        }
    };
    // The compare-and-swap is the one-use rule: of two requests with one code, one wins.
    if !store.use_totp_step(&factor.id, step).await? {
        return Ok(Err(CodeRefused::Wrong));
    }
    forget_attempts(state, user).await?;
    Ok(Ok(()))
}

/// Confirms `user`'s TOTP enrolment (whose opened seed is `seed`) with the code `typed`: counted
/// against the account like any second-factor code, then checked with no step used yet, then
/// confirmed in the store with the code's step spent, replacing any earlier factor. Audited.
/// `NoFactor` when the enrolment is gone (replaced, forgotten, or confirmed by a racing request).
pub async fn confirm_totp_enrolment(
    state: &AppState,
    enrolment: &TotpFactor,
    seed: &TotpSeed,
    typed: &str,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    let user = &enrolment.user_id;
    if let Some(locked) = count_attempt(state, user, now).await? {
        return Ok(Err(locked));
    }
    let step = match totp::verify(seed, typed, now, None) {
        Ok(step) => step,
        Err(rejection) => return Ok(Err(rejection.into())),
    };
    if !state
        .services
        .store
        .confirm_totp_enrolment(user, &enrolment.id, step, now)
        .await?
    {
        return Ok(Err(CodeRefused::NoFactor));
    }
    forget_attempts(state, user).await?;
    if let Some(owner) = state.services.store.find_user(user).await? {
        state
            .notify_account_change(&owner, "An authenticator app was added to your account.")
            .await;
    }
    state
        .audit(
            format!("user:{user}"),
            action::TOTP_ENROLLED,
            user.as_str(),
            None,
            serde_json::json!({}),
        )
        .await;
    Ok(Ok(()))
}

/// Checks `typed` as one of `user`'s unused recovery codes and, if it is, uses it up. The use
/// is audited: a recovery code in use means the usual factor is lost, or someone has the codes.
pub async fn check_recovery_code(
    state: &AppState,
    user: &UserId,
    typed: &str,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    if let Some(locked) = count_attempt(state, user, now).await? {
        return Ok(Err(locked));
    }
    let store = &state.services.store;
    let used = match recovery_codes::hash_typed(state.services.keys.kek(), typed) {
        Some(hash) => store.use_recovery_code(user, &hash, now).await?,
        None => false,
    };
    if !used {
        return Ok(Err(CodeRefused::Wrong));
    }
    forget_attempts(state, user).await?;
    let left = store.count_unused_recovery_codes(user).await?;
    state
        .audit(
            format!("user:{user}"),
            action::RECOVERY_CODE_USED,
            user.as_str(),
            None,
            serde_json::json!({ "unused_left": left }),
        )
        .await;
    Ok(Ok(()))
}

/// Sends `user` a new code for `purpose` to `to` (their address, or a phone number), replacing
/// any earlier one, through the outbox. Sending counts against the account like a wrong code,
/// so codes cannot be sent without limit (mail bombing, a provider's patience); an SMS also
/// counts against its number and against the network source asking (`source`), against SMS
/// pumping.
pub async fn send_code(
    state: &AppState,
    user: &User,
    purpose: CodePurpose,
    to: &Recipient,
    source: Option<IpAddr>,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    if let Some(locked) = count_attempt(state, &user.id, now).await? {
        return Ok(Err(locked));
    }
    if let Recipient::Phone(number) = to {
        let mut keys = vec![ThrottleKey::for_sms_number(number)];
        keys.extend(source.map(ThrottleKey::for_sms_source));
        for key in keys {
            if let Admission::Locked { until } = state
                .services
                .store
                .admit_login_attempt(&key, &state.settings.login_throttle, now)
                .await?
            {
                return Ok(Err(CodeRefused::Locked { until }));
            }
        }
    }
    let (digits, code) = SentCode::issue(
        &user.id,
        purpose,
        to.address(),
        state.services.keys.kek(),
        now,
    );
    state.services.store.create_sent_code(&code).await?;
    let minutes = sent_code::LIFETIME.whole_minutes();
    match to {
        Recipient::Email(address) => {
            let (subject, why) = match purpose {
                CodePurpose::VerifyEmail => (
                    "Confirm your email address",
                    "to confirm this address. If you did not ask for it, ignore this message.",
                ),
                CodePurpose::ChangeEmail => (
                    "Confirm your new email address",
                    "to move your account to this address. If you did not ask for it, ignore \
                     this message: nothing changes without the code.",
                ),
                _ => (
                    "Your sign-in code",
                    "to finish signing in. If you did not just sign in, someone knows your password: change it.",
                ),
            };
            let body = format!(
                "Your code is {}\n\nEnter it within {minutes} minutes {why}\n",
                digits.as_str()
            );
            state.queue_mail(address, subject, &body).await?;
        }
        Recipient::Phone(number) => {
            // Short, and the code first: it is what the phone shows in a notification.
            let body = format!(
                "{} is your code. It expires in {minutes} minutes. Do not share it.",
                digits.as_str()
            );
            state.queue_sms(number, &body).await?;
        }
    }
    Ok(Ok(()))
}

/// Checks `typed` as `user`'s live code for `purpose` sent to `destination` (the address or
/// number it went to), using it up if right.
pub async fn check_code(
    state: &AppState,
    user: &UserId,
    purpose: CodePurpose,
    destination: &str,
    typed: &str,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    if let Some(locked) = count_attempt(state, user, now).await? {
        return Ok(Err(locked));
    }
    let kek = state.services.keys.kek();
    let Some(hash) = sent_code::hash_typed(kek, user, purpose, destination, typed) else {
        return Ok(Err(CodeRefused::Malformed));
    };
    let checked = state
        .services
        .store
        .check_sent_code(user, purpose, &hash, now, sent_code::MAX_WRONG_ATTEMPTS)
        .await?;
    match checked {
        CodeCheck::Accepted => {
            forget_attempts(state, user).await?;
            Ok(Ok(()))
        }
        CodeCheck::Wrong { .. } | CodeCheck::NoLiveCode => Ok(Err(CodeRefused::Wrong)),
    }
}

/// Counts a second-factor attempt against the account before any code is checked; the lock if
/// the account is locked.
pub(crate) async fn count_attempt(
    state: &AppState,
    user: &UserId,
    now: OffsetDateTime,
) -> Result<Option<CodeRefused>, StoreError> {
    let admission = state
        .services
        .store
        .admit_login_attempt(
            &ThrottleKey::for_second_factor(user),
            &state.settings.login_throttle,
            now,
        )
        .await?;
    Ok(match admission {
        Admission::Locked { until } => Some(CodeRefused::Locked { until }),
        _ => None,
    })
}

/// A right code forgets the account's count of wrong ones.
async fn forget_attempts(state: &AppState, user: &UserId) -> Result<(), StoreError> {
    state
        .services
        .store
        .clear_login_attempts(&ThrottleKey::for_second_factor(user))
        .await
}
