//! Signing keys: rotation, retirement from the JWKS, restarts, and algorithms per token type.

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use tessera_core::{Clock, KeyState};
use tessera_jose::Algorithm;
use tessera_server::admin;
use tessera_testkit::independent::{verify_via_discovery, verify_with_jwks};
use tessera_testkit::{spawn_app, spawn_app_with, TestApp};
use time::Duration;

async fn token(app: &TestApp, secret: &str) -> String {
    let body: Value = app
        .client_credentials("svc", secret, None)
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn jwks(app: &TestApp) -> JwkSet {
    serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap()
}

async fn rotate(app: &TestApp) -> Vec<String> {
    rotate_algs(app, &app.state.settings.signing_algs()).await
}

async fn rotate_algs(app: &TestApp, algs: &[Algorithm]) -> Vec<String> {
    rotate_with(app, algs, false).await
}

async fn rotate_with(app: &TestApp, algs: &[Algorithm], revoke_all: bool) -> Vec<String> {
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .rotate_keys(tessera_server::admin::RotateKeys {
            algs: algs.to_vec(),
            revoke_all,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(_, kid)| kid)
        .collect()
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_their_keys_retire() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &[]).await;
    let old_token = token(&app, &secret).await;
    let old_kid = kid_of(&old_token);

    let new_kids = rotate(&app).await;
    app.refresh_keys().await;
    let new_token = token(&app, &secret).await;
    assert_eq!(
        kid_of(&new_token),
        new_kids[0],
        "new tokens carry the new kid"
    );
    assert_ne!(new_kids[0], old_kid);

    // Both keys are published, and both tokens verify independently.
    let published = jwks(&app).await;
    assert!(published.find(&old_kid).is_some() && published.find(&new_kids[0]).is_some());
    for t in [&old_token, &new_token] {
        verify_via_discovery(&app.http, &app.base_url, t, &app.base_url, "at+jwt")
            .await
            .expect("verifies after rotation");
    }
    let keys = admin::list_keys(app.state.services.store.as_ref(), &app.clock)
        .await
        .unwrap();
    let old = keys.iter().find(|k| k.kid == old_kid).unwrap();
    assert_eq!(old.state, KeyState::Retiring);
    // Retirement: longest token lifetime (15 min) plus 60 s grace after the rotation.
    assert_eq!(
        old.retires_at,
        Some(app.clock.now() + Duration::seconds(900 + 60))
    );

    // One second before retirement the old key is still published…
    app.clock.advance(Duration::seconds(959));
    app.refresh_keys().await;
    assert!(jwks(&app).await.find(&old_kid).is_some());
    // …and at retirement it is gone, while the new key stays.
    app.clock.advance(Duration::seconds(1));
    app.refresh_keys().await;
    let published = jwks(&app).await;
    assert!(
        published.find(&old_kid).is_none(),
        "retired key left the JWKS"
    );
    assert!(published.find(&new_kids[0]).is_some());
    assert!(verify_with_jwks(
        &published,
        &app.base_url,
        &old_token,
        &app.base_url,
        "at+jwt"
    )
    .is_err());
    // The retired private key is deleted from the store.
    let keys = admin::list_keys(app.state.services.store.as_ref(), &app.clock)
        .await
        .unwrap();
    assert!(keys.iter().all(|k| k.kid != old_kid));
}

/// After a suspected leak, `keys rotate --revoke-all` unpublishes every old key at once: the
/// one that was active and one rotated out normally minutes before, which may be the leaked
/// one. A token it signs (as a thief holding it would) no longer verifies against the JWKS.
#[tokio::test]
async fn an_emergency_rotation_unpublishes_keys_already_retiring() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &[]).await;
    let first_token = token(&app, &secret).await;
    let first_kid = kid_of(&first_token);
    rotate(&app).await;
    app.clock.advance(Duration::seconds(60));
    app.refresh_keys().await;
    assert!(jwks(&app).await.find(&first_kid).is_some(), "retiring");

    let algs = app.state.settings.signing_algs();
    let fresh = rotate_with(&app, &algs, true).await;
    app.refresh_keys().await;
    let published = jwks(&app).await;
    let mut kids: Vec<String> = published
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    kids.sort();
    let mut expected = fresh.clone();
    expected.sort();
    assert_eq!(
        kids, expected,
        "only the keys made by the emergency rotation"
    );
    assert!(verify_with_jwks(
        &published,
        &app.base_url,
        &first_token,
        &app.base_url,
        "at+jwt"
    )
    .is_err());
    let keys = admin::list_keys(app.state.services.store.as_ref(), &app.clock)
        .await
        .unwrap();
    let first = keys.iter().find(|k| k.kid == first_kid);
    assert!(
        first.is_none_or(|k| k.state == KeyState::Expired),
        "{first:?}"
    );
}

#[tokio::test]
async fn a_restart_keeps_clients_users_and_keys() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &["api:read"]).await;
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: ("ada@example.com").to_string(),
            name: Some("Ada".into()),
            roles: vec!["admin".into()],
            password: Some("correct horse battery staple".to_owned().into()),
        })
        .await
        .unwrap();
    let before = token(&app, &secret).await;
    let kids_before = app.state.services.keys.published_kids();

    let app = app.restart().await;
    assert_eq!(
        app.state.services.keys.published_kids(),
        kids_before,
        "same keys, same kids"
    );
    // The old token still verifies against the restarted server's JWKS (its issuer is the old
    // port's, so check it against the JWKS directly).
    let published = jwks(&app).await;
    let old_issuer = jsonwebtoken::dangerous::insecure_decode::<Value>(&before)
        .unwrap()
        .claims["iss"]
        .as_str()
        .unwrap()
        .to_owned();
    verify_with_jwks(&published, &old_issuer, &before, &old_issuer, "at+jwt")
        .expect("old token verifies");
    // The client and its secret survived.
    let after = token(&app, &secret).await;
    assert_eq!(kid_of(&after), kid_of(&before));
    // The user survived, password and roles included.
    let user = admin::find_user(app.state.services.store.as_ref(), "ada@example.com")
        .await
        .unwrap();
    assert_eq!(user.roles, ["admin"]);
    assert!(
        app.state
            .services
            .passwords
            .verify(
                "correct horse battery staple".to_owned().into(),
                user.password_hash.unwrap()
            )
            .await
    );
}

#[tokio::test]
async fn algorithms_are_selectable_per_token_type() {
    for (access, id) in [
        (Algorithm::ES256, Algorithm::EdDSA),
        (Algorithm::EdDSA, Algorithm::RS256),
    ] {
        let app = spawn_app_with(|config| {
            config.tokens.access_token_alg = access;
            config.tokens.id_token_alg = id;
        })
        .await;
        let secret = app.add_service_client("svc", &[]).await;
        let t = token(&app, &secret).await;
        let verified = verify_via_discovery(&app.http, &app.base_url, &t, &app.base_url, "at+jwt")
            .await
            .unwrap();
        assert_eq!(format!("{:?}", verified.header.alg), access.as_str());
        // Both algorithms have a published key; discovery names the ID token algorithm.
        let published = jwks(&app).await;
        let algs: Vec<String> = published
            .keys
            .iter()
            .map(|k| format!("{:?}", k.common.key_algorithm.unwrap()))
            .collect();
        assert!(
            algs.contains(&access.as_str().to_owned()) && algs.contains(&id.as_str().to_owned()),
            "{algs:?}"
        );
        let discovery = app.get_json("/.well-known/openid-configuration").await;
        assert!(discovery["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(id.as_str())));
    }
}

#[tokio::test]
async fn rotating_one_algorithm_leaves_the_other_active() {
    let app = spawn_app_with(|config| {
        config.tokens.access_token_alg = Algorithm::ES256;
    })
    .await;
    let es_before = app
        .state
        .services
        .keys
        .signer(Algorithm::ES256)
        .unwrap()
        .kid()
        .to_owned();
    let rs_before = app
        .state
        .services
        .keys
        .signer(Algorithm::RS256)
        .unwrap()
        .kid()
        .to_owned();
    rotate_algs(&app, &[Algorithm::ES256]).await;
    app.refresh_keys().await;
    assert_ne!(
        app.state
            .services
            .keys
            .signer(Algorithm::ES256)
            .unwrap()
            .kid(),
        es_before
    );
    assert_eq!(
        app.state
            .services
            .keys
            .signer(Algorithm::RS256)
            .unwrap()
            .kid(),
        rs_before
    );
}
