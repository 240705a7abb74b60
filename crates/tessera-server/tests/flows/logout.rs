//! RP-initiated logout (`/logout`) over real HTTP: sign-ins go through the hosted pages with a
//! cookie-keeping test browser, tokens come from the token endpoint, and the effects of a logout
//! are observed where a client and a resource server would see them: the next `/authorize`, the
//! refresh grant and introspection.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use tessera_core::NewClient;
use tessera_testkit::browser::{Browser, Landing};
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;
use url::Url;

const REDIRECT: &str = "https://app.example.com/cb";
/// Registered with a query of its own, which the redirect must keep.
const POST_LOGOUT: &str = "https://app.example.com/logged-out?from=op";
const OTHER_POST_LOGOUT: &str = "https://other.example.com/bye";
const PASSWORD: &str = "correct horse battery staple";
const SESSION_COOKIE: &str = "__Host-tessera_session";
const CSRF_COOKIE: &str = "__Host-tessera_csrf";
/// A `state` that needs encoding.
const STATE: &str = "s t&a=te/ü";

struct Setup {
    app: TestApp,
    web_secret: String,
    other_secret: String,
    api_secret: String,
}

/// Tokens of one sign-in.
#[derive(Debug, Clone)]
struct Tokens {
    id_token: String,
    access_token: String,
    refresh_token: String,
}

/// Two first-party clients with post-logout redirect URIs (`web`, `other`), a resource server
/// for introspection (`api`), and the users Ada and Bob.
async fn setup() -> Setup {
    let app = spawn_app().await;
    let mut secrets = Vec::new();
    for (id, post_logout) in [("web", POST_LOGOUT), ("other", OTHER_POST_LOGOUT)] {
        let (_, secret) = app
            .state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_client(NewClient {
                id: id.into(),
                name: Some(format!("App {id}")),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![post_logout.into()],
                is_first_party: true,
                ..Default::default()
            })
            .await
            .unwrap();
        secrets.push(secret.unwrap().expose().to_owned());
    }
    let api_secret = app.add_resource_server("api", &[]).await;
    for email in ["ada@example.com", "bob@example.com"] {
        app.state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_user(tessera_server::admin::AddUser {
                email: (email).to_string(),
                name: None,
                roles: vec![],
                password: Some(PASSWORD.to_owned().into()),
            })
            .await
            .unwrap();
    }
    let other_secret = secrets.pop().unwrap();
    let web_secret = secrets.pop().unwrap();
    Setup {
        app,
        web_secret,
        other_secret,
        api_secret,
    }
}

fn authorize_url(app: &TestApp, client_id: &str) -> String {
    let mut url = Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "st4te");
    url.to_string()
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&app.url("/logout")).unwrap();
    if !params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    url.to_string()
}

fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

impl Setup {
    fn secret(&self, client_id: &str) -> &str {
        match client_id {
            "web" => &self.web_secret,
            "other" => &self.other_secret,
            _ => panic!("no client {client_id}"),
        }
    }

    /// Signs `email` in to `client_id` in `browser` (through the login page unless the browser
    /// has a session) and exchanges the code.
    async fn sign_in(&self, browser: &Browser, client_id: &str, email: &str) -> Tokens {
        let back = match browser.get(&authorize_url(&self.app, client_id)).await {
            Landing::Client(url) => url,
            Landing::Page(page) => {
                assert_eq!(page.status, 200, "{}", page.html);
                let form = page.form();
                browser
                    .submit(&form, &[("username", email), ("password", PASSWORD)])
                    .await
                    .client()
            }
        };
        let code = query(&back)["code"].clone();
        let response = self
            .app
            .http
            .post(self.app.url("/oauth/token"))
            .basic_auth(client_id, Some(self.secret(client_id)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let field = |name: &str| body[name].as_str().expect(name).to_owned();
        Tokens {
            id_token: field("id_token"),
            access_token: field("access_token"),
            refresh_token: field("refresh_token"),
        }
    }

    /// Uses a refresh token as `web`; the status and the body.
    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let response = self
            .app
            .http
            .post(self.app.url("/oauth/token"))
            .basic_auth("web", Some(&self.web_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Whether the resource server is told the access token is active.
    async fn active(&self, access_token: &str) -> bool {
        let response = self
            .app
            .http
            .post(self.app.url("/oauth/introspect"))
            .basic_auth("api", Some(&self.api_secret))
            .form(&[("token", access_token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["active"].as_bool().expect("active is a boolean")
    }

    /// Whether the browser would have to log in on its next sign-in (no live session).
    async fn must_log_in(&self, browser: &Browser) -> bool {
        match browser.get(&authorize_url(&self.app, "web")).await {
            Landing::Page(page) => {
                assert!(page.contains("Sign in to continue"), "{}", page.html);
                true
            }
            Landing::Client(url) => {
                assert!(query(&url).contains_key("code"), "{url}");
                false
            }
        }
    }

    /// The sign-in's session is alive: the access token is active and the browser signs in
    /// silently. (Refresh tokens are checked separately, since using one rotates it.)
    async fn assert_alive(&self, browser: &Browser, tokens: &Tokens) {
        assert!(
            self.active(&tokens.access_token).await,
            "access token active"
        );
        assert!(
            !self.must_log_in(browser).await,
            "the session is still live"
        );
    }

    /// The sign-in's session has ended everywhere it shows.
    async fn assert_ended(&self, tokens: &Tokens) {
        let (status, body) = self.refresh(&tokens.refresh_token).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert!(
            !self.active(&tokens.access_token).await,
            "access token inactive"
        );
    }

    /// A raw GET of `/logout` with `params`, carrying `browser`'s cookies when given.
    async fn raw_logout(
        &self,
        params: &[(&str, &str)],
        browser: Option<&Browser>,
    ) -> reqwest::Response {
        let mut request = self.app.http.get(logout_url(&self.app, params));
        if let Some(cookie) = browser.and_then(cookie_header) {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }
}

fn cookie_header(browser: &Browser) -> Option<String> {
    let cookies: Vec<String> = [SESSION_COOKIE, CSRF_COOKIE]
        .iter()
        .filter_map(|name| browser.cookie(name).map(|v| format!("{name}={v}")))
        .collect();
    (!cookies.is_empty()).then(|| cookies.join("; "))
}

fn assert_no_store(response: &reqwest::Response) {
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// Replaces the payload of `token` with `payload` (JSON), keeping the header and signature.
fn with_payload(token: &str, payload: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    )
}

fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

#[tokio::test]
async fn a_valid_hint_ends_its_session_and_redirects_with_state() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    // Ada on another device: a session that must survive.
    let laptop = Browser::new(&s.app.base_url);
    let kept = s.sign_in(&laptop, "web", "ada@example.com").await;
    let old_cookie = browser.cookie(SESSION_COOKIE).unwrap();

    let response = s
        .raw_logout(
            &[
                ("id_token_hint", &tokens.id_token),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", STATE),
            ],
            Some(&browser),
        )
        .await;
    assert_eq!(response.status(), 302);
    assert_no_store(&response);
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location.as_str().starts_with(POST_LOGOUT),
        "the registered URI with its query: {location}"
    );
    let params = query(&location);
    assert_eq!(params["from"], "op");
    assert_eq!(params["state"], STATE);
    assert_eq!(params.len(), 2, "nothing but state is added: {location}");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-tessera_session=;") && set_cookie.contains("Max-Age=0"),
        "the session cookie is cleared: {set_cookie}"
    );

    s.assert_ended(&tokens).await;
    // Even with the old cookie, the browser must log in again: the session is gone.
    assert!(s.must_log_in(&browser).await);
    browser.set_cookie(SESSION_COOKIE, &old_cookie);
    assert!(s.must_log_in(&browser).await);

    // The other session of the same user is untouched.
    s.assert_alive(&laptop, &kept).await;
    let (status, body) = s.refresh(&kept.refresh_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_client_id_may_accompany_the_hint_and_the_browser_cookie_is_cleared() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let back = browser
        .get(&logout_url(
            &s.app,
            &[
                ("id_token_hint", &tokens.id_token),
                ("client_id", "web"),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("ui_locales", "fr en"),
                ("logout_hint", "ada@example.com"),
            ],
        ))
        .await
        .client();
    assert_eq!(back.as_str(), POST_LOGOUT, "no state, nothing added");
    assert_eq!(browser.cookie(SESSION_COOKIE), None);
    s.assert_ended(&tokens).await;
}

#[tokio::test]
async fn an_expired_hint_still_ends_the_session_of_the_browser_that_holds_it() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let exp = payload(&tokens.id_token)["exp"].as_i64().unwrap();
    s.app.clock.advance(Duration::minutes(20));
    assert!(s.app.clock.now_unix() > exp, "the hint has expired");
    assert!(!s.must_log_in(&browser).await, "the session has not");

    let response = s
        .raw_logout(
            &[
                ("id_token_hint", &tokens.id_token),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", "x"),
            ],
            Some(&browser),
        )
        .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        query(&Url::parse(response.headers()["location"].to_str().unwrap()).unwrap())["state"],
        "x"
    );
    s.assert_ended(&tokens).await;
}

/// Issue 14 #4: a hint sent without the browser session it names (another browser, the
/// attacker's own, a client's back end: no cookie) used to end the victim's session silently.
/// It ends nothing now; the redirect goes back as for any request without a session.
#[tokio::test]
async fn a_hint_from_a_browser_without_its_session_ends_nothing() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;

    let response = s
        .raw_logout(
            &[
                ("id_token_hint", &tokens.id_token),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", "x"),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 302);
    assert!(response.headers().get("set-cookie").is_none());
    // A cross-site POST (no cookie either) gets the confirmation page, and ends nothing.
    let response = s
        .app
        .http
        .post(s.app.url("/logout"))
        .form(&[("id_token_hint", tokens.id_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Sign out?"));

    assert!(!s.must_log_in(&browser).await, "the session lives");
    s.assert_alive(&browser, &tokens).await;
}

#[tokio::test]
async fn without_a_redirect_uri_the_signed_out_page_is_shown() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let page = browser
        .get(&logout_url(&s.app, &[("id_token_hint", &tokens.id_token)]))
        .await
        .page();
    assert_eq!(page.status, 200);
    assert!(page.contains("You are signed out"), "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(browser.cookie(SESSION_COOKIE), None);
    s.assert_ended(&tokens).await;
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_refused_and_ends_nothing() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    for uri in [
        "https://evil.example/",
        "https://app.example.com/logged-out",
        "https://app.example.com/logged-out?from=op&x=1",
        // Registered, but by another client.
        OTHER_POST_LOGOUT,
    ] {
        let response = s
            .raw_logout(
                &[
                    ("id_token_hint", &tokens.id_token),
                    ("post_logout_redirect_uri", uri),
                    ("state", "x"),
                ],
                Some(&browser),
            )
            .await;
        assert_eq!(response.status(), 400, "{uri}");
        assert_no_store(&response);
        assert!(response.headers().get("location").is_none());
        assert!(response.headers().get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("not registered"), "{html}");
    }
    // A URI with no client to check it against.
    let response = s
        .raw_logout(&[("post_logout_redirect_uri", POST_LOGOUT)], Some(&browser))
        .await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    s.assert_alive(&browser, &tokens).await;
    let (status, body) = s.refresh(&tokens.refresh_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn forged_or_foreign_hints_are_refused_and_end_nothing() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let bob = Browser::new(&s.app.base_url);
    let bob_tokens = s.sign_in(&bob, "web", "bob@example.com").await;

    // Ada's signature over Bob's claims.
    let swapped = with_payload(&tokens.id_token, &payload(&bob_tokens.id_token));
    // Ada's claims with one signature character changed (in the middle: every bit counts).
    let mut flipped: Vec<char> = tokens.id_token.chars().collect();
    let middle = tokens.id_token.rfind('.').unwrap() + 20;
    flipped[middle] = if flipped[middle] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    // An unsigned token with Ada's claims.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        tokens.id_token.split('.').nth(1).unwrap()
    );
    for hint in [
        "garbage",
        "a.b.c",
        swapped.as_str(),
        flipped.as_str(),
        unsigned.as_str(),
        // Signed by Tessera, but an access token, not an ID token.
        tokens.access_token.as_str(),
    ] {
        let response = s
            .raw_logout(
                &[
                    ("id_token_hint", hint),
                    ("post_logout_redirect_uri", POST_LOGOUT),
                ],
                Some(&browser),
            )
            .await;
        assert_eq!(response.status(), 400, "{hint}");
        assert_no_store(&response);
        assert!(response.headers().get("location").is_none());
        assert!(response.headers().get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("invalid_request"), "{html}");
    }
    s.assert_alive(&browser, &tokens).await;
    s.assert_alive(&bob, &bob_tokens).await;
    let (status, body) = s.refresh(&tokens.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.refresh(&bob_tokens.refresh_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_client_must_be_known_and_an_audience_of_the_hint() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let cases: [&[(&str, &str)]; 5] = [
        // The hint was issued to web, not other.
        &[("id_token_hint", &tokens.id_token), ("client_id", "other")],
        &[
            ("id_token_hint", &tokens.id_token),
            ("client_id", "other"),
            ("post_logout_redirect_uri", OTHER_POST_LOGOUT),
        ],
        // Unknown clients.
        &[("client_id", "nobody")],
        &[("client_id", "not a valid id!")],
        // Repeated parameters.
        &[("client_id", "web"), ("client_id", "web")],
    ];
    for params in cases {
        let response = s.raw_logout(params, Some(&browser)).await;
        assert_eq!(response.status(), 400, "{params:?}");
        assert_no_store(&response);
        assert!(response.headers().get("location").is_none());
    }
    // A POST that is not a form.
    let response = s
        .app
        .http
        .post(s.app.url("/logout"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    s.assert_alive(&browser, &tokens).await;
}

#[tokio::test]
async fn without_a_hint_the_user_must_confirm_with_the_csrf_token() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let request = [
        ("client_id", "web"),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", STATE),
    ];

    // The GET only asks.
    let page = browser.get(&logout_url(&s.app, &request)).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.contains("Sign out?") && page.contains("ada@example.com"));
    let form = page.form();
    assert_eq!(form.action.as_str(), s.app.url("/logout"));
    for (name, value) in request {
        assert_eq!(form.fields[name], value, "{name} is carried");
    }
    assert!(browser.cookie(SESSION_COOKIE).is_some());
    s.assert_alive(&browser, &tokens).await;

    // A POST without `confirm` (say, a client sending its logout request by POST) only asks.
    let landing = browser.submit(&form, &[]).await.page();
    assert_eq!(landing.status, 200);
    assert!(landing.contains("Sign out?"));
    s.assert_alive(&browser, &tokens).await;

    // Confirmations without the CSRF proof end nothing.
    let mut without_token = form.fields.clone();
    without_token.remove("csrf_token");
    without_token.insert("confirm".into(), "yes".into());
    let page = browser
        .post_form(form.action.as_str(), &without_token)
        .await
        .page();
    assert_eq!(page.status, 400);
    assert!(page.contains("Sign out?"), "asks again: {}", page.html);
    let page = browser
        .submit(&form, &[("confirm", "yes"), ("csrf_token", "forged")])
        .await
        .page();
    assert_eq!(page.status, 400);
    // A cross-site form: the session cookie is sent, the CSRF cookie and token are unknown.
    let response = s
        .app
        .http
        .post(s.app.url("/logout"))
        .header(
            "cookie",
            format!(
                "{SESSION_COOKIE}={}",
                browser.cookie(SESSION_COOKIE).unwrap()
            ),
        )
        .form(&[("confirm", "yes"), ("csrf_token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(browser.cookie(SESSION_COOKIE).is_some());
    s.assert_alive(&browser, &tokens).await;

    // The user confirms.
    let page = browser.get(&logout_url(&s.app, &request)).await.page();
    let back = browser
        .submit(&page.form(), &[("confirm", "yes")])
        .await
        .client();
    assert!(back.as_str().starts_with(POST_LOGOUT), "{back}");
    assert_eq!(query(&back)["state"], STATE);
    assert_eq!(browser.cookie(SESSION_COOKIE), None);
    s.assert_ended(&tokens).await;
    assert!(s.must_log_in(&browser).await);
}

#[tokio::test]
async fn a_confirmation_without_a_client_shows_the_signed_out_page_and_may_be_repeated() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let page = browser.get(&s.app.url("/logout")).await.page();
    let form = page.form();
    let mut fields = form.fields.clone();
    fields.insert("confirm".into(), "yes".into());
    let response = s
        .app
        .http
        .post(form.action.as_str())
        .header("cookie", cookie_header(&browser).unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no client, no redirect");
    assert_no_store(&response);
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("You are signed out"));
    s.assert_ended(&tokens).await;

    // The same confirmation again (a replay, or a second click): harmless.
    let response = s
        .app
        .http
        .post(form.action.as_str())
        .header("cookie", cookie_header(&browser).unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("You are signed out"));

    // A confirmation that may redirect answers a POST with 303 See Other.
    fields.insert("client_id".into(), "web".into());
    fields.insert("post_logout_redirect_uri".into(), POST_LOGOUT.into());
    let response = s
        .app
        .http
        .post(form.action.as_str())
        .header("cookie", cookie_header(&browser).unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_no_store(&response);
    assert_eq!(response.headers()["location"], POST_LOGOUT);
}

#[tokio::test]
async fn logout_without_a_session_shows_the_signed_out_page_or_redirects() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let page = browser.get(&s.app.url("/logout")).await.page();
    assert_eq!(page.status, 200);
    assert!(page.contains("You are signed out"), "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");

    let back = browser
        .get(&logout_url(
            &s.app,
            &[
                ("client_id", "web"),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", "abc"),
            ],
        ))
        .await
        .client();
    assert!(back.as_str().starts_with(POST_LOGOUT));
    assert_eq!(query(&back)["state"], "abc");

    // A stale cookie is cleared.
    browser.set_cookie(SESSION_COOKIE, "stale-secret");
    let page = browser.get(&s.app.url("/logout")).await.page();
    assert!(page.contains("You are signed out"));
    assert_eq!(browser.cookie(SESSION_COOKIE), None);
}

#[tokio::test]
async fn the_same_logout_twice_is_harmless() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let tokens = s.sign_in(&browser, "web", "ada@example.com").await;
    let url = logout_url(
        &s.app,
        &[
            ("id_token_hint", &tokens.id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", "1"),
        ],
    );
    for _ in 0..2 {
        let back = browser.get(&url).await.client();
        assert_eq!(query(&back)["state"], "1");
    }
    s.assert_ended(&tokens).await;

    // Signing in again gives a new session, which the old hint does not end: the user is
    // asked whether to end it (issue 14 #4).
    let again = s.sign_in(&browser, "web", "ada@example.com").await;
    let page = browser.get(&url).await.page();
    assert!(page.contains("Sign out?"), "{}", page.html);
    assert!(
        browser.cookie(SESSION_COOKIE).is_some(),
        "another session's cookie stays"
    );
    s.assert_alive(&browser, &again).await;
}

/// Issue 14 #4: a hint for another session (Bob's, leaked or stale, in Ada's browser) ends
/// nothing by itself: Ada is asked whether to end her own session, and Bob's lives on.
#[tokio::test]
async fn a_hint_for_another_session_asks_and_ends_only_the_browsers_own() {
    let s = setup().await;
    let bob = Browser::new(&s.app.base_url);
    let bob_tokens = s.sign_in(&bob, "web", "bob@example.com").await;
    let ada = Browser::new(&s.app.base_url);
    let ada_tokens = s.sign_in(&ada, "web", "ada@example.com").await;
    let page = ada
        .get(&logout_url(
            &s.app,
            &[("id_token_hint", &bob_tokens.id_token), ("state", "z")],
        ))
        .await
        .page();
    assert_eq!(page.status, 200);
    s.assert_alive(&bob, &bob_tokens).await;
    s.assert_alive(&ada, &ada_tokens).await;

    // Ada is offered to end her own session; confirming ends hers, whatever hint the form
    // carries back.
    assert!(page.contains("Sign out?") && page.contains("ada@example.com"));
    let form = page.form();
    assert_eq!(form.fields["state"], "z");
    let page = ada.submit(&form, &[("confirm", "yes")]).await.page();
    assert!(page.contains("You are signed out"), "{}", page.html);
    assert_eq!(ada.cookie(SESSION_COOKIE), None);
    s.assert_ended(&ada_tokens).await;
    s.assert_alive(&bob, &bob_tokens).await;
}
