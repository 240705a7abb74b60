//! `tessera-verify`'s [`RemoteVerifier`] against a real Tessera over HTTP: keys found by
//! discovery, one refetch after a rotation, and a rate limit that a flood of made-up `kid`s
//! cannot get past.

use futures_util::future::join_all;
use serde_json::Value;
use std::sync::Arc;
use tessera_jose::{b64, JoseError};
use tessera_testkit::grants::CodeOptions;
use tessera_testkit::{spawn_app, TestApp};
use tessera_verify::remote::{RemoteError, RemoteOptions, RemoteVerifier};
use tessera_verify::{VerifierOptions, VerifyError};
use time::Duration;

async fn discover(app: &TestApp) -> Result<RemoteVerifier, RemoteError> {
    discover_issuer(app, &app.base_url).await
}

async fn discover_issuer(app: &TestApp, issuer: &str) -> Result<RemoteVerifier, RemoteError> {
    RemoteVerifier::discover_with(
        VerifierOptions::new(issuer, &app.state.settings.access_token_audience),
        RemoteOptions::default().clock(app.verify_clock()),
    )
    .await
}

async fn token(app: &TestApp, secret: &str) -> String {
    let body: Value = app
        .client_credentials("svc", secret, None)
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&b64::decode(header).unwrap()).unwrap()
}

/// `token` with its header's `kid` replaced (the signature no longer matters: an unknown key is
/// refused before the signature is looked at).
fn with_kid(token: &str, kid: &str) -> String {
    let mut header = header_of(token);
    header["kid"] = Value::from(kid);
    let (_, rest) = token.split_once('.').unwrap();
    format!(
        "{}.{rest}",
        b64::encode(serde_json::to_vec(&header).unwrap())
    )
}

async fn rotate(app: &TestApp) -> Vec<String> {
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .rotate_keys(tessera_server::admin::RotateKeys {
            algs: app.state.settings.signing_algs(),
            revoke_all: false,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(_, kid)| kid)
        .collect()
}

fn is_unknown_key<T: std::fmt::Debug>(result: &Result<T, VerifyError>) -> bool {
    matches!(result, Err(VerifyError::Signature(JoseError::UnknownKey)))
}

#[tokio::test]
async fn keys_come_from_discovery_and_a_rotation_costs_one_refetch() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &["orders:read"]).await;
    let remote = discover(&app).await.unwrap();
    assert_eq!(remote.jwks_uri(), app.url("/.well-known/jwks.json"));
    assert_eq!(remote.fetch_count(), 1);

    let first = token(&app, &secret).await;
    let verified = remote.verify_access_token(&first).await.unwrap();
    assert_eq!(verified.sub, "svc");
    assert!(verified.has_scope("orders:read"));
    assert_eq!(remote.fetch_count(), 1, "known keys need no request");

    // The server rotates; new tokens carry a kid the verifier has not seen.
    let new_kids = rotate(&app).await;
    app.refresh_keys().await;
    let second = token(&app, &secret).await;
    assert_eq!(header_of(&second)["kid"], new_kids[0].as_str());

    // Within 30 s of the last fetch the unknown kid is refused without a request…
    app.clock.advance(Duration::seconds(29));
    assert!(is_unknown_key(&remote.verify_access_token(&second).await));
    assert_eq!(remote.fetch_count(), 1);
    // …and from then on one refetch finds the new key.
    app.clock.advance(Duration::seconds(1));
    let verified = remote.verify_access_token(&second).await.unwrap();
    assert_eq!(verified.sub, "svc");
    assert_eq!(remote.fetch_count(), 2, "exactly one refetch");
    // The old key is still published, so the old token still verifies, without a request.
    remote.verify_access_token(&first).await.unwrap();
    assert_eq!(remote.fetch_count(), 2);

    // Another rotation, and many concurrent requests with the newest token: they share one
    // refetch.
    app.clock.advance(Duration::seconds(30));
    rotate(&app).await;
    app.refresh_keys().await;
    let third = token(&app, &secret).await;
    let results = join_all((0..20).map(|_| remote.verify_access_token(&third))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        remote.fetch_count(),
        3,
        "one fetch for all concurrent callers"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_at_most_one_fetch_per_30_seconds() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &[]).await;
    let remote = discover(&app).await.unwrap();
    let real = token(&app, &secret).await;
    assert_eq!(remote.fetch_count(), 1);

    // Right after discovery: no fetch at all for bogus kids, sequential or concurrent.
    for i in 0..50 {
        let bogus = with_kid(&real, &format!("bogus-{i}"));
        assert!(is_unknown_key(&remote.verify_access_token(&bogus).await));
    }
    let bogus: Vec<String> = (0..50)
        .map(|i| with_kid(&real, &format!("made-up-{i}")))
        .collect();
    let results = join_all(bogus.iter().map(|t| remote.verify_access_token(t))).await;
    assert!(results.iter().all(is_unknown_key));
    assert_eq!(remote.fetch_count(), 1);

    // 29 s later: still none.
    app.clock.advance(Duration::seconds(29));
    let results = join_all(bogus.iter().map(|t| remote.verify_access_token(t))).await;
    assert!(results.iter().all(is_unknown_key));
    assert_eq!(remote.fetch_count(), 1);

    // At 30 s a concurrent flood causes exactly one fetch, and the next 29 s none again.
    app.clock.advance(Duration::seconds(1));
    let results = join_all(bogus.iter().map(|t| remote.verify_access_token(t))).await;
    assert!(results.iter().all(is_unknown_key));
    assert_eq!(remote.fetch_count(), 2);
    app.clock.advance(Duration::seconds(29));
    for t in &bogus {
        assert!(is_unknown_key(&remote.verify_access_token(t).await));
    }
    assert_eq!(remote.fetch_count(), 2);
    app.clock.advance(Duration::seconds(1));
    for t in &bogus {
        assert!(is_unknown_key(&remote.verify_access_token(t).await));
    }
    assert_eq!(remote.fetch_count(), 3);

    // Real tokens kept verifying throughout, and an explicit refresh always fetches.
    remote.verify_access_token(&real).await.unwrap();
    remote.refresh().await.unwrap();
    assert_eq!(remote.fetch_count(), 4);
}

#[tokio::test]
async fn expired_keys_are_refreshed_at_max_age() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &[]).await;
    let remote = discover(&app).await.unwrap();
    // Tessera serves its JWKS with max-age=300; before that no request, after it one.
    app.clock.advance(Duration::seconds(299));
    let t = token(&app, &secret).await;
    remote.verify_access_token(&t).await.unwrap();
    assert_eq!(remote.fetch_count(), 1);
    app.clock.advance(Duration::seconds(1));
    remote.verify_access_token(&t).await.unwrap();
    remote.verify_access_token(&t).await.unwrap();
    assert_eq!(remote.fetch_count(), 2);
}

#[tokio::test]
async fn the_background_task_refreshes_expired_keys() {
    let app = spawn_app().await;
    let remote = Arc::new(discover(&app).await.unwrap());
    // The keys expire (max-age=300); the task, started now, refreshes them without any
    // verification asking for it.
    app.clock.advance(Duration::seconds(300));
    let task = remote.spawn_refresh();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while remote.fetch_count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no background refresh"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(remote.fetch_count(), 2);
    task.abort();
}

#[tokio::test]
async fn id_tokens_verify_with_discovered_keys() {
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
    let remote = discover(&app).await.unwrap();
    let id = remote
        .verify_id_token(tokens["id_token"].as_str().unwrap(), "web")
        .await
        .unwrap();
    assert_eq!(id.sub, user.id.as_str());
    let access = remote
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(remote
        .verifier()
        .require_auth_within(&access, std::time::Duration::from_secs(300))
        .is_ok());
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let app = spawn_app().await;
    // Same server, but the configured issuer differs (by a trailing slash): discovery must name
    // exactly the configured issuer.
    let configured = format!("{}/", app.base_url);
    match discover_issuer(&app, &configured).await {
        Err(RemoteError::IssuerMismatch { expected, found }) => {
            assert_eq!(expected, configured);
            assert_eq!(found, app.base_url);
        }
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }
    // A path that is not an issuer at all answers 404.
    let err = discover_issuer(&app, &app.url("/nothing-here"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemoteError::Status { status: 404, .. }),
        "{err}"
    );
    // Plain http to a host that is not loopback is refused before any request.
    let err = discover_issuer(&app, "http://id.example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::InsecureUrl { .. }), "{err}");
}
