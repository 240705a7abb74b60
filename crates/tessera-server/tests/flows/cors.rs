//! CORS (cors.rs) over real HTTP: discovery and the JWKS for any origin; the token, revocation
//! and UserInfo endpoints only for origins a public client lists, each request held to its own
//! client's list before anything changes in the store; no CORS anywhere else.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tessera_core::{NewClient, User};
use tessera_testkit::grants::{CodeOptions, WebClient, PKCE_VERIFIER, REDIRECT_URI};
use tessera_testkit::{spawn_app, TestApp};

/// The origin the `spa` client lists.
const SPA_ORIGIN: &str = "http://127.0.0.1:4000";
/// The origin the `other-spa` client lists.
const OTHER_ORIGIN: &str = "https://other.example";
/// An origin no client lists.
const UNLISTED: &str = "https://evil.example";

struct Setup {
    app: TestApp,
    spa: WebClient,
    user: User,
}

async fn register_public(app: &TestApp, id: &str, origins: &[&str]) -> WebClient {
    app.register_client(NewClient {
        id: id.to_owned(),
        redirect_uris: vec![REDIRECT_URI.into()],
        is_public: true,
        scopes: vec!["openid".into(), "email".into()],
        is_first_party: true,
        allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
        ..NewClient::default()
    })
    .await
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let spa = register_public(&app, "spa", &[SPA_ORIGIN]).await;
    register_public(&app, "other-spa", &[OTHER_ORIGIN]).await;
    let user = app
        .add_user("ada@example.com", None, Some("Ada"), &[])
        .await;
    Setup { app, spa, user }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Asserts that a response carries no CORS header at all.
fn assert_no_cors(headers: &HeaderMap, what: &str) {
    for (name, _) in headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{what}: unexpected {name}"
        );
    }
}

/// Asserts that a response lets `origin` read it, without credentials.
fn assert_echoes(headers: &HeaderMap, origin: &str, what: &str) {
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        Some(origin),
        "{what}"
    );
    assert_eq!(
        header(headers, "access-control-expose-headers"),
        Some("www-authenticate, dpop-nonce"),
        "{what}"
    );
    assert!(
        headers.get_all("vary").iter().any(|v| v == "origin"),
        "{what}: Vary: Origin"
    );
    assert!(
        headers.get("access-control-allow-credentials").is_none(),
        "{what}"
    );
}

/// A browser's preflight for `method` at `path` from `origin`.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

/// A token request by the public client `client`, from `origin` when given.
async fn token(
    app: &TestApp,
    client: &WebClient,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form.to_vec();
    form.push(("client_id", client.id()));
    let mut request = app.http.post(app.url("/oauth/token")).form(&form);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

async fn exchange(
    app: &TestApp,
    client: &WebClient,
    origin: Option<&str>,
    code: &str,
) -> reqwest::Response {
    token(
        app,
        client,
        origin,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", PKCE_VERIFIER),
        ],
    )
    .await
}

async fn refused(response: reqwest::Response) -> (HeaderMap, Value) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Origin"),
        "{body}"
    );
    (headers, body)
}

#[tokio::test]
async fn discovery_and_jwks_are_readable_from_any_origin() {
    let Setup { app, .. } = setup().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        for origin in [None, Some(UNLISTED)] {
            let mut request = app.http.get(app.url(path));
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let h = response.headers();
            assert_eq!(
                header(h, "access-control-allow-origin"),
                Some("*"),
                "{path}"
            );
            assert!(
                h.get("access-control-allow-credentials").is_none(),
                "{path}"
            );
        }
        let response = preflight(&app, path, UNLISTED, "GET").await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        let h = response.headers();
        assert_eq!(
            header(h, "access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(
            header(h, "access-control-allow-methods"),
            Some("GET"),
            "{path}"
        );
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_allowed_and_any_other_refused() {
    let Setup { app, .. } = setup().await;
    for (path, methods) in [
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
        ("/userinfo", "GET, POST"),
    ] {
        // Either client's origin may read these endpoints; each request is then held to its
        // own client's list (the tests below).
        for origin in [SPA_ORIGIN, OTHER_ORIGIN] {
            let response = preflight(&app, path, origin, "POST").await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path} {origin}");
            let h = response.headers();
            assert_echoes(h, origin, path);
            assert_eq!(header(h, "access-control-allow-methods"), Some(methods));
            assert_eq!(
                header(h, "access-control-allow-headers"),
                Some("authorization, content-type, dpop")
            );
            assert_eq!(header(h, "access-control-max-age"), Some("600"));
        }

        let response = preflight(&app, path, UNLISTED, "POST").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_no_cors(response.headers(), path);

        let response = preflight(&app, path, SPA_ORIGIN, "DELETE").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} DELETE");
        assert_no_cors(response.headers(), path);
    }
    let response = preflight(&app, "/userinfo", SPA_ORIGIN, "GET").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = preflight(&app, "/oauth/token", SPA_ORIGIN, "GET").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A plain OPTIONS (not a preflight) describes the endpoint and nothing more.
    let response = app
        .http
        .request(Method::OPTIONS, app.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(response.headers(), "allow"), Some("POST, OPTIONS"));
    assert_no_cors(response.headers(), "plain OPTIONS");
}

#[tokio::test]
async fn a_code_sent_from_another_clients_origin_is_refused_and_stays_redeemable() {
    let Setup { app, spa, user } = setup().await;
    let issued = app
        .issue_code(&spa, &user, CodeOptions::scope("openid email").with_pkce())
        .await;

    // Another client's origin: refused, and readable by that page (some client lists it).
    let (headers, _) = refused(exchange(&app, &spa, Some(OTHER_ORIGIN), &issued.code).await).await;
    assert_echoes(
        &headers,
        OTHER_ORIGIN,
        "refusal for another client's origin",
    );

    // An origin no client lists: refused, and the browser may not even read the refusal.
    let response = exchange(&app, &spa, Some(UNLISTED), &issued.code).await;
    assert_no_cors(response.headers(), "unlisted origin");
    refused(response).await;

    // An opaque origin (a sandboxed frame, a file: page) is refused too.
    refused(exchange(&app, &spa, Some("null"), &issued.code).await).await;

    // Nothing was consumed: the client's own origin redeems the code.
    let response = exchange(&app, &spa, Some(SPA_ORIGIN), &issued.code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_echoes(response.headers(), SPA_ORIGIN, "token response");
    let body: Value = response.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // A refresh from the wrong origin rotates nothing: the same refresh token still works
    // (were it rotated, presenting it again would be reuse and revoke the family).
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    refused(token(&app, &spa, Some(OTHER_ORIGIN), &refresh_form).await).await;
    let response = token(&app, &spa, Some(SPA_ORIGIN), &refresh_form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();

    // Server-side requests carry no Origin and are unaffected.
    let response = token(
        &app,
        &spa,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rotated.as_str()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_cors(response.headers(), "no Origin");
}

#[tokio::test]
async fn a_confidential_client_is_refused_from_any_browser_origin() {
    let Setup { app, user, .. } = setup().await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    let issued = app.issue_code(&web, &user, CodeOptions::default()).await;
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(web.id(), web.secret.as_deref())
        .header("origin", SPA_ORIGIN)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", issued.code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    refused(response).await;
    let response = app.exchange_code(&web, &issued.code, None).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the code was not consumed"
    );
}

#[tokio::test]
async fn revocation_from_another_clients_origin_revokes_nothing() {
    let Setup { app, spa, user } = setup().await;
    let issued = app
        .issue_code(&spa, &user, CodeOptions::scope("openid").with_pkce())
        .await;
    let response = exchange(&app, &spa, Some(SPA_ORIGIN), &issued.code).await;
    let body: Value = response.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();

    let revoke = |origin: &'static str| {
        app.http
            .post(app.url("/oauth/revoke"))
            .header("origin", origin)
            .form(&[("token", refresh), ("client_id", "spa")])
            .send()
    };
    refused(revoke(OTHER_ORIGIN).await.unwrap()).await;
    let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let response = token(&app, &spa, None, &refresh_form).await;
    assert_eq!(response.status(), StatusCode::OK, "still live");
    let rotated: Value = response.json().await.unwrap();
    let rotated = rotated["refresh_token"].as_str().unwrap();

    // From the client's own origin the revocation works, and the page may read the answer.
    let response = app
        .http
        .post(app.url("/oauth/revoke"))
        .header("origin", SPA_ORIGIN)
        .form(&[("token", rotated), ("client_id", "spa")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_echoes(response.headers(), SPA_ORIGIN, "revocation");
    let response = token(
        &app,
        &spa,
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "revoked");
}

#[tokio::test]
async fn userinfo_answers_only_the_origin_of_the_tokens_client() {
    let Setup { app, spa, user } = setup().await;
    let issued = app
        .issue_code(&spa, &user, CodeOptions::scope("openid email").with_pkce())
        .await;
    let response = exchange(&app, &spa, Some(SPA_ORIGIN), &issued.code).await;
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    let userinfo = |origin: Option<&'static str>| {
        let mut request = app.http.get(app.url("/userinfo")).bearer_auth(access);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };

    let response = userinfo(Some(SPA_ORIGIN)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_echoes(response.headers(), SPA_ORIGIN, "userinfo");
    let claims: Value = response.json().await.unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["email"], "ada@example.com");

    // Another client's origin: refused (the claims are never sent), with a bearer challenge.
    let response = userinfo(Some(OTHER_ORIGIN)).await.unwrap();
    assert_eq!(
        header(response.headers(), "www-authenticate"),
        Some(r#"Bearer realm="tessera", error="invalid_request""#)
    );
    assert_echoes(response.headers(), OTHER_ORIGIN, "userinfo refusal");
    refused(response).await;

    let response = userinfo(Some(UNLISTED)).await.unwrap();
    assert_no_cors(response.headers(), "userinfo, unlisted origin");
    refused(response).await;

    // An invalid token is still `invalid_token`, whatever the origin.
    let response = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth("not-a-token")
        .header("origin", SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_echoes(
        response.headers(),
        SPA_ORIGIN,
        "the page can read the challenge",
    );

    let response = userinfo(None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_cors(response.headers(), "userinfo without Origin");
}

#[tokio::test]
async fn no_cors_on_the_authorization_endpoint_pages_introspection_or_the_feed() {
    let Setup { app, .. } = setup().await;
    for path in [
        "/authorize",
        "/login",
        "/consent",
        "/logout",
        "/oauth/introspect",
        "/revocations",
        "/revocations/stream",
    ] {
        let response = preflight(&app, path, SPA_ORIGIN, "POST").await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "OPTIONS {path}"
        );
        assert_no_cors(response.headers(), path);
    }
    let response = app
        .http
        .get(app.url(&format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={REDIRECT_URI}&scope=openid"
        )))
        .header("origin", SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_no_cors(response.headers(), "GET /authorize");
    let response = app
        .http
        .post(app.url("/oauth/introspect"))
        .header("origin", SPA_ORIGIN)
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_no_cors(response.headers(), "POST /oauth/introspect");
}
