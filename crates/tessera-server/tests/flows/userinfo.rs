//! The UserInfo endpoint over real HTTP: claims per scope, GET and POST, and RFC 6750 errors
//! with their exact `WWW-Authenticate` challenges.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_core::{Clock, User};
use tessera_testkit::grants::{CodeOptions, WebClient};
use tessera_testkit::independent::verify_via_discovery;
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;

const SCOPES: &[&str] = &["openid", "profile", "email", "roles", "api:read"];
const NO_TOKEN: &str = r#"Bearer realm="tessera""#;
const INVALID_TOKEN: &str = r#"Bearer realm="tessera", error="invalid_token""#;
const INVALID_REQUEST: &str = r#"Bearer realm="tessera", error="invalid_request""#;
const INSUFFICIENT_SCOPE: &str =
    r#"Bearer realm="tessera", error="insufficient_scope", scope="openid""#;

async fn setup() -> (TestApp, WebClient, User) {
    let app = spawn_app().await;
    let client = app.add_web_client("web", false, SCOPES, &[]).await;
    let user = app
        .add_user("carol@example.com", None, Some("Carol"), &["editor"])
        .await;
    (app, client, user)
}

/// Signs in with `scope`; returns the access token and the token response.
async fn access_token(
    app: &TestApp,
    client: &WebClient,
    user: &User,
    scope: &str,
) -> (String, Value) {
    let (body, _) = app.sign_in(client, user, CodeOptions::scope(scope)).await;
    (body["access_token"].as_str().unwrap().to_owned(), body)
}

async fn get(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url("/userinfo"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Asserts the status and the exact challenge of a refusal.
fn assert_challenge(response: &reqwest::Response, status: StatusCode, challenge: &str) {
    assert_eq!(response.status(), status);
    let got = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(got, [challenge]);
}

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn get_and_post_return_the_claims_of_the_granted_scopes() {
    let (app, client, user) = setup().await;
    let (token, body) = access_token(&app, &client, &user, "openid profile email roles").await;
    let id_token = body["id_token"].as_str().unwrap();
    let id = verify_via_discovery(&app.http, &app.base_url, id_token, "web", "JWT")
        .await
        .unwrap()
        .claims;
    let expected = serde_json::json!({
        "sub": user.id.as_str(),
        "name": "Carol",
        "email": "carol@example.com",
        "email_verified": false,
        "roles": ["editor"],
    });

    let by_get = ok_json(get(&app, Some(&token)).await).await;
    assert_eq!(by_get, expected);
    assert_eq!(by_get["sub"], id["sub"], "sub equals the ID token's");

    let by_post_header = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(by_post_header).await, expected);

    let by_post_body = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(by_post_body).await, expected);
}

#[tokio::test]
async fn with_only_openid_there_is_only_sub() {
    let (app, client, user) = setup().await;
    let (token, _) = access_token(&app, &client, &user, "openid").await;
    let claims = ok_json(get(&app, Some(&token)).await).await;
    assert_eq!(claims, serde_json::json!({ "sub": user.id.as_str() }));

    // Claims are current, not a copy of sign-in time.
    let (token, _) = access_token(&app, &client, &user, "openid profile roles").await;
    app.update_user(&user, |u| {
        u.name = Some("Caroline".into());
        u.roles = vec![];
    })
    .await;
    let claims = ok_json(get(&app, Some(&token)).await).await;
    assert_eq!(claims["name"], "Caroline");
    assert_eq!(claims["roles"], serde_json::json!([]));
}

#[tokio::test]
async fn without_a_token_the_challenge_has_no_error_code() {
    let (app, _, _) = setup().await;
    let response = get(&app, None).await;
    assert_challenge(&response, StatusCode::UNAUTHORIZED, NO_TOKEN);

    let response = app.http.post(app.url("/userinfo")).send().await.unwrap();
    assert_challenge(&response, StatusCode::UNAUTHORIZED, NO_TOKEN);

    // Credentials of another scheme are not bearer credentials.
    let response = app
        .http
        .get(app.url("/userinfo"))
        .basic_auth("web", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_challenge(&response, StatusCode::UNAUTHORIZED, NO_TOKEN);

    // A form body without access_token.
    let response = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_challenge(&response, StatusCode::UNAUTHORIZED, NO_TOKEN);
}

#[tokio::test]
async fn bad_tokens_are_invalid_token_without_detail() {
    let (app, client, user) = setup().await;
    let (token, body) = access_token(&app, &client, &user, "openid").await;

    // One signature character changed (well inside the signature, so every bit counts).
    let mut tampered = token.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // An ID token is not an access token (typ JWT, aud = client).
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    let svc_secret = app.add_service_client("svc", &["openid"]).await;
    let service: Value = app
        .client_credentials("svc", &svc_secret, Some("openid"))
        .await
        .json()
        .await
        .unwrap();
    let service_token = service["access_token"].as_str().unwrap().to_owned();

    for bad in [
        "garbage",
        "a.b.c",
        tampered.as_str(),
        id_token.as_str(),
        // client_credentials tokens name no user.
        service_token.as_str(),
    ] {
        let response = get(&app, Some(bad)).await;
        assert_challenge(&response, StatusCode::UNAUTHORIZED, INVALID_TOKEN);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "error": "invalid_token" }),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn expired_tokens_and_tokens_of_disabled_users_are_invalid() {
    let (app, client, user) = setup().await;
    let (token, _) = access_token(&app, &client, &user, "openid").await;
    let lifetime = app.state.settings.lifetimes.access_token;

    app.clock.advance(lifetime - Duration::seconds(1));
    assert_eq!(get(&app, Some(&token)).await.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    let response = get(&app, Some(&token)).await;
    assert_challenge(&response, StatusCode::UNAUTHORIZED, INVALID_TOKEN);

    let (token, _) = access_token(&app, &client, &user, "openid").await;
    app.update_user(&user, |u| u.is_disabled = true).await;
    let response = get(&app, Some(&token)).await;
    assert_challenge(&response, StatusCode::UNAUTHORIZED, INVALID_TOKEN);
}

#[tokio::test]
async fn revoked_tokens_are_invalid_token_by_get_and_post() {
    let (app, client, user) = setup().await;
    let (token, _) = access_token(&app, &client, &user, "openid").await;
    let (other, _) = access_token(&app, &client, &user, "openid").await;
    let jti = verify_via_discovery(
        &app.http,
        &app.base_url,
        &token,
        &app.state.settings.access_token_audience,
        "at+jwt",
    )
    .await
    .unwrap()
    .claims["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get(&app, Some(&token)).await.status(), StatusCode::OK);

    let now = app.clock.now();
    app.state
        .revoke(
            tessera_core::RevocationTarget::Token {
                jti,
                expires_at: now + app.state.settings.lifetimes.access_token,
            },
            tessera_core::RevocationReason::AdminRevoke,
            "cli",
        )
        .await
        .unwrap()
        .expect("a first revocation");
    let response = get(&app, Some(&token)).await;
    assert_challenge(&response, StatusCode::UNAUTHORIZED, INVALID_TOKEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "error": "invalid_token" }));
    let response = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_challenge(&response, StatusCode::UNAUTHORIZED, INVALID_TOKEN);

    // Only that token: another one of the same user and client still works.
    assert_eq!(get(&app, Some(&other)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient_scope() {
    let (app, client, user) = setup().await;
    let (token, _) = access_token(&app, &client, &user, "profile api:read").await;
    let response = get(&app, Some(&token)).await;
    assert_challenge(&response, StatusCode::FORBIDDEN, INSUFFICIENT_SCOPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
}

#[tokio::test]
async fn the_token_in_two_places_is_invalid_request() {
    let (app, client, user) = setup().await;
    let (token, _) = access_token(&app, &client, &user, "openid").await;
    let response = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(&token)
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_challenge(&response, StatusCode::BAD_REQUEST, INVALID_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let malformed = app
        .http
        .get(app.url("/userinfo"))
        .header("authorization", "Bearer two tokens")
        .send()
        .await
        .unwrap();
    assert_challenge(&malformed, StatusCode::BAD_REQUEST, INVALID_REQUEST);
}
