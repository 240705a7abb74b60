//! `tessera-verify`'s revocation mirror, kept current by `FeedSync` over real HTTP from a real
//! Tessera: a revoked session's token is refused from memory shortly after the revocation, a
//! credential change covers older tokens only, and a mirror that stopped syncing fails closed.
//!
//! `RevocationMirror::check` is a plain synchronous function over memory: the check path makes
//! no request by construction. Only the background `FeedSync` talks to Tessera.

use std::sync::Arc;
use std::time::Duration;
use tessera_core::Clock as _;
use tessera_core::{RevocationReason, RevocationTarget};
use tessera_testkit::grants::CodeOptions;
use tessera_testkit::{spawn_app, TestApp};
use tessera_verify::feed_sync::FeedSync;
use tessera_verify::revocation::{RevocationCheckError, RevocationMirror};
use tessera_verify::AccessToken;
use tokio::task::JoinHandle;

const MAX_STALENESS: Duration = Duration::from_secs(30);
/// A hang guard only: the tests never assert how fast the mirror follows.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// Starts a FeedSync for the confidential client `api` and waits for its first snapshot.
async fn start_sync(app: &TestApp) -> (Arc<RevocationMirror>, JoinHandle<()>) {
    let secret = app.add_resource_server("api", &[]).await;
    let mirror = Arc::new(RevocationMirror::new());
    let sync = FeedSync::new(&app.base_url, "api", secret, mirror.clone())
        .with_clock(app.verify_clock())
        .on_error(|err| eprintln!("feed sync: {err}"))
        .spawn();
    wait_for("the first snapshot", || mirror.last_synced_at().is_some()).await;
    (mirror, sync)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hang guard: still waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now(app: &TestApp) -> i64 {
    app.clock.now().unix_timestamp()
}

fn check(
    app: &TestApp,
    mirror: &RevocationMirror,
    token: &AccessToken,
) -> Result<(), RevocationCheckError> {
    mirror.check(token, now(app), MAX_STALENESS)
}

#[tokio::test]
async fn a_revoked_session_is_refused_from_memory_shortly_after() {
    let app = spawn_app().await;
    let user = app
        .add_user(
            "ada@example.com",
            Some("correct horse battery staple"),
            None,
            &[],
        )
        .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    let (tokens, issued) = app.sign_in(&web, &user, CodeOptions::scope("openid")).await;
    let verifier = app.verifier().await;
    let (mirror, sync) = start_sync(&app).await;

    let token = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(check(&app, &mirror, &token), Ok(()));

    app.state
        .revoke(
            RevocationTarget::Session {
                sid: issued.session.sid.clone(),
                user_id: user.id.clone(),
            },
            RevocationReason::Logout,
            "test",
        )
        .await
        .unwrap();
    // The token still verifies (signature, exp…): only the mirror knows it is revoked.
    let token = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    wait_for("the session revocation to reach the mirror", || {
        check(&app, &mirror, &token) == Err(RevocationCheckError::Revoked)
    })
    .await;
    assert!(mirror.is_revoked(&token, now(&app)));
    sync.abort();
}

#[tokio::test]
async fn a_credential_change_covers_older_tokens_but_not_newer_ones() {
    let app = spawn_app().await;
    let user = app
        .add_user(
            "ada@example.com",
            Some("correct horse battery staple"),
            None,
            &[],
        )
        .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    let verifier = app.verifier().await;
    let (old, _) = app.sign_in(&web, &user, CodeOptions::scope("openid")).await;
    let old = verifier
        .verify_access_token(old["access_token"].as_str().unwrap())
        .unwrap();
    let (mirror, sync) = start_sync(&app).await;

    app.state
        .revoke(
            RevocationTarget::User {
                user_id: user.id.clone(),
            },
            RevocationReason::PasswordChange,
            "test",
        )
        .await
        .unwrap();
    wait_for("the credential change to reach the mirror", || {
        check(&app, &mirror, &old) == Err(RevocationCheckError::Revoked)
    })
    .await;

    // Signing in again after the change gives a token the entry does not cover.
    let (new, _) = app.sign_in(&web, &user, CodeOptions::scope("openid")).await;
    let new = verifier
        .verify_access_token(new["access_token"].as_str().unwrap())
        .unwrap();
    assert!(new.iat > old.iat);
    assert_eq!(check(&app, &mirror, &new), Ok(()));
    assert_eq!(
        check(&app, &mirror, &old),
        Err(RevocationCheckError::Revoked)
    );
    sync.abort();
}

#[tokio::test]
async fn a_mirror_that_stopped_syncing_fails_closed() {
    let app = spawn_app().await;
    let user = app
        .add_user(
            "ada@example.com",
            Some("correct horse battery staple"),
            None,
            &[],
        )
        .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    let (tokens, _) = app.sign_in(&web, &user, CodeOptions::scope("openid")).await;
    let verifier = app.verifier().await;

    // Before any sync, a mirror cannot tell: it refuses.
    let token = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        RevocationMirror::new().check(&token, now(&app), MAX_STALENESS),
        Err(RevocationCheckError::Stale { age: None })
    );

    let (mirror, sync) = start_sync(&app).await;
    assert_eq!(check(&app, &mirror, &token), Ok(()));
    sync.abort();
    let _ = sync.await;

    app.clock.advance(time::Duration::seconds(31));
    // The token itself is still valid; the mirror is not current any more.
    let token = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    assert!(matches!(
        check(&app, &mirror, &token),
        Err(RevocationCheckError::Stale { age: Some(age) }) if age > MAX_STALENESS
    ));
}
