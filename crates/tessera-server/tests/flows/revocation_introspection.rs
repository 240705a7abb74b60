//! RFC 7009 revocation and RFC 7662 introspection, over real HTTP.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_testkit::grants::{CodeOptions, WebClient};
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;

struct Setup {
    app: TestApp,
    web: WebClient,
    other: WebClient,
    api: String,
    tokens: Value,
}

/// A signed-in user of `web` (with roles), another confidential client, and a resource server
/// registered as a client (`api`) for introspection.
async fn setup() -> Setup {
    let app = spawn_app().await;
    let user = app
        .add_user(
            "ada@example.com",
            Some("correct horse battery staple"),
            Some("Ada"),
            &["admin"],
        )
        .await;
    let web = app
        .add_web_client("web", false, &["openid", "roles"], &[])
        .await;
    let other = app.add_web_client("other", false, &["openid"], &[]).await;
    let api = app.add_resource_server("api", &[]).await;
    let (tokens, _) = app
        .sign_in(&web, &user, CodeOptions::scope("openid roles"))
        .await;
    Setup {
        app,
        web,
        other,
        api,
        tokens,
    }
}

fn token<'a>(tokens: &'a Value, field: &str) -> &'a str {
    tokens[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {tokens}"))
}

async fn post(
    app: &TestApp,
    path: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn introspect(s: &Setup, token: &str, hint: Option<&str>) -> Value {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let response = post(&s.app, "/oauth/introspect", "api", &s.api, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn revoke(s: &Setup, client: &WebClient, token: &str, hint: Option<&str>) -> StatusCode {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    post(
        &s.app,
        "/oauth/revoke",
        client.id(),
        client.secret.as_deref().unwrap(),
        &form,
    )
    .await
    .status()
}

async fn userinfo_status(s: &Setup, access: &str) -> StatusCode {
    s.app
        .http
        .get(s.app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn introspection_describes_live_tokens_and_nothing_else() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    let answer = introspect(&s, access, None).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], "web");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "openid roles");
    assert_eq!(answer["iss"], s.app.base_url);
    assert_eq!(answer["roles"], serde_json::json!(["admin"]));
    assert_eq!(answer["auth_time"], s.app.clock.now_unix());
    assert!(answer["sid"].is_string() && answer["sub"].is_string() && answer["jti"].is_string());
    assert_eq!(answer["exp"], s.app.clock.now_unix() + 900);

    let refresh = token(&s.tokens, "refresh_token");
    // A refresh token is described only to the client that holds it.
    assert_eq!(
        introspect(&s, refresh, Some("refresh_token")).await,
        serde_json::json!({"active": false})
    );
    let response = post(
        &s.app,
        "/oauth/introspect",
        "web",
        s.web.secret.as_deref().unwrap(),
        &[("token", refresh)],
    )
    .await;
    let own: Value = response.json().await.unwrap();
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["token_type"], "refresh_token");

    // Malformed, foreign-issuer, tampered and unknown tokens are simply inactive.
    let mut tampered = access.to_owned();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let foreign = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::RS256, "x")
        .unwrap()
        .sign_jwt(
            "at+jwt",
            &serde_json::json!({"iss": "https://evil.example", "exp": 4_000_000_000i64}),
        )
        .unwrap();
    for junk in [
        "garbage",
        "a.b.c",
        tampered.as_str(),
        foreign.as_str(),
        "an-unknown-opaque-token",
    ] {
        assert_eq!(
            introspect(&s, junk, None).await,
            serde_json::json!({"active": false}),
            "{junk}"
        );
    }

    // Expired: inactive once the clock passes exp.
    s.app.clock.advance(Duration::seconds(900));
    assert_eq!(introspect(&s, access, None).await["active"], false);
}

#[tokio::test]
async fn introspection_requires_an_authenticated_confidential_client() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    let response = post(
        &s.app,
        "/oauth/introspect",
        "api",
        "wrong",
        &[("token", access)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let spa = s.app.add_web_client("spa", true, &["openid"], &[]).await;
    let response = s
        .app
        .http
        .post(s.app.url("/oauth/introspect"))
        .form(&[("client_id", spa.id()), ("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = post(&s.app, "/oauth/introspect", "api", &s.api, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

/// Found by the attack pass: any confidential client could introspect any client's tokens. Now
/// a client that is not a resource server learns only about its own tokens; another client's
/// live token is `active: false` to it (RFC 7662 §2.2), while the resource server sees it live.
#[tokio::test]
async fn only_resource_servers_introspect_other_clients_tokens() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    let ask = |id: &'static str, secret: String| {
        let app = &s.app;
        async move {
            let response = post(app, "/oauth/introspect", id, &secret, &[("token", access)]).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let other_secret = s.other.secret.clone().expect("confidential");
    let other = ask("other", other_secret).await;
    assert_eq!(other, serde_json::json!({ "active": false }));
    let web_secret = s.web.secret.clone().expect("confidential");
    assert_eq!(
        ask("web", web_secret).await["active"],
        true,
        "its own token"
    );
    assert_eq!(
        ask("api", s.api.clone()).await["active"],
        true,
        "the resource server"
    );
}

#[tokio::test]
async fn revoking_an_access_token_makes_it_inactive_everywhere_tessera_looks() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    assert_eq!(userinfo_status(&s, access).await, StatusCode::OK);
    assert_eq!(
        revoke(&s, &s.web, access, Some("access_token")).await,
        StatusCode::OK
    );
    assert_eq!(introspect(&s, access, None).await["active"], false);
    assert_eq!(userinfo_status(&s, access).await, StatusCode::UNAUTHORIZED);
    // The refresh token of the same sign-in is untouched.
    assert_eq!(
        introspect(&s, token(&s.tokens, "refresh_token"), None).await["active"],
        false,
        "api cannot see it"
    );
    let response = s
        .app
        .refresh(&s.web, token(&s.tokens, "refresh_token"), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_the_hint_is_not_trusted() {
    let s = setup().await;
    let refresh = token(&s.tokens, "refresh_token");
    // A wrong hint still finds the refresh token.
    assert_eq!(
        revoke(&s, &s.web, refresh, Some("access_token")).await,
        StatusCode::OK
    );
    let response = s.app.refresh(&s.web, refresh, None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens_and_unknown_tokens_are_fine() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    let refresh = token(&s.tokens, "refresh_token");
    // Another client: 200, nothing revoked.
    assert_eq!(revoke(&s, &s.other, access, None).await, StatusCode::OK);
    assert_eq!(revoke(&s, &s.other, refresh, None).await, StatusCode::OK);
    assert_eq!(introspect(&s, access, None).await["active"], true);
    assert_eq!(userinfo_status(&s, access).await, StatusCode::OK);
    let response = s.app.refresh(&s.web, refresh, None).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the refresh token still works"
    );
    // Unknown and malformed tokens: 200.
    for junk in ["nope", "a.b.c"] {
        assert_eq!(revoke(&s, &s.web, junk, None).await, StatusCode::OK);
    }
    // Bad requests and bad clients get the standard errors.
    let response = post(
        &s.app,
        "/oauth/revoke",
        "web",
        "wrong",
        &[("token", access)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = post(
        &s.app,
        "/oauth/revoke",
        "web",
        s.web.secret.as_deref().unwrap(),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn disabling_the_user_makes_their_tokens_inactive_at_introspection() {
    let s = setup().await;
    let access = token(&s.tokens, "access_token");
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_user_status(
            "ada@example.com",
            tessera_server::admin::UserStatus::Disabled,
        )
        .await
        .unwrap();
    assert_eq!(introspect(&s, access, None).await["active"], false);
}
