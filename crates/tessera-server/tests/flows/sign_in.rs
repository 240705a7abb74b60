//! The browser sign-in flow over real HTTP: the authorization endpoint, the hosted login and
//! consent pages, browser sessions, `prompt`, `max_age`, `id_token_hint`, and the errors a
//! certified client expects. A test browser parses the hosted pages' forms and posts them back.

use serde_json::Value;
use std::collections::BTreeMap;
use tessera_core::{CodeChallenge, NewClient};
use tessera_testkit::browser::{Browser, Landing};
use tessera_testkit::independent::verify_via_discovery;
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;
use url::Url;

const REDIRECT: &str = "https://app.example.com/cb";
const PASSWORD: &str = "correct horse battery staple";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Setup {
    app: TestApp,
    secret: String,
}

async fn setup(first_party: bool) -> Setup {
    let app = spawn_app().await;
    let (_, secret) = app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(NewClient {
            id: "web".into(),
            name: Some("Web App".into()),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: first_party,
            scopes: vec!["api:read".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(NewClient {
            id: "spa".into(),
            redirect_uris: vec!["http://127.0.0.1:3000/cb".into()],
            is_public: true,
            is_first_party: true,
            ..Default::default()
        })
        .await
        .unwrap();
    for email in ["ada@example.com", "bob@example.com"] {
        app.state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_user(tessera_server::admin::AddUser {
                email: (email).to_string(),
                name: Some("Ada Lovelace".into()),
                roles: vec!["admin".into()],
                password: Some(PASSWORD.to_owned().into()),
            })
            .await
            .unwrap();
    }
    Setup {
        app,
        secret: secret.unwrap().expose().to_owned(),
    }
}

fn authorize_url(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", "web")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "st4te")
            .append_pair("nonce", "n0nce");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// Signs in through the login page and returns where the browser ended up.
async fn log_in(browser: &Browser, landing: Landing, email: &str, password: &str) -> Landing {
    let page = landing.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.contains("Sign in to continue to Web App") || page.contains("Sign in to continue to")
    );
    let form = page.form();
    assert!(form.fields.contains_key("request") && form.fields.contains_key("csrf_token"));
    browser
        .submit(&form, &[("username", email), ("password", password)])
        .await
}

/// Exchanges a code at the token endpoint as the confidential `web` client.
async fn exchange(s: &Setup, code: &str) -> (u16, Value) {
    let response = s
        .app
        .http
        .post(s.app.url("/oauth/token"))
        .basic_auth("web", Some(&s.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn id_token_claims(s: &Setup, body: &Value) -> Value {
    let id_token = body["id_token"].as_str().expect("an ID token");
    verify_via_discovery(&s.app.http, &s.app.base_url, id_token, "web", "JWT")
        .await
        .expect("jsonwebtoken verifies the ID token")
        .claims
}

#[tokio::test]
async fn a_first_party_sign_in_returns_a_code_that_yields_verified_tokens() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let landing = browser.get(&authorize_url(&s.app, &[])).await;
    let back = log_in(&browser, landing, "Ada@Example.com", PASSWORD)
        .await
        .client();
    assert!(back.as_str().starts_with(REDIRECT));
    let params = query(&back);
    assert_eq!(params["state"], "st4te");
    assert_eq!(params["iss"], s.app.base_url);
    let code = &params["code"];
    assert!(code.len() >= 22, "at least 128 bits");

    let (status, body) = exchange(&s, code).await;
    assert_eq!(status, 200, "{body}");
    let claims = id_token_claims(&s, &body).await;
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["auth_time"], s.app.clock.now_unix());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["sid"].is_string());
    let session_cookie = browser
        .cookie("__Host-tessera_session")
        .expect("a session cookie");
    assert!(session_cookie.len() >= 43, "256-bit session secret");

    // The code is single use.
    let (status, body) = exchange(&s, code).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_secure_http_only_lax() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let landing = browser.get(&authorize_url(&s.app, &[])).await;
    let page = landing.page();
    let form = page.form();
    let response = s
        .app
        .http
        .post(form.action.as_str())
        .header(
            "cookie",
            format!(
                "__Host-tessera_csrf={}",
                browser.cookie("__Host-tessera_csrf").unwrap()
            ),
        )
        .form(&{
            let mut f = form.fields.clone();
            f.insert("username".into(), "ada@example.com".into());
            f.insert("password".into(), PASSWORD.into());
            f
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "a credential POST answers 303");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(
        !cookie.contains("Domain"),
        "__Host- cookies carry no Domain"
    );
}

#[tokio::test]
async fn wrong_credentials_get_one_message_whoever_asks() {
    let s = setup(true).await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_user_status(
            "bob@example.com",
            tessera_server::admin::UserStatus::Disabled,
        )
        .await
        .unwrap();
    let browser = Browser::new(&s.app.base_url);
    for (email, password) in [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("bob@example.com", PASSWORD), // disabled
        ("not-an-email", PASSWORD),
    ] {
        let landing = browser.get(&authorize_url(&s.app, &[])).await;
        // Every attempt costs exactly one argon2 verification, whether or not the account
        // exists (the dummy hash), so response time does not reveal which emails are registered.
        let hashes_before = s.app.state.services.passwords.completed();
        let page = log_in(&browser, landing, email, password).await.page();
        assert_eq!(
            s.app.state.services.passwords.completed(),
            hashes_before + 1,
            "{email}: one verification"
        );
        assert_eq!(page.status, 401, "{email}");
        assert!(page.contains("Wrong email or password."), "{email}");
        // The form is shown again, ready for another try.
        assert!(page.form().fields.contains_key("request"));
    }
    assert!(
        browser.cookie("__Host-tessera_session").is_none(),
        "no session was created"
    );
}

#[tokio::test]
async fn hosted_pages_carry_security_headers_and_no_cors() {
    let s = setup(true).await;
    let response = s
        .app
        .http
        .get(authorize_url(&s.app, &[]))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let browser = Browser::new(&s.app.base_url);
    let page = browser.get(&authorize_url(&s.app, &[])).await.page();
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn forged_missing_or_replayed_login_posts_are_refused() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let landing = browser.get(&authorize_url(&s.app, &[])).await;
    let form = landing.page().form();
    let creds = [("username", "ada@example.com"), ("password", PASSWORD)];

    // A forged CSRF token.
    let page = browser
        .submit(&form, &[creds[0], creds[1], ("csrf_token", "forged")])
        .await
        .page();
    assert_eq!(page.status, 400);
    assert!(page.contains("expired"), "{}", page.html);
    // A missing CSRF token.
    let mut fields = form.fields.clone();
    fields.remove("csrf_token");
    fields.insert("username".into(), "ada@example.com".into());
    fields.insert("password".into(), PASSWORD.into());
    assert_eq!(
        browser
            .post_form(form.action.as_str(), &fields)
            .await
            .page()
            .status,
        400
    );
    // Another browser (no CSRF cookie) posting the genuine form.
    let other = Browser::new(&s.app.base_url);
    assert_eq!(other.submit(&form, &creds).await.page().status, 400);

    // The genuine POST works once…
    browser.submit(&form, &creds).await.client();
    // …and a replay finds nothing.
    let page = browser.submit(&form, &creds).await.page();
    assert_eq!(page.status, 400);
}

#[tokio::test]
async fn prompt_none_needs_a_session_and_then_answers_silently() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let back = browser
        .get(&authorize_url(&s.app, &[("prompt", "none")]))
        .await
        .client();
    let params = query(&back);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st4te");
    assert_eq!(params["iss"], s.app.base_url);

    log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .client();
    let back = browser
        .get(&authorize_url(&s.app, &[("prompt", "none")]))
        .await
        .client();
    assert!(query(&back).contains_key("code"), "{back}");
    // Without prompt, a live session also skips the login page.
    let back = browser.get(&authorize_url(&s.app, &[])).await.client();
    assert!(query(&back).contains_key("code"));
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_login_with_a_later_auth_time() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let back = log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    let first = id_token_claims(&s, &body).await;
    let first_cookie = browser.cookie("__Host-tessera_session").unwrap();

    // Ten minutes later, max_age=900 is still satisfied: no login page.
    s.app.clock.advance(Duration::minutes(10));
    let back = browser
        .get(&authorize_url(&s.app, &[("max_age", "900")]))
        .await
        .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    assert_eq!(
        id_token_claims(&s, &body).await["auth_time"],
        first["auth_time"]
    );

    // max_age=300 is not: the login page comes back, and the new auth_time is later.
    let landing = browser
        .get(&authorize_url(&s.app, &[("max_age", "300")]))
        .await;
    let back = log_in(&browser, landing, "ada@example.com", PASSWORD)
        .await
        .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    let second = id_token_claims(&s, &body).await;
    assert_eq!(second["auth_time"], s.app.clock.now_unix());
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    assert_eq!(second["sid"], first["sid"], "same browser session");
    assert_ne!(
        browser.cookie("__Host-tessera_session").unwrap(),
        first_cookie,
        "session secret renewed"
    );

    // prompt=login forces the page even right after a login.
    s.app.clock.advance(Duration::seconds(5));
    let landing = browser
        .get(&authorize_url(&s.app, &[("prompt", "login")]))
        .await;
    let back = log_in(&browser, landing, "ada@example.com", PASSWORD)
        .await
        .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    assert_eq!(
        id_token_claims(&s, &body).await["auth_time"],
        s.app.clock.now_unix()
    );

    // prompt=none cannot meet max_age=0 without a login.
    s.app.clock.advance(Duration::seconds(5));
    let back = browser
        .get(&authorize_url(
            &s.app,
            &[("prompt", "none"), ("max_age", "0")],
        ))
        .await
        .client();
    assert_eq!(query(&back)["error"], "login_required");
}

#[tokio::test]
async fn id_token_hint_for_another_user_requires_login() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let back = log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    let ada_hint = body["id_token"].as_str().unwrap().to_owned();

    // Ada's own hint: silent.
    let back = browser
        .get(&authorize_url(
            &s.app,
            &[("prompt", "none"), ("id_token_hint", &ada_hint)],
        ))
        .await
        .client();
    assert!(query(&back).contains_key("code"));

    // Bob's hint while Ada is signed in: Bob must log in.
    let other = Browser::new(&s.app.base_url);
    let back = log_in(
        &other,
        other.get(&authorize_url(&s.app, &[])).await,
        "bob@example.com",
        PASSWORD,
    )
    .await
    .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    let bob_hint = body["id_token"].as_str().unwrap().to_owned();
    let back = browser
        .get(&authorize_url(
            &s.app,
            &[("prompt", "none"), ("id_token_hint", &bob_hint)],
        ))
        .await
        .client();
    assert_eq!(query(&back)["error"], "login_required");

    // A forged hint is invalid_request.
    let back = browser
        .get(&authorize_url(
            &s.app,
            &[("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")],
        ))
        .await
        .client();
    assert_eq!(query(&back)["error"], "invalid_request");

    // So is Ada's access token: signed with the same keys and naming her, but not an ID token.
    let back = log_in(
        &browser,
        browser
            .get(&authorize_url(&s.app, &[("prompt", "login")]))
            .await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .client();
    let (_, body) = exchange(&s, &query(&back)["code"]).await;
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    let back = browser
        .get(&authorize_url(
            &s.app,
            &[("prompt", "none"), ("id_token_hint", &access_token)],
        ))
        .await
        .client();
    assert_eq!(query(&back)["error"], "invalid_request");
}

#[tokio::test]
async fn consent_is_asked_remembered_and_can_be_refused() {
    let s = setup(false).await;
    let browser = Browser::new(&s.app.base_url);
    let landing = log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await;
    let page = landing.page();
    assert!(
        page.contains("Web App wants to access your account"),
        "{}",
        page.html
    );
    for scope in ["openid", "profile", "email"] {
        assert!(page.contains(scope));
    }
    let back = browser
        .submit(&page.form(), &[("decision", "allow")])
        .await
        .client();
    assert!(query(&back).contains_key("code"));

    // Remembered: the same scopes go straight through, even with prompt=none.
    let back = browser
        .get(&authorize_url(&s.app, &[("prompt", "none")]))
        .await
        .client();
    assert!(query(&back).contains_key("code"), "{back}");
    // More scope than consented: asked again (and prompt=none cannot ask).
    let wider = authorize_url(&s.app, &[("prompt", "none")])
        .replace("scope=openid+profile+email", "scope=openid+api%3Aread");
    let back = browser.get(&wider).await.client();
    assert_eq!(query(&back)["error"], "consent_required");
    // prompt=consent asks again; deny answers access_denied with the state.
    let page = browser
        .get(&authorize_url(&s.app, &[("prompt", "consent")]))
        .await
        .page();
    let back = browser
        .submit(&page.form(), &[("decision", "deny")])
        .await
        .client();
    let params = query(&back);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st4te");
}

#[tokio::test]
async fn public_clients_must_use_s256_pkce() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let spa = |extra: &[(&str, &str)]| {
        let mut url = Url::parse(&s.app.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "spa")
            .append_pair("scope", "openid")
            .extend_pairs(extra);
        url.to_string()
    };
    let back = browser.get(&spa(&[])).await.client();
    assert_eq!(query(&back)["error"], "invalid_request");
    let challenge = CodeChallenge::of_verifier(VERIFIER);
    let back = browser
        .get(&spa(&[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ]))
        .await
        .client();
    assert_eq!(query(&back)["error"], "invalid_request");

    // With S256, and redirect_uri omitted (exactly one is registered).
    let landing = browser
        .get(&spa(&[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    let back = log_in(&browser, landing, "ada@example.com", PASSWORD)
        .await
        .client();
    assert!(back.as_str().starts_with("http://127.0.0.1:3000/cb"));
    let code = query(&back)["code"].clone();
    let response = s
        .app
        .http
        .post(s.app.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn requests_that_cannot_be_trusted_with_a_redirect_get_an_error_page() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let huge_state = "x".repeat(5000);
    for (label, url) in [
        (
            "unknown client",
            authorize_url(&s.app, &[]).replace("client_id=web", "client_id=nope"),
        ),
        (
            "no client",
            authorize_url(&s.app, &[]).replace("client_id=web", ""),
        ),
        (
            "unregistered redirect",
            authorize_url(&s.app, &[]).replace("app.example.com", "evil.example.com"),
        ),
        (
            "fragment",
            authorize_url(&s.app, &[]).replace("%2Fcb", "%2Fcb%23frag"),
        ),
        (
            "huge state",
            authorize_url(&s.app, &[]).replace("state=st4te", &format!("state={huge_state}")),
        ),
        (
            "repeated parameter",
            format!("{}&client_id=web", authorize_url(&s.app, &[])),
        ),
    ] {
        let page = browser.get(&url).await.page();
        assert_eq!(page.status, 400, "{label}");
        assert_eq!(page.headers["x-frame-options"], "DENY", "{label}");
    }
    // Nothing was stored for any of them.
    assert!(browser.cookie("__Host-tessera_csrf").is_none());
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    for (label, url, error) in [
        (
            "no response_type",
            authorize_url(&s.app, &[]).replace("response_type=code&", ""),
            "invalid_request",
        ),
        (
            "token response_type",
            authorize_url(&s.app, &[]).replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            "only unavailable scopes",
            authorize_url(&s.app, &[]).replace("scope=openid+profile+email", "scope=admin+phone"),
            "invalid_scope",
        ),
        (
            "bad max_age",
            authorize_url(&s.app, &[("max_age", "-1")]),
            "invalid_request",
        ),
        (
            "prompt none+login",
            authorize_url(&s.app, &[("prompt", "none login")]),
            "invalid_request",
        ),
        (
            "request object",
            authorize_url(&s.app, &[("request", "eyJ9.e30.")]),
            "request_not_supported",
        ),
        // Found by the attack pass: these were ignored, and the code went to the query.
        (
            "response_mode=fragment",
            authorize_url(&s.app, &[("response_mode", "fragment")]),
            "invalid_request",
        ),
        (
            "response_mode=form_post",
            authorize_url(&s.app, &[("response_mode", "form_post")]),
            "invalid_request",
        ),
    ] {
        let back = browser.get(&url).await.client();
        let params = query(&back);
        assert_eq!(params["error"], error, "{label}");
        assert_eq!(params["state"], "st4te", "{label}");
        assert_eq!(params["iss"], s.app.base_url, "{label}");
    }
    // Scope values the provider does not offer this client are ignored (OpenID Connect Core §5.4),
    // and the token response says what was granted.
    let signed_in = Browser::new(&s.app.base_url);
    let landing = signed_in
        .get(&authorize_url(&s.app, &[]).replace("scope=openid", "scope=openid+address+admin"))
        .await;
    let back = log_in(&signed_in, landing, "ada@example.com", PASSWORD)
        .await
        .client();
    let (status, body) = exchange(&s, &query(&back)["code"]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "email openid profile");

    // Unknown parameters are ignored, and POST works like GET.
    let landing = browser
        .get(&authorize_url(
            &s.app,
            &[("ui_locales", "fr"), ("display", "page"), ("foo", "bar")],
        ))
        .await;
    assert_eq!(landing.page().status, 200);
    let fields: BTreeMap<String, String> = Url::parse(&authorize_url(&s.app, &[]))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let landing = browser.post_form(&s.app.url("/authorize"), &fields).await;
    assert!(landing.page().form().fields.contains_key("request"));
}

/// A pending sign-in advances only through the page the engine asked for: with a signed-in
/// browser, `prompt=login` parks the request for the login page, and posting that request to the
/// consent page instead (the attack pass's reauthentication bypass) gets no code and no tokens
/// with the old `auth_time`. The login page still works afterwards.
#[tokio::test]
async fn a_sign_in_waiting_for_the_login_page_cannot_be_posted_to_consent() {
    for first_party in [true, false] {
        let s = setup(first_party).await;
        let browser = Browser::new(&s.app.base_url);
        let landing = log_in(
            &browser,
            browser.get(&authorize_url(&s.app, &[])).await,
            "ada@example.com",
            PASSWORD,
        )
        .await;
        if !first_party {
            let consent = landing.page().form();
            browser
                .submit(&consent, &[("decision", "allow")])
                .await
                .client();
        }
        s.app.clock.advance(Duration::minutes(10));

        let login = browser
            .get(&authorize_url(&s.app, &[("prompt", "login")]))
            .await
            .page();
        let form = login.form();
        let mut fields = form.fields.clone();
        fields.insert("decision".into(), "allow".into());
        let skipped = browser.post_form(&s.app.url("/consent"), &fields).await;
        let Landing::Page(refused) = skipped else {
            panic!("posting the login step to /consent must not reach the client: {skipped:?}")
        };
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(refused.contains("expired"));

        // The real step still works, and brings a new auth_time.
        let landing = browser
            .submit(
                &form,
                &[("username", "ada@example.com"), ("password", PASSWORD)],
            )
            .await;
        // (For the third-party client, the consent remembered above covers the scope.)
        let back = landing.client();
        let (status, body) = exchange(&s, &query(&back)["code"]).await;
        assert_eq!(status, 200);
        assert_eq!(
            id_token_claims(&s, &body).await["auth_time"],
            s.app.clock.now_unix()
        );
    }
}

/// `max_age=0` asks for a fresh authentication, like `prompt=login` (OpenID Connect Core
/// §3.1.2.1): even in the very second of the last login, the login page comes back.
#[tokio::test]
async fn max_age_zero_forces_a_login_even_in_the_same_second() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .client();
    let landing = browser
        .get(&authorize_url(&s.app, &[("max_age", "0")]))
        .await;
    let Landing::Page(page) = landing else {
        panic!("max_age=0 must not be satisfied by the session: {landing:?}")
    };
    assert_eq!(page.status, 200);
    assert!(page.contains("Sign in to continue to Web App"));
}

/// The consent page of a sign-in belongs to the user who signed in: another user's browser that
/// got hold of the form and its CSRF cookie cannot answer it.
#[tokio::test]
async fn a_consent_page_is_only_for_the_user_who_signed_in() {
    let s = setup(false).await;
    let ada = Browser::new(&s.app.base_url);
    let consent = log_in(
        &ada,
        ada.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .page()
    .form();

    let bob = Browser::new(&s.app.base_url);
    let bobs_consent = log_in(
        &bob,
        bob.get(&authorize_url(&s.app, &[])).await,
        "bob@example.com",
        PASSWORD,
    )
    .await
    .page();
    assert!(bobs_consent.contains("bob@example.com"));
    bob.set_cookie(
        "__Host-tessera_csrf",
        &ada.cookie("__Host-tessera_csrf").unwrap(),
    );
    let landing = bob.submit(&consent, &[("decision", "allow")]).await;
    let Landing::Page(refused) = landing else {
        panic!("bob must not answer ada's consent: {landing:?}")
    };
    assert_eq!(refused.status, 400);

    // Ada's own answer still goes through.
    let back = ada
        .submit(&consent, &[("decision", "allow")])
        .await
        .client();
    let (status, _) = exchange(&s, &query(&back)["code"]).await;
    assert_eq!(status, 200);
}

/// The other way round: a sign-in waiting for the consent page cannot be posted to the login
/// page either. Each page's POST is taken only in its own stage.
#[tokio::test]
async fn a_sign_in_waiting_for_consent_cannot_be_posted_to_the_login_page() {
    let s = setup(false).await;
    let browser = Browser::new(&s.app.base_url);
    let consent = log_in(
        &browser,
        browser.get(&authorize_url(&s.app, &[])).await,
        "ada@example.com",
        PASSWORD,
    )
    .await
    .page()
    .form();
    let mut fields = consent.fields.clone();
    fields.insert("username".into(), "ada@example.com".into());
    fields.insert("password".into(), PASSWORD.into());
    let landing = browser.post_form(&s.app.url("/login"), &fields).await;
    let Landing::Page(refused) = landing else {
        panic!("the consent step posted to /login must not reach the client: {landing:?}")
    };
    assert_eq!(refused.status, 400, "{}", refused.html);

    let back = browser
        .submit(&consent, &[("decision", "allow")])
        .await
        .client();
    let (status, _) = exchange(&s, &query(&back)["code"]).await;
    assert_eq!(status, 200);
}

/// `prompt=consent` shows the consent page even to a first-party client (it was ignored); the
/// user's answer then decides, and without the page no code is issued.
#[tokio::test]
async fn prompt_consent_asks_even_for_a_first_party_client() {
    let s = setup(true).await;
    let browser = Browser::new(&s.app.base_url);
    let landing = log_in(
        &browser,
        browser
            .get(&authorize_url(&s.app, &[("prompt", "consent")]))
            .await,
        "ada@example.com",
        PASSWORD,
    )
    .await;
    let page = landing.page();
    assert!(
        page.contains("wants to access your account"),
        "{}",
        page.html
    );
    let back = browser
        .submit(&page.form(), &[("decision", "deny")])
        .await
        .client();
    assert_eq!(query(&back)["error"], "access_denied");
    // Signed in now, the same request asks again rather than answering at once.
    let page = browser
        .get(&authorize_url(&s.app, &[("prompt", "consent")]))
        .await
        .page();
    assert!(
        page.contains("wants to access your account"),
        "{}",
        page.html
    );
    let back = browser
        .submit(&page.form(), &[("decision", "allow")])
        .await
        .client();
    assert!(query(&back).contains_key("code"), "{back}");
}

/// A `POST /authorize` body over the limit is 413, as documented (it answered 400).
#[tokio::test]
async fn an_oversized_authorize_post_is_413() {
    let s = setup(true).await;
    let limit = s.app.state.settings.max_body_bytes;
    let response = s
        .app
        .http
        .post(s.app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("client_id=web&state={}", "a".repeat(limit + 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

/// A confidential client registered with `require_pkce` (RFC 9700 §2.1.1) has authorization
/// requests without PKCE refused; with an S256 challenge they proceed. Clients without the flag
/// keep working without PKCE.
#[tokio::test]
async fn a_client_that_requires_pkce_has_requests_without_it_refused() {
    let s = setup(true).await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(NewClient {
            id: "strict".into(),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: true,
            require_pkce: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let browser = Browser::new(&s.app.base_url);
    let strict = |extra: &[(&str, &str)]| {
        authorize_url(&s.app, extra).replace("client_id=web", "client_id=strict")
    };
    let back = browser.get(&strict(&[])).await.client();
    let params = query(&back);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("PKCE"), "{params:?}");
    let landing = browser
        .get(&strict(&[
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    assert!(landing.page().form().fields.contains_key("request"));
    // The flag is per client: `web` still signs in without PKCE.
    let landing = browser.get(&authorize_url(&s.app, &[])).await;
    assert!(landing.page().form().fields.contains_key("request"));
}
