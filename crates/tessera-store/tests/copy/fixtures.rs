//! A SQLite store holding a bit of every aggregate, filled through the store traits the way a
//! running node fills it, and what the tests need to know of it afterwards.

use tessera_core::client::SecretHash;
use tessera_core::code::CODE_BYTES;
use tessera_core::refresh::REFRESH_TOKEN_BYTES;
use tessera_core::revocation::new_jti;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{
    AuditEvent, AuthorizationCode, AuthorizationRequest, BearerSecret, BrowserSession, Client,
    CodeChallenge, Consent, Email, LoginThrottlePolicy, NewClient, PasswordHash, PendingSignIn,
    RefreshLifetimes, RefreshToken, Revocation, RevocationReason, RevocationTarget, ScopeSet,
    SessionId, SigningKeyRecord, ThrottleKey, User,
};
use tessera_core::{Continuation, Stage};
use tessera_store::ProbedStore;
use time::{Duration, OffsetDateTime};

/// A whole-second instant, `secs` after a fixed base.
pub fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A stored argon2id hash; never verified here, so it need not be a real one.
pub fn fake_hash() -> PasswordHash {
    PasswordHash::from_stored(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA".to_owned(),
    )
}

pub fn user(email: &str) -> User {
    User::new(
        Email::parse(email).unwrap(),
        Some("Ada O'Brien 👩‍💻".into()),
        strings(&["ops", "admin"]),
        Some(fake_hash()),
        t(0),
    )
    .unwrap()
}

pub fn public_client(id: &str) -> Client {
    Client::register(
        NewClient {
            id: id.into(),
            redirect_uris: strings(&["http://localhost:3000/cb"]),
            is_public: true,
            ..Default::default()
        },
        t(5),
    )
    .unwrap()
    .0
}

fn scope(tokens: &str) -> ScopeSet {
    ScopeSet::parse(tokens).unwrap()
}

fn session(user: &User) -> BrowserSession {
    BrowserSession {
        sid: SessionId::generate(),
        secret_hash: BearerSecret::generate(32).hash(),
        user_id: user.id.clone(),
        auth_time: t(0),
        amr: strings(&["pwd", "otp"]),
        created_at: t(0),
        expires_at: t(3600),
        user_agent: Some("Mozilla/5.0 (Macintosh) Safari/605.1.15".into()),
        last_seen_at: t(60),
    }
}

fn code(user: &User, client: &Client, sid: &SessionId) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: BearerSecret::generate(CODE_BYTES).hash(),
        client_id: client.id.clone(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_in_request: true,
        user_id: user.id.clone(),
        sid: sid.clone(),
        scope: scope("openid profile"),
        nonce: Some("n-0S6 \"quoted\"".into()),
        code_challenge: Some(CodeChallenge::of_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        )),
        auth_time: t(-30),
        amr: strings(&["pwd"]),
        acr: Some("urn:example:loa:2".into()),
        family_id: tessera_core::random::token(16),
        access_token_jti: new_jti(),
        issued_at: t(0),
        expires_at: t(60),
    }
}

fn refresh(user: &User, client: &Client, sid: &SessionId, family: &str) -> RefreshToken {
    let lifetimes = RefreshLifetimes::default();
    RefreshToken {
        token_hash: BearerSecret::generate(REFRESH_TOKEN_BYTES).hash(),
        family_id: family.into(),
        client_id: client.id.clone(),
        user_id: user.id.clone(),
        sid: sid.clone(),
        scope: scope("openid offline_access"),
        auth_time: t(-30),
        amr: strings(&["pwd"]),
        acr: None,
        issued_at: t(0),
        idle_expires_at: t(0) + lifetimes.idle,
        absolute_expires_at: t(0) + lifetimes.absolute,
        access_token: None,
    }
}

/// A pending sign-in; the full one waits for consent after a password (its user is `user`).
fn login_request(client: &Client, full: bool, user: &User) -> PendingSignIn {
    PendingSignIn {
        id: tessera_core::random::token(16),
        csrf_hash: BearerSecret::generate(32).hash(),
        stage: if full {
            Stage::Consent
        } else {
            Stage::FirstFactor
        },
        user_id: full.then(|| user.id.clone()),
        proofs: if full {
            vec![Proof {
                method: Method::Password,
                at: t(5),
            }]
        } else {
            Vec::new()
        },
        continuation: Continuation::Oidc(AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri: client.redirect_uris[0].as_str().into(),
            redirect_uri_in_request: full,
            scope: scope(if full { "openid email" } else { "" }),
            state: full.then(|| "st@te 👋".into()),
            nonce: full.then(|| "nonce".into()),
            code_challenge: None,
            prompt_login: full,
            prompt_consent: !full,
            max_age: full.then_some(0),
            acr_values: if full {
                strings(&["urn:example:loa:3", "urn:example:loa:3"])
            } else {
                vec![]
            },
            acr_essential: full,
            login_hint: None,
        }),
        created_at: t(0),
        expires_at: t(600),
    }
}

/// What [`fill`] stored that cannot be listed through the store traits.
pub struct Filled {
    pub users: Vec<User>,
    pub clients: Vec<Client>,
    /// Sessions that are still stored.
    pub sessions: Vec<BrowserSession>,
    /// A code redeemed once, and one never redeemed.
    pub redeemed_code: AuthorizationCode,
    pub fresh_code: AuthorizationCode,
    /// Refresh tokens stored (rotated, current, revoked).
    pub refresh_hashes: Vec<SecretHash>,
    /// A family revoked before any token of it existed.
    pub revoked_family: String,
    pub consent: Consent,
    pub login_requests: Vec<PendingSignIn>,
    /// An address locked by failed sign-ins.
    pub throttled: ThrottleKey,
    /// The highest feed cursor handed out (its entry has been swept).
    pub last_cursor: i64,
}

/// Fills `store` with a bit of every aggregate. The newest revocation entry has been swept, so
/// the feed horizon is that entry's cursor and no stored entry carries it.
pub async fn fill(store: &dyn ProbedStore) -> Filled {
    let ada = user("ada@example.com");
    let mut bob = user("bob@example.com");
    bob.is_disabled = true;
    bob.password_hash = None;
    bob.name = None;
    for u in [&ada, &bob] {
        store.create_user(u).await.unwrap();
    }
    let (rp, _secret) = Client::register(
        NewClient {
            id: "rp".into(),
            name: Some("Relying “party”".into()),
            redirect_uris: strings(&["https://app.example.com/cb"]),
            post_logout_redirect_uris: strings(&["https://app.example.com/bye"]),
            backchannel_logout_uri: Some("https://app.example.com/bc".into()),
            is_public: false,
            grant_types: strings(&["authorization_code", "refresh_token"]),
            scopes: strings(&["openid", "profile", "email", "offline_access"]),
            is_first_party: true,
            is_resource_server: true,
            allowed_origins: Vec::new(),
            require_pkce: true,
            require_mfa: true,
        },
        t(1),
    )
    .unwrap();
    let spa = public_client("spa");
    for c in [&rp, &spa] {
        store.create_client(c).await.unwrap();
    }

    let mut retired = SigningKeyRecord {
        kid: "k0".into(),
        alg: "RS256".into(),
        sealed_private_key: vec![0, 1, 2, 254, 255, 0],
        created_at: t(0),
        rotated_at: None,
        expires_at: None,
    };
    store.create_signing_key(&retired).await.unwrap();
    retired.kid = "k1".into();
    retired.sealed_private_key = b"sealed\0k1".to_vec();
    store
        .rotate_signing_key(&retired, t(10), t(1000))
        .await
        .unwrap();

    let kept = session(&ada);
    let ended = session(&bob);
    for s in [&kept, &ended] {
        store.create_session(s).await.unwrap();
    }
    // The relying party takes part in both sessions (a code each); ada's first is redeemed.
    let redeemed_code = code(&ada, &rp, &kept.sid);
    let fresh_code = code(&ada, &spa, &kept.sid);
    for c in [&redeemed_code, &fresh_code, &code(&bob, &rp, &ended.sid)] {
        store.create_code(c).await.unwrap();
    }
    store
        .redeem_code(&redeemed_code.code_hash, t(5))
        .await
        .unwrap();

    let family = tessera_core::random::token(16);
    let first = refresh(&ada, &rp, &kept.sid, &family);
    assert!(store.create_refresh_token(&first).await.unwrap());
    let second = first.successor(
        BearerSecret::generate(REFRESH_TOKEN_BYTES).hash(),
        t(20),
        RefreshLifetimes::default().idle,
        tessera_core::IssuedAccessToken {
            jti: new_jti(),
            expires_at: t(920),
        },
    );
    store
        .rotate_refresh_token(&first.token_hash, &second, t(20))
        .await
        .unwrap();
    let bobs = refresh(&bob, &rp, &ended.sid, &tessera_core::random::token(16));
    assert!(store.create_refresh_token(&bobs).await.unwrap());
    let revoked_family = tessera_core::random::token(16);
    store
        .revoke_refresh_family(
            &revoked_family,
            t(25),
            RevocationReason::ClientRequest,
            "test",
        )
        .await
        .unwrap();

    let consent = Consent {
        user_id: ada.id.clone(),
        client_id: spa.id.clone(),
        scope: scope("openid profile"),
        granted_at: t(30),
    };
    store.save_consent(&consent).await.unwrap();
    let login_requests = vec![
        login_request(&spa, true, &ada),
        login_request(&rp, false, &ada),
    ];
    for r in &login_requests {
        store.create_login_request(r).await.unwrap();
    }
    // Second factors: ada's confirmed authenticator (binary sealed seed, a used step), bob's
    // waiting enrolment, and ada's recovery codes, one of them used.
    let factor = tessera_core::TotpFactor {
        id: "totp-ada".into(),
        user_id: ada.id.clone(),
        sealed_seed: vec![0, 1, 2, 254, 255],
        confirmed_at: None,
        last_used_step: None,
        created_at: t(31),
    };
    store.create_totp_enrolment(&factor).await.unwrap();
    assert!(store
        .confirm_totp_enrolment(&ada.id, "totp-ada", 56_666_667, t(32))
        .await
        .unwrap());
    let waiting = tessera_core::TotpFactor {
        id: "totp-bob".into(),
        user_id: bob.id.clone(),
        ..factor
    };
    store.create_totp_enrolment(&waiting).await.unwrap();
    store
        .replace_recovery_codes(&ada.id, &strings(&["code-hash-1", "code-hash-2"]), t(33))
        .await
        .unwrap();
    assert!(store
        .use_recovery_code(&ada.id, "code-hash-1", t(34))
        .await
        .unwrap());

    // Passkeys: ada's, with a binary credential ID and a recorded use, and two challenges
    // waiting (a registration in her session, a sign-in without a username).
    let passkey = tessera_core::Passkey {
        credential_id: vec![0, 1, 2, 254, 255, 0],
        user_id: ada.id.clone(),
        name: "Ada’s MacBook".into(),
        public_key: vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x00],
        algorithm: -7,
        sign_count: 0,
        backup_eligible: true,
        backed_up: false,
        transports: strings(&["internal", "hybrid"]),
        aaguid: [0xad; 16],
        created_at: t(36),
        last_used_at: None,
    };
    store.create_passkey(&passkey).await.unwrap();
    assert!(store
        .record_passkey_use(&passkey.credential_id, 0, 7, true, t(37))
        .await
        .unwrap());
    let challenge = tessera_core::webauthn::Challenge::new();
    for (purpose, bound_to, user) in [
        (
            tessera_core::ChallengePurpose::Registration,
            kept.sid.as_str(),
            Some(ada.id.clone()),
        ),
        (
            tessera_core::ChallengePurpose::Authentication,
            login_requests[1].id.as_str(),
            None,
        ),
    ] {
        store
            .put_passkey_challenge(&tessera_core::PasskeyChallenge::issue(
                purpose,
                bound_to.into(),
                user,
                &challenge,
                t(38),
            ))
            .await
            .unwrap();
    }

    let throttled = ThrottleKey::for_username("mallory-target@example.com");
    for _ in 0..5 {
        store
            .admit_login_attempt(&throttled, &LoginThrottlePolicy::default(), t(35))
            .await
            .unwrap();
    }

    // Revocations: bob's session (which queues a back-channel logout for the relying party and
    // revokes his refresh token), a live token entry, a claims entry, and last a token entry
    // that has expired by t(100) and is swept.
    let lifetime = Duration::minutes(15);
    let revocations = [
        RevocationTarget::Session {
            sid: ended.sid.clone(),
            user_id: bob.id.clone(),
        },
        RevocationTarget::Token {
            jti: new_jti(),
            expires_at: t(5000),
        },
        RevocationTarget::UserClaims {
            user_id: ada.id.clone(),
        },
    ];
    for target in revocations {
        let revocation = Revocation::new(
            target,
            t(40),
            lifetime,
            RevocationReason::AdminRevoke,
            "cli",
        );
        store.revoke(&revocation).await.unwrap().unwrap();
    }
    let swept = Revocation::new(
        RevocationTarget::Token {
            jti: new_jti(),
            expires_at: t(50),
        },
        t(40),
        lifetime,
        RevocationReason::ClientRequest,
        "client:spa",
    );
    let last_cursor = store.revoke(&swept).await.unwrap().unwrap().entry.cursor;
    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 1);
    store
        .append_audit(&AuditEvent::new(
            t(60),
            "system",
            "backchannel-logout-abandoned",
            "rp",
            Some("timeout".into()),
            r#"{"attempts":8}"#.into(),
        ))
        .await
        .unwrap();

    Filled {
        users: vec![ada, bob],
        clients: vec![rp, spa],
        sessions: vec![kept],
        redeemed_code,
        fresh_code,
        refresh_hashes: vec![first.token_hash, second.token_hash, bobs.token_hash],
        revoked_family,
        consent,
        login_requests,
        throttled,
        last_cursor,
    }
}
