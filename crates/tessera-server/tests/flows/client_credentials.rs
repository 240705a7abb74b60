//! The token endpoint with the `client_credentials` grant, over real HTTP on a real SQLite file.
//! Every issued token is verified by an independent library through discovery → JWKS.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_testkit::independent::verify_via_discovery;
use tessera_testkit::{spawn_app, TestApp};

async fn json(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.expect("a JSON body");
    (status, headers, body)
}

fn assert_no_store(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
}

async fn app_with_client() -> (TestApp, String) {
    let app = spawn_app().await;
    let secret = app
        .add_service_client("svc", &["api:read", "api:write"])
        .await;
    (app, secret)
}

#[tokio::test]
async fn basic_auth_gets_an_rfc9068_token_that_an_independent_library_verifies() {
    let (app, secret) = app_with_client().await;
    let (status, headers, body) = json(
        app.client_credentials("svc", &secret, Some("api:read"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_store(&headers);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "api:read");

    let token = body["access_token"].as_str().unwrap();
    let verified = verify_via_discovery(&app.http, &app.base_url, token, &app.base_url, "at+jwt")
        .await
        .expect("jsonwebtoken verifies the token");
    assert_eq!(verified.header.alg, jsonwebtoken::Algorithm::RS256);
    let claims = &verified.claims;
    assert_eq!(claims["iss"], app.base_url);
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["aud"], app.base_url);
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22, "128-bit jti");
    verified.assert_issued_at(app.clock.now_unix(), 900);
}

#[tokio::test]
async fn post_auth_works_and_every_token_has_its_own_jti() {
    let (app, secret) = app_with_client().await;
    let mut jtis = std::collections::HashSet::new();
    for _ in 0..3 {
        let response = app
            .http
            .post(app.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let (status, _, body) = json(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Without a scope parameter the client gets every scope it is registered for.
        assert_eq!(body["scope"], "api:read api:write");
        let verified = verify_via_discovery(
            &app.http,
            &app.base_url,
            body["access_token"].as_str().unwrap(),
            &app.base_url,
            "at+jwt",
        )
        .await
        .unwrap();
        assert!(jtis.insert(verified.claims["jti"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn scopes_are_limited_to_the_clients_registration() {
    let (app, secret) = app_with_client().await;
    let (status, headers, body) = json(
        app.client_credentials("svc", &secret, Some("api:read admin"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_no_store(&headers);
    assert_eq!(body["error"], "invalid_scope");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("admin"));

    let (status, _, body) = json(
        app.client_credentials("svc", &secret, Some("bad\"scope"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let (status, _, body) = json(
        app.client_credentials("svc", &secret, Some("api:write api:read"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "api:read api:write");
}

#[tokio::test]
async fn configured_lifetime_and_audience_are_used() {
    let app = tessera_testkit::spawn_app_with(|config| {
        config.tokens.access_token_lifetime_seconds = 300;
        config.tokens.access_token_audience = Some("https://api.example.com".into());
    })
    .await;
    let secret = app.add_service_client("svc", &[]).await;
    let (status, _, body) = json(app.client_credentials("svc", &secret, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 300);
    assert!(
        body.get("scope").is_none(),
        "no scopes registered, none granted"
    );
    let verified = verify_via_discovery(
        &app.http,
        &app.base_url,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
        "at+jwt",
    )
    .await
    .unwrap();
    verified.assert_issued_at(app.clock.now_unix(), 300);
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let (app, secret) = app_with_client().await;

    // Wrong secret and unknown client look the same, with a Basic challenge.
    for (id, pw) in [("svc", "wrong"), ("nobody", secret.as_str()), ("svc", "")] {
        let (status, headers, body) = json(app.client_credentials(id, pw, None).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{id}");
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], "client authentication failed");
        assert_eq!(headers["www-authenticate"], r#"Basic realm="tessera""#);
        assert_no_store(&headers);
    }

    // client_secret_post failures: 401 with the challenge too (HTTP requires one on every 401;
    // the attack pass found it missing).
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(headers["www-authenticate"], r#"Basic realm="tessera""#);
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // No authentication at all.
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(headers["www-authenticate"], r#"Basic realm="tessera""#);

    // A confidential client that sends only its id has not authenticated.
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "svc")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = json(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn grants_the_client_may_not_use_are_refused() {
    let app = spawn_app().await;
    // A public client cannot use client_credentials: it has nothing to authenticate with.
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(tessera_core::NewClient {
            id: "spa".into(),
            is_public: true,
            redirect_uris: vec!["https://spa.example.com/cb".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "spa")])
        .send()
        .await
        .unwrap();
    let (status, _, body) = json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");

    // A confidential client registered only for authorization_code.
    let (_, secret) = app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(tessera_core::NewClient {
            id: "web".into(),
            redirect_uris: vec!["https://web.example.com/cb".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, _, body) = json(
        app.client_credentials("web", secret.unwrap().expose(), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
}

/// Sends a raw token request with Basic credentials.
async fn raw(
    app: &TestApp,
    secret: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("svc", Some(secret));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(body).send().await.unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A bad request: content type, body, expected status, error code, description fragment.
type Case<'a> = (Option<&'a str>, Vec<u8>, u16, &'a str, &'a str);

#[tokio::test]
async fn bad_input_gets_the_standard_error_and_never_a_500() {
    let (app, secret) = app_with_client().await;
    let huge = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(10 * 1024 * 1024)
    );
    let cases: Vec<Case> = vec![
        (
            Some(FORM),
            b"".to_vec(),
            400,
            "invalid_request",
            "grant_type",
        ),
        (
            Some(FORM),
            b"scope=api:read".to_vec(),
            400,
            "invalid_request",
            "grant_type",
        ),
        (
            Some(FORM),
            b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
            400,
            "invalid_request",
            "repeated",
        ),
        (
            Some(FORM),
            b"grant_type=client_credentials&scope=a&scope=b".to_vec(),
            400,
            "invalid_request",
            "repeated",
        ),
        (
            Some(FORM),
            b"grant_type=password&username=a&password=b".to_vec(),
            400,
            "unsupported_grant_type",
            "",
        ),
        (
            Some(FORM),
            b"grant_type=urn:ietf:params:oauth:grant-type:device_code".to_vec(),
            400,
            "unsupported_grant_type",
            "",
        ),
        (
            Some("application/json"),
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
            400,
            "invalid_request",
            "x-www-form-urlencoded",
        ),
        (
            None,
            b"grant_type=client_credentials".to_vec(),
            400,
            "invalid_request",
            "x-www-form-urlencoded",
        ),
        (
            Some(FORM),
            b"grant_type=client_credentials&scope=\xff\xfe".to_vec(),
            400,
            "invalid_request",
            "UTF-8",
        ),
        (
            Some(FORM),
            b"grant_type=client_credentials&scope=%C3%28".to_vec(),
            400,
            "invalid_request",
            "UTF-8",
        ),
        (
            Some(FORM),
            huge.into_bytes(),
            413,
            "invalid_request",
            "larger than",
        ),
    ];
    for (content_type, body, status, error, fragment) in cases {
        let label = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let response = raw(&app, &secret, content_type, body).await;
        assert_eq!(response.status().as_u16(), status, "{label}");
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{label}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap_or("")
                .contains(fragment),
            "{label}: {body}"
        );
        assert_no_store(&headers);
    }

    // Both Basic and client_secret_post at once.
    let response = raw(
        &app,
        &secret,
        Some(FORM),
        format!("grant_type=client_credentials&client_secret={secret}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    // A GET is not a token request.
    let response = app.http.get(app.url("/oauth/token")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // After all that, the server still works.
    let response = app.client_credentials("svc", &secret, None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID");
    // A caller's request id is kept.
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-123");
}
