//! Table tests of the sign-in engine: every `prompt`, `max_age`, `id_token_hint`, consent and
//! `acr_values` combination the server's flow tests drive over HTTP, decided here without IO.

use super::*;
use crate::client::{Client, NewClient};
use crate::login::AuthorizationRequest;
use crate::scope::ScopeSet;
use crate::ClientId;
use time::Duration;

fn t(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn ada() -> UserId {
    UserId::from_stored("ada".into())
}

fn bob() -> UserId {
    UserId::from_stored("bob".into())
}

fn request() -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::parse("app").unwrap(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_in_request: true,
        scope: ScopeSet::parse("openid").unwrap(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt_login: false,
        prompt_consent: false,
        max_age: None,
        acr_values: Vec::new(),
        acr_essential: false,
        login_hint: None,
    }
}

fn client(first_party: bool) -> Client {
    let (client, _) = Client::register(
        NewClient {
            id: "app".into(),
            name: Some("App".into()),
            redirect_uris: vec!["https://app.example/cb".into()],
            is_first_party: first_party,
            ..NewClient::default()
        },
        t(0),
    )
    .unwrap();
    client
}

/// The policy of an OIDC request, shaped by `edit`, for a first-party client or not.
fn policy(
    first_party: bool,
    prompt_none: bool,
    hint: Option<UserId>,
    edit: impl FnOnce(&mut AuthorizationRequest),
) -> SignInPolicy {
    let mut request = request();
    edit(&mut request);
    let interaction = if prompt_none {
        Interaction::None
    } else {
        Interaction::Allowed
    };
    Continuation::Oidc(request).policy(&client(first_party), interaction, hint)
}

fn session(user: UserId, auth_time: OffsetDateTime) -> SessionFacts {
    SessionFacts {
        user_id: user,
        auth_time,
        amr: vec!["pwd".into()],
    }
}

fn password_at(user: UserId, at: OffsetDateTime) -> Progress {
    Progress {
        user_id: Some(user),
        proofs: vec![Proof {
            method: Method::Password,
            at,
        }],
        consented: false,
    }
}

fn no_second_factor() -> EnrolledMethods {
    EnrolledMethods::default()
}

fn with_totp() -> EnrolledMethods {
    EnrolledMethods {
        second_factors: vec![Method::Totp],
    }
}

fn finish(user: UserId, auth_time: OffsetDateTime, from_session: bool) -> Step {
    Step::Finish(Authentication {
        user_id: user,
        auth_time,
        amr: vec!["pwd".into()],
        acr: None,
        from_session,
    })
}

/// One row: the inputs and the expected step.
struct Case {
    name: &'static str,
    policy: SignInPolicy,
    progress: Progress,
    session: Option<SessionFacts>,
    enrolled: EnrolledMethods,
    consent_covers: bool,
    now: OffsetDateTime,
    expect: Step,
}

fn check(cases: Vec<Case>) {
    for case in cases {
        let step = decide(
            &case.policy,
            &case.progress,
            case.session.as_ref(),
            &case.enrolled,
            case.consent_covers,
            case.now,
        );
        assert_eq!(step, case.expect, "{}", case.name);
    }
}

#[test]
fn sessions_prompt_and_max_age() {
    let fp = |none: bool, edit: fn(&mut AuthorizationRequest)| policy(true, none, None, edit);
    let plain = |_: &mut AuthorizationRequest| {};
    let prompt_login = |r: &mut AuthorizationRequest| r.prompt_login = true;
    let max_age_900 = |r: &mut AuthorizationRequest| r.max_age = Some(900);
    let max_age_300 = |r: &mut AuthorizationRequest| r.max_age = Some(300);
    let max_age_0 = |r: &mut AuthorizationRequest| r.max_age = Some(0);
    let base = |name, policy, session: Option<SessionFacts>, now, expect| Case {
        name,
        policy,
        progress: Progress::default(),
        session,
        enrolled: no_second_factor(),
        consent_covers: false,
        now,
        expect,
    };
    check(vec![
        base(
            "no session: identify",
            fp(false, plain),
            None,
            t(0),
            Step::Identify,
        ),
        base(
            "no session, prompt=none: login_required",
            fp(true, plain),
            None,
            t(0),
            Step::Fail(SignInError::LoginRequired),
        ),
        base(
            "a live session answers silently",
            fp(false, plain),
            Some(session(ada(), t(0))),
            t(5),
            finish(ada(), t(0), true),
        ),
        base(
            "and with prompt=none too",
            fp(true, plain),
            Some(session(ada(), t(0))),
            t(5),
            finish(ada(), t(0), true),
        ),
        base(
            "max_age=900 ten minutes later: satisfied, old auth_time",
            fp(false, max_age_900),
            Some(session(ada(), t(0))),
            t(600),
            finish(ada(), t(0), true),
        ),
        base(
            "max_age=300 ten minutes later: the user logs in again",
            fp(false, max_age_300),
            Some(session(ada(), t(0))),
            t(600),
            Step::FirstFactor { user_id: ada() },
        ),
        base(
            "max_age=300 exactly at the limit: satisfied",
            fp(false, max_age_300),
            Some(session(ada(), t(0))),
            t(300),
            finish(ada(), t(0), true),
        ),
        base(
            "prompt=login right after a login: the page again",
            fp(false, prompt_login),
            Some(session(ada(), t(0))),
            t(0),
            Step::FirstFactor { user_id: ada() },
        ),
        base(
            "max_age=0 in the same second as the login: the page again",
            fp(false, max_age_0),
            Some(session(ada(), t(0))),
            t(0),
            Step::FirstFactor { user_id: ada() },
        ),
        base(
            "prompt=none cannot meet max_age=0",
            fp(true, max_age_0),
            Some(session(ada(), t(0))),
            t(5),
            Step::Fail(SignInError::LoginRequired),
        ),
        base(
            "prompt=none cannot meet prompt=login... (never both: refused earlier) or max_age",
            fp(true, max_age_300),
            Some(session(ada(), t(0))),
            t(600),
            Step::Fail(SignInError::LoginRequired),
        ),
    ]);
}

#[test]
fn proofs_in_this_sign_in_satisfy_prompt_login_and_max_age() {
    let cases = [
        (
            "prompt=login",
            policy(true, false, None, |r| r.prompt_login = true),
        ),
        (
            "max_age=0",
            policy(true, false, None, |r| r.max_age = Some(0)),
        ),
        (
            "max_age=300",
            policy(true, false, None, |r| r.max_age = Some(300)),
        ),
    ];
    for (name, policy) in cases {
        check(vec![Case {
            name,
            policy,
            progress: password_at(ada(), t(700)),
            // The session is the one the login just renewed or an old one: proofs decide.
            session: Some(session(ada(), t(0))),
            enrolled: no_second_factor(),
            consent_covers: false,
            now: t(701),
            expect: finish(ada(), t(700), false),
        }]);
    }
}

#[test]
fn id_token_hint_must_name_the_session_user() {
    let hinted = |user: UserId, none: bool| policy(true, none, Some(user), |_| {});
    let case = |name, policy, expect| Case {
        name,
        policy,
        progress: Progress::default(),
        session: Some(session(ada(), t(0))),
        enrolled: no_second_factor(),
        consent_covers: false,
        now: t(5),
        expect,
    };
    check(vec![
        case(
            "hint of the session user, prompt=none: silent",
            hinted(ada(), true),
            finish(ada(), t(0), true),
        ),
        case(
            "hint of another user, prompt=none: login_required",
            hinted(bob(), true),
            Step::Fail(SignInError::LoginRequired),
        ),
        case(
            "hint of another user: the login page, for whoever signs in",
            hinted(bob(), false),
            Step::Identify,
        ),
    ]);
}

#[test]
fn consent_is_asked_unless_first_party_or_remembered() {
    let auth = |from_session| Authentication {
        user_id: ada(),
        auth_time: t(0),
        amr: vec!["pwd".into()],
        acr: None,
        from_session,
    };
    let third = |none: bool, prompt_consent: bool| {
        policy(false, none, None, move |r| {
            r.prompt_consent = prompt_consent
        })
    };
    let case = |name, policy, progress: Progress, covers, expect| Case {
        name,
        policy,
        progress,
        session: Some(session(ada(), t(0))),
        enrolled: no_second_factor(),
        consent_covers: covers,
        now: t(5),
        expect,
    };
    let consented = Progress {
        consented: true,
        ..Progress::default()
    };
    check(vec![
        case(
            "first party: not asked",
            policy(true, false, None, |_| {}),
            Progress::default(),
            false,
            finish(ada(), t(0), true),
        ),
        case(
            "first party with prompt=consent: asked (it was ignored before the attack pass)",
            policy(true, false, None, |r| r.prompt_consent = true),
            Progress::default(),
            false,
            Step::Consent(auth(true)),
        ),
        case(
            "first party, prompt=consent, allowed in this sign-in: finish",
            policy(true, false, None, |r| r.prompt_consent = true),
            consented.clone(),
            false,
            finish(ada(), t(0), true),
        ),
        case(
            "third party, nothing remembered: asked",
            third(false, false),
            Progress::default(),
            false,
            Step::Consent(auth(true)),
        ),
        case(
            "third party, prompt=none, nothing remembered: consent_required",
            third(true, false),
            Progress::default(),
            false,
            Step::Fail(SignInError::ConsentRequired),
        ),
        case(
            "remembered and covering: straight through, prompt=none too",
            third(true, false),
            Progress::default(),
            true,
            finish(ada(), t(0), true),
        ),
        case(
            "prompt=consent asks although remembered",
            third(false, true),
            Progress::default(),
            true,
            Step::Consent(auth(true)),
        ),
        case(
            "prompt=consent after the user allowed in this sign-in: finish",
            third(false, true),
            consented.clone(),
            true,
            finish(ada(), t(0), true),
        ),
        case(
            "allowed in this sign-in: finish",
            third(false, false),
            consented,
            false,
            finish(ada(), t(0), true),
        ),
    ]);
}

#[test]
fn consent_after_a_login_carries_the_new_authentication() {
    let step = decide(
        &policy(false, false, None, |_| {}),
        &password_at(ada(), t(30)),
        None,
        &no_second_factor(),
        false,
        t(31),
    );
    assert_eq!(
        step,
        Step::Consent(Authentication {
            user_id: ada(),
            auth_time: t(30),
            amr: vec!["pwd".into()],
            acr: None,
            from_session: false,
        })
    );
    assert_eq!(step.stage(), Some(Stage::Consent));
}

#[test]
fn acr_is_reported_when_asked_and_follows_the_factors() {
    let with_acr = |values: &[&str]| {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        policy(true, false, None, move |r| r.acr_values = values)
    };
    let done = |policy: &SignInPolicy, progress: &Progress, enrolled: &EnrolledMethods| {
        decide(policy, progress, None, enrolled, false, t(10))
    };

    // Any acr_values: the password's acr is reported.
    let step = done(
        &with_acr(&["urn:example:gold"]),
        &password_at(ada(), t(9)),
        &no_second_factor(),
    );
    let Step::Finish(auth) = step else {
        panic!("finish expected, got {step:?}")
    };
    assert_eq!(auth.acr.as_deref(), Some(ACR_PASSWORD));

    // None asked: no acr.
    let Step::Finish(auth) = done(
        &with_acr(&[]),
        &password_at(ada(), t(9)),
        &no_second_factor(),
    ) else {
        panic!("finish expected")
    };
    assert_eq!(auth.acr, None);

    // MFA asked, no second factor enrolled: voluntary, so the password's acr.
    let mfa = with_acr(&[ACR_MFA]);
    let Step::Finish(auth) = done(&mfa, &password_at(ada(), t(9)), &no_second_factor()) else {
        panic!("finish expected")
    };
    assert_eq!(auth.acr.as_deref(), Some(ACR_PASSWORD));

    // MFA asked and a TOTP enrolled: the second factor is asked after the password.
    assert_eq!(
        done(&mfa, &password_at(ada(), t(9)), &with_totp()),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp]
        }
    );
    assert_eq!(
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![]
        }
        .stage(),
        Some(Stage::SecondFactor)
    );

    // Both proven: mfa in amr and acr, auth_time the later proof.
    let mut both = password_at(ada(), t(9));
    both.proofs.push(Proof {
        method: Method::Totp,
        at: t(10),
    });
    assert_eq!(
        done(&mfa, &both, &with_totp()),
        Step::Finish(Authentication {
            user_id: ada(),
            auth_time: t(10),
            amr: vec!["pwd".into(), "otp".into(), AMR_MFA.into()],
            acr: Some(ACR_MFA.into()),
            from_session: false,
        })
    );

    // Not asked: a user with a TOTP signs in with the password alone.
    assert_eq!(
        done(&with_acr(&[]), &password_at(ada(), t(9)), &with_totp()),
        finish(ada(), t(9), false)
    );
}

#[test]
fn a_session_without_the_wanted_second_factor_steps_up() {
    let mfa = policy(true, false, None, |r| r.acr_values = vec![ACR_MFA.into()]);
    let step = decide(
        &mfa,
        &Progress::default(),
        Some(&session(ada(), t(0))),
        &with_totp(),
        false,
        t(5),
    );
    assert_eq!(
        step,
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp]
        }
    );
    // prompt=none cannot ask it.
    let mfa_none = policy(true, true, None, |r| r.acr_values = vec![ACR_MFA.into()]);
    assert_eq!(
        decide(
            &mfa_none,
            &Progress::default(),
            Some(&session(ada(), t(0))),
            &with_totp(),
            false,
            t(5)
        ),
        Step::Fail(SignInError::LoginRequired)
    );
}

#[test]
fn a_step_up_completes_with_the_sessions_password_and_keeps_its_auth_time() {
    let mfa = policy(true, false, None, |r| r.acr_values = vec![ACR_MFA.into()]);
    let otp_now = Progress {
        user_id: Some(ada()),
        proofs: vec![Proof {
            method: Method::Totp,
            at: t(5),
        }],
        consented: false,
    };
    assert_eq!(
        decide(
            &mfa,
            &otp_now,
            Some(&session(ada(), t(0))),
            &with_totp(),
            false,
            t(5)
        ),
        Step::Finish(Authentication {
            user_id: ada(),
            auth_time: t(0),
            amr: vec!["pwd".into(), "otp".into(), AMR_MFA.into()],
            acr: Some(ACR_MFA.into()),
            from_session: false,
        })
    );
    // A code proven for another user adds nothing to this session: the second factor is asked.
    let bobs_code = Progress {
        user_id: Some(bob()),
        ..otp_now.clone()
    };
    assert!(matches!(
        decide(
            &mfa,
            &bobs_code,
            Some(&session(ada(), t(0))),
            &with_totp(),
            false,
            t(5)
        ),
        Step::SecondFactor { .. }
    ));
    // A session too old for max_age is not stepped up by a code: both factors again.
    let mfa_recent = policy(true, false, None, |r| {
        r.acr_values = vec![ACR_MFA.into()];
        r.max_age = Some(60);
    });
    assert_eq!(
        decide(
            &mfa_recent,
            &otp_now,
            Some(&session(ada(), t(0))),
            &with_totp(),
            false,
            t(120)
        ),
        Step::FirstFactor { user_id: ada() }
    );
}

#[test]
fn a_required_second_factor_is_asked_or_enrolled_whatever_acr_values_say() {
    let required = |edit: fn(&mut AuthorizationRequest)| {
        let mut policy = policy(true, false, None, edit);
        policy.requires_second_factor = true;
        policy
    };
    let plain = required(|_| {});
    // With a factor: asked after the password, without acr_values.
    assert_eq!(
        decide(
            &plain,
            &password_at(ada(), t(9)),
            None,
            &with_totp(),
            false,
            t(9)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp]
        }
    );
    // Without one: enrolled right after the password.
    assert_eq!(
        decide(
            &plain,
            &password_at(ada(), t(9)),
            None,
            &no_second_factor(),
            false,
            t(9)
        ),
        Step::EnrolSecondFactor { user_id: ada() }
    );
    assert_eq!(
        Step::EnrolSecondFactor { user_id: ada() }.stage(),
        Some(Stage::EnrolSecondFactor)
    );
    // A password-only session of a user with a factor steps up; one without a factor proves
    // the password again first (a session cookie alone never enrols a factor).
    let session = session(ada(), t(0));
    assert!(matches!(
        decide(
            &plain,
            &Progress::default(),
            Some(&session),
            &with_totp(),
            false,
            t(5)
        ),
        Step::SecondFactor { .. }
    ));
    assert_eq!(
        decide(
            &plain,
            &Progress::default(),
            Some(&session),
            &no_second_factor(),
            false,
            t(5)
        ),
        Step::FirstFactor { user_id: ada() }
    );
    // prompt=none cannot enrol or ask.
    let mut silent = policy(true, true, None, |_| {});
    silent.requires_second_factor = true;
    assert_eq!(
        decide(
            &silent,
            &Progress::default(),
            Some(&session),
            &with_totp(),
            false,
            t(5)
        ),
        Step::Fail(SignInError::LoginRequired)
    );
    // Both proven: done, and the acr (when asked) is the MFA level.
    let mut both = password_at(ada(), t(9));
    both.proofs.push(Proof {
        method: Method::Totp,
        at: t(10),
    });
    let asked = required(|r| r.acr_values = vec![ACR_PASSWORD.into()]);
    let Step::Finish(auth) = decide(&asked, &both, None, &with_totp(), false, t(10)) else {
        panic!("finish expected")
    };
    assert_eq!(auth.acr.as_deref(), Some(ACR_MFA));
    // Not required and not asked: the password alone, even for a user with a factor.
    assert_eq!(
        decide(
            &policy(true, false, None, |_| {}),
            &password_at(ada(), t(9)),
            None,
            &with_totp(),
            false,
            t(9)
        ),
        finish(ada(), t(9), false)
    );
}

#[test]
fn reauthenticating_a_session_with_a_second_factor_asks_for_it_again() {
    let relogin = policy(true, false, None, |r| r.prompt_login = true);
    let mfa_session = SessionFacts {
        user_id: ada(),
        auth_time: t(0),
        amr: vec!["pwd".into(), "otp".into(), AMR_MFA.into()],
    };
    // The password alone does not finish: the factor is asked too, without acr_values.
    assert_eq!(
        decide(
            &relogin,
            &password_at(ada(), t(9)),
            Some(&mfa_session),
            &with_totp(),
            false,
            t(9)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp]
        }
    );
    // A password-only session reauthenticates with the password alone.
    assert_eq!(
        decide(
            &relogin,
            &password_at(ada(), t(9)),
            Some(&session(ada(), t(0))),
            &with_totp(),
            false,
            t(9)
        ),
        finish(ada(), t(9), false)
    );
    // Another user signing in in that browser is not held to ada's level.
    assert_eq!(
        decide(
            &relogin,
            &password_at(bob(), t(9)),
            Some(&mfa_session),
            &with_totp(),
            false,
            t(9)
        ),
        finish(bob(), t(9), false)
    );
}

#[test]
fn an_essential_mfa_acr_fails_for_a_user_without_a_second_factor() {
    let essential = |acr: &[&str]| {
        let acr: Vec<String> = acr.iter().map(|a| a.to_string()).collect();
        policy(true, false, None, move |r| {
            r.acr_values = acr;
            r.acr_essential = true;
        })
    };
    let mfa = essential(&[ACR_MFA]);
    assert_eq!(
        decide(
            &mfa,
            &password_at(ada(), t(9)),
            None,
            &no_second_factor(),
            false,
            t(9)
        ),
        Step::Fail(SignInError::UnmetAuthenticationRequirements)
    );
    assert_eq!(
        SignInError::UnmetAuthenticationRequirements.code(),
        "unmet_authentication_requirements"
    );
    // A session without a factor: the same.
    assert_eq!(
        decide(
            &mfa,
            &Progress::default(),
            Some(&session(ada(), t(0))),
            &no_second_factor(),
            false,
            t(5)
        ),
        Step::Fail(SignInError::UnmetAuthenticationRequirements)
    );
    // A user with one is asked for it.
    assert!(matches!(
        decide(
            &mfa,
            &password_at(ada(), t(9)),
            None,
            &with_totp(),
            false,
            t(9)
        ),
        Step::SecondFactor { .. }
    ));
    // The password's level also acceptable, or not essential: the password alone finishes.
    for policy in [
        essential(&[ACR_MFA, ACR_PASSWORD]),
        policy(true, false, None, |r| r.acr_values = vec![ACR_MFA.into()]),
    ] {
        assert!(matches!(
            decide(
                &policy,
                &password_at(ada(), t(9)),
                None,
                &no_second_factor(),
                false,
                t(9)
            ),
            Step::Finish(_)
        ));
    }
}

#[test]
fn enrolled_methods_are_read_only_when_a_second_factor_can_be_asked() {
    let plain = policy(true, false, None, |_| {});
    assert!(!reads_enrolled_methods(&plain, None));
    assert!(!reads_enrolled_methods(&plain, Some(&session(ada(), t(0)))));
    let mfa_session = SessionFacts {
        amr: vec!["pwd".into(), "otp".into(), AMR_MFA.into()],
        ..session(ada(), t(0))
    };
    assert!(reads_enrolled_methods(&plain, Some(&mfa_session)));
    let wanted = policy(true, false, None, |r| r.acr_values = vec![ACR_MFA.into()]);
    assert!(reads_enrolled_methods(&wanted, None));
    let mut required = plain.clone();
    required.requires_second_factor = true;
    assert!(reads_enrolled_methods(&required, None));
}

#[test]
fn the_last_second_factor_stays_while_a_policy_requires_one() {
    let both = EnrolledMethods {
        second_factors: vec![Method::Totp, Method::RecoveryCode],
    };
    assert!(may_remove_second_factor(&both, Method::Totp, true));
    assert!(!may_remove_second_factor(&with_totp(), Method::Totp, true));
    assert!(may_remove_second_factor(&with_totp(), Method::Totp, false));
}

#[test]
fn a_progress_without_a_first_factor_does_not_authenticate() {
    // A second factor alone (or nothing) proves nobody: the login page.
    let progress = Progress {
        user_id: Some(ada()),
        proofs: vec![Proof {
            method: Method::Totp,
            at: t(1),
        }],
        consented: true,
    };
    assert_eq!(
        decide(
            &policy(true, false, None, |_| {}),
            &progress,
            None,
            &with_totp(),
            true,
            t(2)
        ),
        Step::Identify
    );
}

#[test]
fn pages_only_advance_their_own_stage() {
    let pending = PendingSignIn {
        id: "p".into(),
        csrf_hash: crate::client::SecretHash::of("csrf"),
        stage: Stage::FirstFactor,
        user_id: None,
        proofs: Vec::new(),
        continuation: Continuation::Oidc(request()),
        created_at: t(0),
        expires_at: t(0) + Duration::minutes(15),
    };
    assert!(pending.expect_stage(Stage::FirstFactor).is_ok());
    assert_eq!(
        pending.expect_stage(Stage::Consent),
        Err(StageMismatch {
            expected: Stage::FirstFactor,
            posted: Stage::Consent
        })
    );
    for stage in [
        Stage::FirstFactor,
        Stage::SecondFactor,
        Stage::EnrolSecondFactor,
        Stage::Consent,
    ] {
        assert_eq!(Stage::parse(stage.as_str()), Some(stage));
    }
    assert_eq!(Stage::parse("finish"), None);
}

fn passkey_at(user: UserId, method: Method, at: OffsetDateTime) -> Progress {
    Progress {
        user_id: Some(user),
        proofs: vec![Proof { method, at }],
        consented: false,
    }
}

fn with_passkey_and_totp() -> EnrolledMethods {
    EnrolledMethods {
        second_factors: vec![Method::Totp, Method::SyncedPasskey],
    }
}

fn done(step: Step) -> Authentication {
    match step {
        Step::Finish(auth) => auth,
        other => panic!("expected a finished sign-in, got {other:?}"),
    }
}

#[test]
fn a_passkey_alone_is_two_factors_and_the_phishing_resistant_level() {
    let mfa = |r: &mut AuthorizationRequest| r.acr_values = vec![ACR_MFA.into()];
    let phr = |r: &mut AuthorizationRequest| r.acr_values = vec![ACR_PHR.into(), ACR_MFA.into()];
    for (method, amr) in [
        (Method::SyncedPasskey, "swk"),
        (Method::DevicePasskey, "hwk"),
    ] {
        // A client asking for the passkey level gets it; amr shows user verification and mfa.
        let auth = done(decide(
            &policy(true, false, None, phr),
            &passkey_at(ada(), method, t(10)),
            None,
            &with_passkey_and_totp(),
            true,
            t(20),
        ));
        assert_eq!(auth.amr, vec![amr, AMR_USER, AMR_MFA]);
        assert_eq!(auth.acr.as_deref(), Some(ACR_PHR));
        assert_eq!(auth.auth_time, t(10));
        assert_eq!(acr_of(&auth.amr), ACR_PHR);
        // A client asking only for MFA is satisfied without another factor, and reads mfa.
        let auth = done(decide(
            &policy(true, false, None, mfa),
            &passkey_at(ada(), method, t(10)),
            None,
            &with_passkey_and_totp(),
            true,
            t(20),
        ));
        assert_eq!(auth.acr.as_deref(), Some(ACR_MFA));
    }
    // A policy requiring a second factor is met by the passkey alone.
    let required = {
        let mut p = policy(true, false, None, |_| {});
        p.requires_second_factor = true;
        p
    };
    let auth = done(decide(
        &required,
        &passkey_at(ada(), Method::SyncedPasskey, t(10)),
        None,
        &no_second_factor(),
        true,
        t(20),
    ));
    assert!(auth.amr.iter().any(|a| a == AMR_MFA));
}

#[test]
fn the_passkey_level_asks_a_user_with_a_passkey_for_it_even_after_other_factors() {
    let phr = |r: &mut AuthorizationRequest| r.acr_values = vec![ACR_PHR.into()];
    let mut after_totp = password_at(ada(), t(10));
    after_totp.proofs.push(Proof {
        method: Method::Totp,
        at: t(11),
    });
    assert_eq!(
        decide(
            &policy(true, false, None, phr),
            &after_totp,
            None,
            &with_passkey_and_totp(),
            true,
            t(20)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::SyncedPasskey],
        }
    );
    // Without a passkey, the best the user can reach: the MFA level, by asking the factor.
    assert_eq!(
        decide(
            &policy(true, false, None, phr),
            &password_at(ada(), t(10)),
            None,
            &with_totp(),
            true,
            t(20)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp],
        }
    );
    // As Essential and alone, it fails for a user without a passkey.
    let essential = |r: &mut AuthorizationRequest| {
        r.acr_values = vec![ACR_PHR.into()];
        r.acr_essential = true;
    };
    assert_eq!(
        decide(
            &policy(true, false, None, essential),
            &after_totp,
            None,
            &with_totp(),
            true,
            t(20)
        ),
        Step::Fail(SignInError::UnmetAuthenticationRequirements)
    );
    // A password session of a user with a passkey steps up with the passkey.
    let mut pwd_session = session(ada(), t(0));
    pwd_session.amr = vec!["pwd".into()];
    assert_eq!(
        decide(
            &policy(true, false, None, phr),
            &Progress::default(),
            Some(&pwd_session),
            &with_passkey_and_totp(),
            true,
            t(20)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::SyncedPasskey],
        }
    );
}

#[test]
fn reauthenticating_a_passkey_session_with_a_password_asks_for_a_second_factor() {
    let login = |r: &mut AuthorizationRequest| r.prompt_login = true;
    let mut passkey_session = session(ada(), t(0));
    passkey_session.amr = vec!["swk".into(), "user".into(), "mfa".into()];
    assert!(reads_enrolled_methods(
        &policy(true, false, None, login),
        Some(&passkey_session)
    ));
    assert_eq!(
        decide(
            &policy(true, false, None, login),
            &password_at(ada(), t(100)),
            Some(&passkey_session),
            &with_passkey_and_totp(),
            true,
            t(100)
        ),
        Step::SecondFactor {
            user_id: ada(),
            methods: vec![Method::Totp, Method::SyncedPasskey],
        }
    );
    // The passkey again: done, with a new auth_time.
    let auth = done(decide(
        &policy(true, false, None, login),
        &passkey_at(ada(), Method::SyncedPasskey, t(100)),
        Some(&passkey_session),
        &with_passkey_and_totp(),
        true,
        t(100),
    ));
    assert_eq!(auth.auth_time, t(100));
    assert!(!auth.from_session);
}
