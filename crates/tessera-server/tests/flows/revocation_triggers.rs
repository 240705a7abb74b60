//! Each trigger of the revocation model (issue 4), over real HTTP: the tokens it covers become
//! inactive at introspection and their refresh tokens fail at the token endpoint, while tokens
//! of other sessions and users stay valid; each appears in the feed and the audit trail.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_core::{Clock, RevocationKind, RevocationReason, User};
use tessera_server::admin::{self, AdminError};
use tessera_server::app::lifetimes;
use tessera_store::FeedRead;
use tessera_testkit::grants::{CodeOptions, WebClient};
use tessera_testkit::{spawn_app, TestApp};

const PASSWORD: &str = "correct horse battery staple";

/// One sign-in: its session's tokens.
#[derive(Clone)]
struct Device {
    sid: String,
    access: String,
    refresh: String,
}

struct Setup {
    app: TestApp,
    web: WebClient,
    api_secret: String,
    alice: User,
    bob: User,
    /// Alice on her laptop and her phone, Bob on his laptop.
    alice_laptop: Device,
    alice_phone: Device,
    bob_laptop: Device,
}

async fn sign_in(app: &TestApp, web: &WebClient, user: &User) -> Device {
    let (tokens, issued) = app
        .sign_in(web, user, CodeOptions::scope("openid roles"))
        .await;
    Device {
        sid: issued.session.sid.to_string(),
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let alice = app
        .add_user("alice@example.com", Some(PASSWORD), None, &["editor"])
        .await;
    let bob = app
        .add_user("bob@example.com", Some(PASSWORD), None, &[])
        .await;
    let web = app
        .add_web_client("web", false, &["openid", "roles"], &[])
        .await;
    let api_secret = app.add_resource_server("api", &[]).await;
    let alice_laptop = sign_in(&app, &web, &alice).await;
    let alice_phone = sign_in(&app, &web, &alice).await;
    let bob_laptop = sign_in(&app, &web, &bob).await;
    Setup {
        app,
        web,
        api_secret,
        alice,
        bob,
        alice_laptop,
        alice_phone,
        bob_laptop,
    }
}

impl Setup {
    async fn introspect(&self, token: &str) -> Value {
        let response = self
            .app
            .http
            .post(self.app.url("/oauth/introspect"))
            .basic_auth("api", Some(&self.api_secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn is_active(&self, token: &str) -> bool {
        self.introspect(token).await["active"] == true
    }

    /// Refreshes `device`'s token; on success updates the device and returns true.
    async fn refresh(&self, device: &mut Device) -> bool {
        let response = self.app.refresh(&self.web, &device.refresh, None).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if status == StatusCode::OK {
            device.access = body["access_token"].as_str().unwrap().to_owned();
            device.refresh = body["refresh_token"].as_str().unwrap().to_owned();
            true
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
            false
        }
    }

    /// Asserts `device` is fully revoked: its access token is inactive and its refresh token
    /// fails.
    async fn assert_revoked(&self, device: &Device, name: &str) {
        let mut device = device.clone();
        assert!(
            !self.is_active(&device.access).await,
            "{name}: access token"
        );
        assert!(!self.refresh(&mut device).await, "{name}: refresh token");
    }

    /// Asserts `device` is untouched: its access token is active and its refresh token works.
    async fn assert_valid(&self, device: &Device, name: &str) {
        let mut device = device.clone();
        assert!(self.is_active(&device.access).await, "{name}: access token");
        assert!(self.refresh(&mut device).await, "{name}: refresh token");
        assert!(
            self.is_active(&device.access).await,
            "{name}: refreshed token"
        );
    }

    fn lifetimes(&self) -> tessera_core::TokenLifetimes {
        lifetimes(self.app.config())
    }

    fn store(&self) -> &dyn tessera_store::Store {
        self.app.state.services.store.as_ref()
    }

    /// The feed entries after cursor 0, as (kind, reason).
    async fn feed(&self) -> Vec<(RevocationKind, RevocationReason)> {
        let FeedRead::Entries(entries) = self.store().revocations_after(0, 100).await.unwrap()
        else {
            panic!("a fresh feed has every entry");
        };
        entries
            .iter()
            .map(|e| (e.revocation.kind(), e.revocation.reason))
            .collect()
    }

    /// The audit records, as (action, reason).
    async fn audit(&self) -> Vec<(String, Option<String>)> {
        self.store()
            .recent_audit(100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.reason))
            .collect()
    }
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    app.get_json("/.well-known/jwks.json").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn logging_out_one_device_leaves_the_others_signed_in() {
    let s = setup().await;
    let outcome = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_session(&s.alice_laptop.sid)
        .await
        .unwrap();
    assert_eq!(outcome.sessions_ended.len(), 1);
    assert_eq!(outcome.refresh_tokens_revoked, 1);

    let sessions = admin::list_sessions(s.store(), "alice@example.com")
        .await
        .unwrap();
    let sids: Vec<String> = sessions.iter().map(|x| x.session.sid.to_string()).collect();
    assert_eq!(sids, std::slice::from_ref(&s.alice_phone.sid));
    assert_eq!(sessions[0].clients[0].as_str(), "web");

    s.assert_revoked(&s.alice_laptop, "alice's laptop").await;
    s.assert_valid(&s.alice_phone, "alice's phone").await;
    s.assert_valid(&s.bob_laptop, "bob's laptop").await;
    assert_eq!(
        s.feed().await,
        [(
            RevocationKind::SessionRevoked,
            RevocationReason::AdminRevoke
        )]
    );
    assert!(s.audit().await.contains(&(
        "session-revoked".to_owned(),
        Some("admin-revoke".to_owned())
    )));
}

#[tokio::test]
async fn revoking_a_session_twice_or_an_unknown_one_changes_nothing() {
    let s = setup().await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_session(&s.alice_laptop.sid)
        .await
        .unwrap();
    for sid in [s.alice_laptop.sid.as_str(), "no-such-session", ""] {
        let err = s
            .app
            .state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .revoke_session(sid)
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::NotFound(_)), "{sid}: {err:?}");
    }
    let err = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_user_tokens("nobody@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::NotFound(_)), "{err:?}");
    assert_eq!(s.app.probe.count_revocations().await.unwrap(), 1);
    s.assert_valid(&s.alice_phone, "alice's phone").await;
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_device_of_the_user_only() {
    let s = setup().await;
    let outcome = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_user_tokens("alice@example.com")
        .await
        .unwrap();
    assert_eq!(outcome.sessions_ended.len(), 2);
    assert_eq!(outcome.refresh_tokens_revoked, 2);
    assert!(admin::list_sessions(s.store(), "alice@example.com")
        .await
        .unwrap()
        .is_empty());

    s.assert_revoked(&s.alice_laptop, "alice's laptop").await;
    s.assert_revoked(&s.alice_phone, "alice's phone").await;
    s.assert_valid(&s.bob_laptop, "bob's laptop").await;

    // Signing in again straight away (the same second on the test clock) works: issuance waits
    // for the revocation's not_before, so the new tokens are not born revoked.
    let again = sign_in(&s.app, &s.web, &s.alice).await;
    s.assert_valid(&again, "alice signed in again").await;
    assert_eq!(
        s.feed().await,
        [(
            RevocationKind::CredentialChange,
            RevocationReason::AdminRevoke
        )]
    );
}

#[tokio::test]
async fn setting_the_password_revokes_every_session_of_the_user() {
    let s = setup().await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_password(
            "alice@example.com",
            "a brand new passphrase 42".to_owned().into(),
        )
        .await
        .unwrap();
    s.assert_revoked(&s.alice_laptop, "alice's laptop").await;
    s.assert_revoked(&s.alice_phone, "alice's phone").await;
    s.assert_valid(&s.bob_laptop, "bob's laptop").await;
    assert_eq!(
        s.feed().await,
        [(
            RevocationKind::CredentialChange,
            RevocationReason::PasswordChange
        )]
    );
}

#[tokio::test]
async fn a_refused_password_revokes_nothing() {
    let s = setup().await;
    let err = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_password("alice@example.com", "password".to_owned().into())
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::Password(_)), "{err:?}");
    assert_eq!(s.app.probe.count_revocations().await.unwrap(), 0);
    s.assert_valid(&s.alice_laptop, "alice's laptop").await;
}

#[tokio::test]
async fn disabling_and_removing_revoke_the_user() {
    let s = setup().await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_user_status(
            "alice@example.com",
            tessera_server::admin::UserStatus::Disabled,
        )
        .await
        .unwrap();
    s.assert_revoked(&s.alice_laptop, "alice's laptop").await;
    s.assert_valid(&s.bob_laptop, "bob's laptop").await;

    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .remove_user("bob@example.com")
        .await
        .unwrap();
    assert!(!s.is_active(&s.alice_phone.access).await);
    assert_eq!(
        s.feed().await,
        [
            (
                RevocationKind::CredentialChange,
                RevocationReason::AccountDisabled
            ),
            (
                RevocationKind::CredentialChange,
                RevocationReason::AccountRemoved
            ),
        ]
    );
}

#[tokio::test]
async fn a_role_change_revokes_access_tokens_but_refresh_brings_the_new_roles() {
    let s = setup().await;
    let old_access = s.alice_laptop.access.clone();
    assert_eq!(
        s.introspect(&old_access).await["roles"],
        serde_json::json!(["editor"])
    );

    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_roles("alice@example.com", vec!["viewer".into()])
        .await
        .unwrap();
    assert!(!s.is_active(&old_access).await, "the old roles are gone");
    assert!(!s.is_active(&s.alice_phone.access).await);
    assert!(s.is_active(&s.bob_laptop.access).await);

    // Sessions stay, and refresh works straight away, with the new roles.
    assert_eq!(
        admin::list_sessions(s.store(), "alice@example.com")
            .await
            .unwrap()
            .len(),
        2
    );
    let mut laptop = s.alice_laptop.clone();
    assert!(s.refresh(&mut laptop).await);
    let fresh = s.introspect(&laptop.access).await;
    assert_eq!(fresh["active"], true);
    assert_eq!(fresh["roles"], serde_json::json!(["viewer"]));

    // Setting the same roles again changes nothing.
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_roles("alice@example.com", vec!["viewer".into()])
        .await
        .unwrap();
    assert_eq!(
        s.feed().await,
        [(
            RevocationKind::TokenClaimsChange,
            RevocationReason::RolesChange
        )]
    );
}

#[tokio::test]
async fn key_rotation_with_revoke_all_takes_back_every_token() {
    let s = setup().await;
    let old_kids = published_kids(&s.app).await;
    let service = s
        .app
        .client_credentials("api", &s.api_secret, None)
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(s.is_active(&service).await);

    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .rotate_keys(tessera_server::admin::RotateKeys {
            algs: s.app.state.settings.signing_algs(),
            revoke_all: true,
        })
        .await
        .unwrap();
    // Before the key ring even reloads, every token issued so far is revoked.
    assert!(!s.is_active(&service).await, "client_credentials token");
    assert!(!s.is_active(&s.alice_phone.access).await);
    s.assert_revoked(&s.alice_laptop, "alice's laptop").await;
    s.assert_revoked(&s.bob_laptop, "bob's laptop").await;

    // The old keys leave the JWKS at the next reload, and new tokens come from the new ones.
    s.app.refresh_keys().await;
    let kids = published_kids(&s.app).await;
    assert!(kids.iter().all(|kid| !old_kids.contains(kid)), "{kids:?}");
    let again = sign_in(&s.app, &s.web, &s.bob).await;
    s.assert_valid(&again, "bob signed in again").await;
    assert_eq!(
        s.feed().await,
        [(RevocationKind::GlobalRevoked, RevocationReason::KeyRotation)]
    );
}

/// The state stays bounded: however many revocations happen, after a sweep only those made
/// within one access-token lifetime (plus slack) remain.
#[tokio::test]
async fn revocation_state_is_bounded_by_one_access_token_lifetime() {
    let s = setup().await;
    let lifetimes = s.lifetimes();
    let window = lifetimes.access_token + tessera_core::revocation::ISSUANCE_SLACK;
    let step = time::Duration::seconds(30);
    let per_window = window.whole_seconds() / step.whole_seconds() + 1;
    for round in 0..(3 * per_window) {
        s.app
            .state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .revoke_user_tokens("bob@example.com")
            .await
            .unwrap();
        s.app.clock.advance(step);
        s.app.state.purge_expired().await.unwrap();
        let kept = s.app.probe.count_revocations().await.unwrap();
        assert!(
            kept <= u64::try_from(per_window).unwrap() + 1,
            "round {round}: {kept} entries kept, at most {per_window} fit in the window"
        );
    }
    // Well past the last one, nothing is left.
    s.app.clock.advance(window);
    s.app.state.purge_expired().await.unwrap();
    assert_eq!(s.app.probe.count_revocations().await.unwrap(), 0);
    assert!(s.app.clock.now() > tessera_testkit::test_epoch());
}

/// A code issued before its session, its user or everything was revoked brings no tokens: the
/// exchange checks the code against the revocations as the access token it would mint.
#[tokio::test]
async fn a_code_issued_before_a_revocation_cannot_be_exchanged() {
    let s = setup().await;
    let mut targets = Vec::new();
    for _ in 0..3 {
        targets.push(
            s.app
                .issue_code(&s.web, &s.alice, CodeOptions::scope("openid"))
                .await,
        );
    }
    // Session: logging out the device the code was issued in.
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_session(targets[0].session.sid.as_str())
        .await
        .unwrap();
    let response = s.app.exchange_code(&s.web, &targets[0].code, None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // User: a role change does not end sessions, but "log out everywhere" does; both codes that
    // remain were issued before it.
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .revoke_user_tokens("alice@example.com")
        .await
        .unwrap();
    for issued in &targets[1..] {
        let response = s.app.exchange_code(&s.web, &issued.code, None).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }

    // Global: a code of Bob's issued before `keys rotate --revoke-all`-style revocation.
    let bobs = s
        .app
        .issue_code(&s.web, &s.bob, CodeOptions::scope("openid"))
        .await;
    s.app
        .state
        .revoke(
            tessera_core::RevocationTarget::Global,
            RevocationReason::KeyRotation,
            "test",
        )
        .await
        .unwrap();
    let body: Value = s
        .app
        .exchange_code(&s.web, &bobs.code, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // A code issued afterwards works.
    let (fresh, _) = s
        .app
        .sign_in(&s.web, &s.bob, CodeOptions::scope("openid"))
        .await;
    assert!(s.is_active(fresh["access_token"].as_str().unwrap()).await);
}

/// Issue 14 #5: refresh-token reuse revokes the grant's access tokens too (they stayed active
/// for up to an access-token lifetime), with token entries in the feed; other devices of the
/// same user are untouched.
#[tokio::test]
async fn refresh_reuse_revokes_the_grants_access_tokens_and_publishes_them() {
    let s = setup().await;
    let mut laptop = s.alice_laptop.clone();
    let stolen = laptop.clone();
    assert!(s.refresh(&mut laptop).await, "the holder refreshes");
    assert!(s.is_active(&stolen.access).await);
    assert!(s.is_active(&laptop.access).await);

    let mut thief = stolen.clone();
    assert!(!s.refresh(&mut thief).await, "the replaced token is reuse");

    assert!(!s.is_active(&stolen.access).await, "the first access token");
    assert!(
        !s.is_active(&laptop.access).await,
        "the refreshed access token"
    );
    assert!(!s.refresh(&mut laptop).await, "the family");
    s.assert_valid(&s.alice_phone, "alice's phone").await;
    assert_eq!(
        s.feed().await,
        vec![
            (RevocationKind::TokenRevoked, RevocationReason::RefreshReuse),
            (RevocationKind::TokenRevoked, RevocationReason::RefreshReuse),
        ]
    );
}

/// Issue 14 #5: revoking a refresh token at the RFC 7009 endpoint revokes its grant's access
/// tokens as well, and publishes them.
#[tokio::test]
async fn revoking_a_refresh_token_revokes_the_grants_access_tokens() {
    let s = setup().await;
    let mut laptop = s.alice_laptop.clone();
    let first_access = laptop.access.clone();
    assert!(s.refresh(&mut laptop).await);
    let response = s
        .app
        .http
        .post(s.app.url("/oauth/revoke"))
        .basic_auth("web", Some(s.web.secret.as_deref().unwrap()))
        .form(&[("token", laptop.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    assert!(!s.is_active(&first_access).await);
    assert!(!s.is_active(&laptop.access).await);
    assert!(!s.refresh(&mut laptop).await);
    s.assert_valid(&s.alice_phone, "alice's phone").await;
    assert_eq!(
        s.feed().await,
        vec![
            (
                RevocationKind::TokenRevoked,
                RevocationReason::ClientRequest
            ),
            (
                RevocationKind::TokenRevoked,
                RevocationReason::ClientRequest
            ),
        ]
    );
}
