//! Tessera's real tokens, from a real sign-in over HTTP, verified by `tessera-verify` (the
//! library resource servers use), which keeps both sides honest.

use std::time::Duration;
use tessera_testkit::grants::CodeOptions;
use tessera_testkit::spawn_app;
use tessera_verify::VerifyError;

#[tokio::test]
async fn access_and_id_tokens_from_a_sign_in_verify() {
    let app = spawn_app().await;
    let user = app
        .add_user(
            "ada@example.com",
            Some("correct horse battery staple"),
            None,
            &["admin"],
        )
        .await;
    let web = app
        .add_web_client("web", false, &["openid", "roles"], &[])
        .await;
    let (tokens, issued) = app
        .sign_in(&web, &user, CodeOptions::scope("openid roles"))
        .await;
    let verifier = app.verifier().await;

    let access = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(access.sub, user.id.as_str());
    assert_eq!(access.client_id, "web");
    assert_eq!(access.sid.as_deref(), Some(issued.session.sid.as_str()));
    assert!(access.has_scope("roles") && access.has_role("admin"));
    assert!(verifier
        .require_auth_within(&access, Duration::from_secs(300))
        .is_ok());

    let id_token = tokens["id_token"].as_str().unwrap();
    let id = verifier.verify_id_token(id_token, "web").unwrap();
    assert_eq!(id.sub, user.id.as_str());
    assert_eq!(
        id.can_reauthenticate(&app.config().claims.namespace),
        Some(true)
    );
    // Each kind is refused where the other is expected.
    assert!(matches!(
        verifier.verify_access_token(id_token),
        Err(VerifyError::WrongType { .. })
    ));
    assert!(verifier.verify_id_token(id_token, "other-client").is_err());

    // Six minutes later the token still verifies, but a sensitive operation wants a fresh login.
    app.clock.advance(time::Duration::minutes(6));
    let access = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    let step_up = verifier
        .require_auth_within(&access, Duration::from_secs(300))
        .unwrap_err();
    assert_eq!(step_up.max_age, Some(300));
    // And once the access token's lifetime is over, it is refused.
    app.clock.advance(time::Duration::minutes(10));
    assert!(verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .is_err());
}

#[tokio::test]
async fn client_credentials_tokens_verify_and_are_not_user_tokens() {
    let app = spawn_app().await;
    let secret = app.add_service_client("svc", &["orders:read"]).await;
    let body: serde_json::Value = app
        .client_credentials("svc", &secret, None)
        .await
        .json()
        .await
        .unwrap();
    let token = app
        .verifier()
        .await
        .verify_access_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(token.sub, "svc");
    assert!(!token.is_user_token());
    assert!(token.require_scope("orders:read").is_ok());
}
