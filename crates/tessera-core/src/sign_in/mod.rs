//! The sign-in engine: given what a pending sign-in has proven so far, the browser's session,
//! the user's enrolled methods, the policy of the client and the request, and `now`, it decides
//! the next step — identify the user, ask for a first or a second factor, ask for consent,
//! finish, or fail (`login_required`, `consent_required`).
//!
//! It is a pure decision: the hosted pages (`tessera-server`'s `ui/`) gather its inputs from the
//! store and the cookies, render the step it answers, and come back with a proof. A new kind of
//! proof (a second factor, a passkey) is a new [`Method`] and one page; a new protocol asking for
//! a sign-in (SAML, the device flow) is a new [`Continuation`] variant and its own
//! [`SignInPolicy`] constructor. Nothing here knows HTTP or the store.
//!
//! The decision is in two halves because consent depends on who signed in: [`authenticate`]
//! settles who the user is and how (or the step that would tell), then the caller looks up the
//! remembered consent of that user and [`complete`] decides between consent and finishing.
//! [`decide`] chains the two when the consent is already known (tests, simple callers).

mod pending;
#[cfg(test)]
mod tests;

pub use pending::{Continuation, PendingSignIn, Stage, StageMismatch, PENDING_SIGN_IN_LIFETIME};

use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `acr` of a sign-in with one factor (a password).
pub const ACR_PASSWORD: &str = "urn:tessera:acr:password";
/// The `acr` of a sign-in with two factors of different kinds.
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
/// The `acr` of a sign-in with a passkey: phishing-resistant (the signature is bound to this
/// server's origin, so a fake login page cannot relay it) and multi-factor (the passkey is only
/// accepted with user verification). Ordered: password < mfa < phr.
pub const ACR_PHR: &str = "urn:tessera:acr:phr";
/// The `amr` value added when two or more factors were proven (RFC 8176).
pub const AMR_MFA: &str = "mfa";
/// The `amr` value of a user verified by the authenticator (RFC 8176 `user`), added with every
/// passkey: Tessera accepts passkeys only with the UV flag set.
pub const AMR_USER: &str = "user";

/// A way of proving who one is. Its `amr` value is RFC 8176's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A password: a first factor, and it identifies the user with the typed address.
    Password,
    /// A time-based one-time password (RFC 6238): a second factor.
    Totp,
    /// One of the user's recovery codes: a second factor, for when the usual one is lost.
    RecoveryCode,
    /// A code sent to the user's verified email address: a second factor.
    EmailCode,
    /// A code sent by SMS to the user's verified phone number: a second factor.
    Sms,
    /// A passkey bound to one device (not backup-eligible: RFC 8176 `hwk`), used with user
    /// verification. A first factor that also proves a second on its own.
    DevicePasskey,
    /// A synced passkey (backup-eligible, kept by a password manager or platform account:
    /// RFC 8176 `swk`), used with user verification. Counted as [`Method::DevicePasskey`] is.
    SyncedPasskey,
}

impl Method {
    /// The `amr` value (RFC 8176).
    pub fn amr(self) -> &'static str {
        match self {
            Method::Password => "pwd",
            // RFC 8176 has no value of its own for a recovery code or an emailed code; both are
            // one-time passwords. The audit trail tells them apart.
            Method::Totp | Method::RecoveryCode | Method::EmailCode => "otp",
            Method::Sms => "sms",
            Method::DevicePasskey => "hwk",
            Method::SyncedPasskey => "swk",
        }
    }

    /// Whether this method can start a sign-in on its own (else it only follows a first factor).
    pub fn is_first_factor(self) -> bool {
        matches!(
            self,
            Method::Password | Method::DevicePasskey | Method::SyncedPasskey
        )
    }

    /// Whether this is a passkey.
    pub fn is_passkey(self) -> bool {
        matches!(self, Method::DevicePasskey | Method::SyncedPasskey)
    }

    /// Whether this method alone proves two factors: a passkey used with user verification is
    /// something the user has and something they are or know (the authenticator's biometric or
    /// PIN), so it satisfies a second-factor requirement by itself.
    pub fn proves_two_factors(self) -> bool {
        self.is_passkey()
    }

    /// Whether this method is, or includes, a second factor.
    fn counts_as_second(self) -> bool {
        !self.is_first_factor() || self.proves_two_factors()
    }

    /// The method whose `amr` value this is, for reading a session's stored `amr` back (`otp`
    /// reads as [`Method::Totp`]: the engine only needs its kind, a second factor).
    pub fn from_amr(amr: &str) -> Option<Self> {
        match amr {
            "pwd" => Some(Method::Password),
            "otp" => Some(Method::Totp),
            "sms" => Some(Method::Sms),
            "hwk" => Some(Method::DevicePasskey),
            "swk" => Some(Method::SyncedPasskey),
            _ => None,
        }
    }
}

/// A method proven during this sign-in, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The method.
    pub method: Method,
    /// When it was proven (whole seconds, as every stored time).
    #[serde(with = "time::serde::timestamp")]
    pub at: OffsetDateTime,
}

/// Whether a page may be shown to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interaction {
    /// Pages may be shown.
    Allowed,
    /// `prompt=none`: answer without any page, or fail.
    None,
}

/// When the user must consent to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentPolicy {
    /// First-party clients: never asked.
    NotNeeded,
    /// Asked unless a remembered consent covers the requested scope.
    UnlessRemembered,
    /// `prompt=consent`: asked in this sign-in whatever is remembered.
    Always,
}

/// What the client and the request ask of this sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Whether pages may be shown.
    pub interaction: Interaction,
    /// Authenticate again whatever the session says (`prompt=login`, `prompt=select_account`,
    /// `max_age=0`).
    pub reauthenticate: bool,
    /// The session's authentication must be at most this many seconds old.
    pub max_age: Option<i64>,
    /// The user a valid `id_token_hint` names: a session of another user does not count.
    pub expected_user: Option<UserId>,
    /// When consent is asked.
    pub consent: ConsentPolicy,
    /// Whether a second factor is wanted, when the user has one enrolled (`acr_values`
    /// naming [`ACR_MFA`]). Voluntary, as `acr_values` are (OpenID Connect Core §5.5.1.1): a
    /// user without a second factor signs in with one, and the `acr` says so.
    pub wants_second_factor: bool,
    /// Whether the answer carries an `acr` (the client sent `acr_values`).
    pub reports_acr: bool,
    /// Whether a second factor is required (the client's, the server's or the user's roles'
    /// policy): a user without one enrols one right after proving the password.
    pub requires_second_factor: bool,
    /// Whether the wanted second factor was asked as Essential (an essential `acr` naming only
    /// the MFA level): a user without one fails with `unmet_authentication_requirements`.
    pub second_factor_essential: bool,
    /// Whether a passkey is wanted (`acr_values` naming [`ACR_PHR`]): a user with one is asked
    /// for it even after other factors; a user without one gets the best level they can reach.
    pub wants_phishing_resistant: bool,
    /// Whether the passkey level was asked as Essential and alone: a user without a passkey
    /// fails with `unmet_authentication_requirements`.
    pub phishing_resistant_essential: bool,
}

/// The live browser session, as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    /// Who is signed in.
    pub user_id: UserId,
    /// When they last authenticated.
    pub auth_time: OffsetDateTime,
    /// How (`amr` values).
    pub amr: Vec<String>,
}

/// What this pending sign-in has established so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The user a first factor identified.
    pub user_id: Option<UserId>,
    /// Methods proven in this sign-in, oldest first.
    pub proofs: Vec<Proof>,
    /// The user answered the consent page with "allow" in this sign-in.
    pub consented: bool,
}

/// The methods a user has enrolled besides the password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnrolledMethods {
    /// Second factors the user can prove.
    pub second_factors: Vec<Method>,
}

/// Who signed in and how: what the code, and then the tokens, will say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// The user.
    pub user_id: UserId,
    /// When the user last proved a factor (`auth_time`).
    pub auth_time: OffsetDateTime,
    /// How (`amr`, RFC 8176).
    pub amr: Vec<String>,
    /// The `acr`, when the client asked for one.
    pub acr: Option<String>,
    /// Whether it comes from the browser session rather than from proofs in this sign-in.
    pub from_session: bool,
}

/// Why a sign-in cannot go on, in OpenID Connect's terms (Core §3.1.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The user must sign in, and no page may be shown.
    #[error("the user must sign in")]
    LoginRequired,
    /// The user must consent, and no page may be shown.
    #[error("the user must consent")]
    ConsentRequired,
    /// The user refused consent.
    #[error("the user denied access")]
    AccessDenied,
    /// An essential `acr` cannot be reached: the user has no second factor.
    #[error("the requested authentication level cannot be met for this user")]
    UnmetAuthenticationRequirements,
}

impl SignInError {
    /// The OAuth `error` code.
    pub fn code(self) -> &'static str {
        match self {
            SignInError::LoginRequired => "login_required",
            SignInError::ConsentRequired => "consent_required",
            SignInError::AccessDenied => "access_denied",
            // OpenID Connect Core Unmet Authentication Requirements 1.0.
            SignInError::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }
}

/// The next step of a sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nobody is known: ask who the user is, with a first factor.
    Identify,
    /// The user is known (a session to renew) and must prove a first factor again.
    FirstFactor {
        /// The user.
        user_id: UserId,
    },
    /// A first factor is proven; a second is wanted.
    SecondFactor {
        /// The user.
        user_id: UserId,
        /// The second factors the user may choose from.
        methods: Vec<Method>,
    },
    /// A second factor is required and the user has none: enrol one now, right after the
    /// password proven in this sign-in.
    EnrolSecondFactor {
        /// The user.
        user_id: UserId,
    },
    /// Ask the user to consent to the client.
    Consent(Authentication),
    /// Done: answer the continuation.
    Finish(Authentication),
    /// Stop with this error.
    Fail(SignInError),
}

impl Step {
    /// The stage a pending sign-in waits in while this step's page is shown; `None` for the
    /// steps that show no page.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Step::Identify | Step::FirstFactor { .. } => Some(Stage::FirstFactor),
            Step::SecondFactor { .. } => Some(Stage::SecondFactor),
            Step::EnrolSecondFactor { .. } => Some(Stage::EnrolSecondFactor),
            Step::Consent(_) => Some(Stage::Consent),
            Step::Finish(_) | Step::Fail(_) => None,
        }
    }
}

/// The answer of [`authenticate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authenticated {
    /// The user is authenticated as the policy asks.
    Done(Authentication),
    /// Not yet: this is the step to take.
    Next(Step),
}

/// Who the user is and how, or the step that would tell.
///
/// Proofs made in this sign-in come first: they satisfy `prompt=login` and any `max_age`
/// (they are from now). Otherwise the browser session counts if the policy lets it: no forced
/// reauthentication, recent enough for `max_age`, and the user an `id_token_hint` names.
pub fn authenticate(
    policy: &SignInPolicy,
    progress: &Progress,
    session: Option<&SessionFacts>,
    enrolled: &EnrolledMethods,
    now: OffsetDateTime,
) -> Authenticated {
    let next = |step: Step| match policy.interaction {
        Interaction::Allowed => Authenticated::Next(step),
        Interaction::None => Authenticated::Next(Step::Fail(SignInError::LoginRequired)),
    };
    let second = |proven: &[Method]| second_factor_needed(policy, enrolled, proven);

    if let Some(user_id) = &progress.user_id {
        let proven: Vec<Method> = progress.proofs.iter().map(|p| p.method).collect();
        if proven.iter().any(|m| m.is_first_factor()) {
            // Reauthenticating a session that proved a second factor asks for one again: a
            // fresh sign-in must not lower what the session (and its next tokens) say.
            let session_had_second =
                session.is_some_and(|s| s.user_id == *user_id && proved_second(s));
            let need = if session_had_second {
                let keep_level = SignInPolicy {
                    wants_second_factor: true,
                    ..policy.clone()
                };
                second_factor_needed(&keep_level, enrolled, &proven)
            } else {
                second(&proven)
            };
            match need {
                SecondFactorNeed::None => {}
                SecondFactorNeed::Prove(methods) => {
                    return next(Step::SecondFactor {
                        user_id: user_id.clone(),
                        methods,
                    })
                }
                SecondFactorNeed::Enrol => {
                    return next(Step::EnrolSecondFactor {
                        user_id: user_id.clone(),
                    })
                }
                SecondFactorNeed::Unmet => {
                    return Authenticated::Next(Step::Fail(
                        SignInError::UnmetAuthenticationRequirements,
                    ))
                }
            }
            let auth_time = progress.proofs.iter().map(|p| p.at).max().unwrap_or(now);
            return Authenticated::Done(authentication(
                policy,
                user_id.clone(),
                auth_time,
                &proven,
                false,
            ));
        }
    }

    if let Some(session) = session {
        let fresh_enough = policy
            .max_age
            .is_none_or(|max_age| (now - session.auth_time).whole_seconds() <= max_age);
        let expected_user = policy
            .expected_user
            .as_ref()
            .is_none_or(|user| *user == session.user_id);
        if !policy.reauthenticate && fresh_enough && expected_user {
            let mut proven: Vec<Method> = session
                .amr
                .iter()
                .filter_map(|amr| Method::from_amr(amr))
                .collect();
            // A step-up: the second factor proven in this sign-in adds to the session's first,
            // for the session's own user only.
            let stepped_up =
                progress.user_id.as_ref() == Some(&session.user_id) && !progress.proofs.is_empty();
            if stepped_up {
                proven.extend(progress.proofs.iter().map(|p| p.method));
            }
            match second(&proven) {
                SecondFactorNeed::None => {}
                // Step-up: the session's first factor stands; only the second is asked.
                SecondFactorNeed::Prove(methods) => {
                    return next(Step::SecondFactor {
                        user_id: session.user_id.clone(),
                        methods,
                    })
                }
                // Enrolling a factor needs the password proven in this sign-in, not a
                // session's: a stolen session cookie must not enrol the thief's
                // authenticator.
                SecondFactorNeed::Enrol => {
                    return next(Step::FirstFactor {
                        user_id: session.user_id.clone(),
                    })
                }
                SecondFactorNeed::Unmet => {
                    return Authenticated::Next(Step::Fail(
                        SignInError::UnmetAuthenticationRequirements,
                    ))
                }
            }
            // A step-up keeps the session's auth_time: only a first factor renews it, so a
            // code alone never satisfies a later max_age.
            let mut auth = authentication(
                policy,
                session.user_id.clone(),
                session.auth_time,
                &proven,
                !stepped_up,
            );
            if !stepped_up {
                // The session's own record is what it proved, even for values this engine does
                // not know (kept as stored).
                auth.amr = session.amr.clone();
            }
            return Authenticated::Done(auth);
        }
        if expected_user {
            return next(Step::FirstFactor {
                user_id: session.user_id.clone(),
            });
        }
    }
    next(Step::Identify)
}

/// Whether [`authenticate`] can ask for a second factor under `policy` with `session`, and so
/// needs the user's enrolled methods: only when the request wants one, a policy requires one, or
/// the session proved one (a reauthentication keeps the level). Otherwise the caller can pass
/// [`EnrolledMethods::default`] and spare the look-ups.
pub fn reads_enrolled_methods(policy: &SignInPolicy, session: Option<&SessionFacts>) -> bool {
    policy.wants_second_factor
        || policy.requires_second_factor
        || policy.wants_phishing_resistant
        || session.is_some_and(proved_second)
}

/// Whether a session's authentication included a second factor (or a passkey, which is two).
fn proved_second(session: &SessionFacts) -> bool {
    session
        .amr
        .iter()
        .filter_map(|amr| Method::from_amr(amr))
        .any(Method::counts_as_second)
}

/// What the second factor still asks of a sign-in that has proven `proven`.
enum SecondFactorNeed {
    /// Nothing: one is proven, or none is wanted (or wanted only voluntarily, and the user has
    /// none).
    None,
    /// Prove one of these.
    Prove(Vec<Method>),
    /// Required, and the user has none: enrol one.
    Enrol,
    /// Asked as Essential, and the user has none: the sign-in fails.
    Unmet,
}

fn second_factor_needed(
    policy: &SignInPolicy,
    enrolled: &EnrolledMethods,
    proven: &[Method],
) -> SecondFactorNeed {
    if policy.wants_phishing_resistant && !proven.iter().any(|m| m.is_passkey()) {
        let passkeys: Vec<Method> = enrolled
            .second_factors
            .iter()
            .copied()
            .filter(|m| m.is_passkey())
            .collect();
        if !passkeys.is_empty() {
            return SecondFactorNeed::Prove(passkeys);
        }
        if policy.phishing_resistant_essential {
            return SecondFactorNeed::Unmet;
        }
    }
    if proven.iter().any(|m| m.counts_as_second()) {
        return SecondFactorNeed::None;
    }
    let has_one = !enrolled.second_factors.is_empty();
    match (
        policy.requires_second_factor,
        policy.wants_second_factor,
        has_one,
    ) {
        (true, _, false) => SecondFactorNeed::Enrol,
        (true, _, true) | (false, true, true) => {
            SecondFactorNeed::Prove(enrolled.second_factors.clone())
        }
        (false, true, false) if policy.second_factor_essential => SecondFactorNeed::Unmet,
        (false, _, false) | (false, false, true) => SecondFactorNeed::None,
    }
}

/// After [`authenticate`]: consent, or finish. `remembered_consent_covers` says whether the
/// user's remembered consent to this client covers the requested scope.
pub fn complete(
    policy: &SignInPolicy,
    progress: &Progress,
    authentication: Authentication,
    remembered_consent_covers: bool,
) -> Step {
    let needs_consent = match policy.consent {
        ConsentPolicy::NotNeeded => false,
        ConsentPolicy::UnlessRemembered => !remembered_consent_covers && !progress.consented,
        ConsentPolicy::Always => !progress.consented,
    };
    match (needs_consent, policy.interaction) {
        (false, _) => Step::Finish(authentication),
        (true, Interaction::Allowed) => Step::Consent(authentication),
        (true, Interaction::None) => Step::Fail(SignInError::ConsentRequired),
    }
}

/// [`authenticate`] then [`complete`], for a caller that knows the consent already.
pub fn decide(
    policy: &SignInPolicy,
    progress: &Progress,
    session: Option<&SessionFacts>,
    enrolled: &EnrolledMethods,
    remembered_consent_covers: bool,
    now: OffsetDateTime,
) -> Step {
    match authenticate(policy, progress, session, enrolled, now) {
        Authenticated::Done(auth) => complete(policy, progress, auth, remembered_consent_covers),
        Authenticated::Next(step) => step,
    }
}

/// Whether a user may remove the second factor `removing`, holding `enrolled` now, when a
/// policy that applies to them whatever the client (the server's, their roles') `requires` a
/// second factor: not the last one. (A client's own requirement does not stop it: that client
/// then has the user enrol again at their next sign-in.)
pub fn may_remove_second_factor(
    enrolled: &EnrolledMethods,
    removing: Method,
    requires: bool,
) -> bool {
    !requires || enrolled.second_factors.iter().any(|m| *m != removing)
}

/// The `acr` a sign-in with these `amr` values reached, whether or not the client asked for one:
/// what access tokens and introspection say, so an API can demand a level (RFC 9470).
pub fn acr_of(amr: &[String]) -> &'static str {
    let passkey = amr
        .iter()
        .filter_map(|a| Method::from_amr(a))
        .any(Method::is_passkey);
    if passkey {
        ACR_PHR
    } else if amr.iter().any(|a| a == AMR_MFA) {
        ACR_MFA
    } else {
        ACR_PASSWORD
    }
}

/// `amr` and `acr` from the methods proven.
fn authentication(
    policy: &SignInPolicy,
    user_id: UserId,
    auth_time: OffsetDateTime,
    proven: &[Method],
    from_session: bool,
) -> Authentication {
    let mut amr: Vec<String> = Vec::new();
    let mut add = |value: &str| {
        if !amr.iter().any(|a| a == value) {
            amr.push(value.to_owned());
        }
    };
    for method in proven {
        add(method.amr());
        if method.is_passkey() {
            add(AMR_USER);
        }
    }
    let two_factors = proven.iter().any(|m| m.proves_two_factors())
        || (proven.iter().any(|m| m.is_first_factor())
            && proven.iter().any(|m| !m.is_first_factor()));
    if two_factors {
        add(AMR_MFA);
    }
    let reached = acr_of(&amr);
    // The passkey level is reported to clients that asked for it; to the others it reads as the
    // MFA level it includes, so a client that knows only that level is not surprised.
    let acr = policy.reports_acr.then(|| {
        if reached == ACR_PHR && !policy.wants_phishing_resistant {
            ACR_MFA.to_owned()
        } else {
            reached.to_owned()
        }
    });
    Authentication {
        user_id,
        auth_time,
        amr,
        acr,
        from_session,
    }
}
