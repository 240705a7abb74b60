//! Second factors over real HTTP: an authenticator app (TOTP) turned on at `/account/totp`,
//! asked after the password when a client requests the MFA `acr`, and asked alone to step up
//! a password-only session. The codes are computed by an independent implementation (the
//! `totp-rs` crate) from the key the enrolment page shows, against the server's clock.

use serde_json::Value;
use std::collections::BTreeMap;
use tessera_core::sign_in::ACR_MFA;
use tessera_core::Clock;
use tessera_core::NewClient;
use tessera_testkit::browser::{Browser, Landing, Page};
use tessera_testkit::independent::verify_via_discovery;
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;
use totp_rs::{Algorithm, Secret, TOTP};
use url::Url;

pub(super) const REDIRECT: &str = "https://app.example.com/cb";
pub(super) const PASSWORD: &str = "correct horse battery staple";

pub(super) struct Setup {
    pub(super) app: TestApp,
    pub(super) secret: String,
}

pub(super) async fn setup() -> Setup {
    with_client_and_ada(spawn_app().await).await
}

/// The first-party confidential client `web` and the user ada@example.com on `app`.
pub(super) async fn with_client_and_ada(app: TestApp) -> Setup {
    let web = app
        .register_client(NewClient {
            id: "web".into(),
            name: Some("Web App".into()),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: true,
            ..Default::default()
        })
        .await;
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: "ada@example.com".into(),
            name: Some("Ada Lovelace".into()),
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    Setup {
        secret: web.secret.expect("a confidential client"),
        app,
    }
}

pub(super) fn authorize_url(app: &TestApp, acr_values: Option<&str>) -> String {
    let mut url = Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", "web")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "openid")
            .append_pair("state", "st4te");
        if let Some(acr) = acr_values {
            q.append_pair("acr_values", acr);
        }
    }
    url.to_string()
}

pub(super) async fn password(browser: &Browser, landing: Landing) -> Landing {
    let form = landing.page().form();
    browser
        .submit(
            &form,
            &[("username", "ada@example.com"), ("password", PASSWORD)],
        )
        .await
}

/// The code-exchange answer for the code in `back`.
pub(super) async fn exchange(s: &Setup, back: Url) -> Value {
    let params: BTreeMap<String, String> = back.query_pairs().into_owned().collect();
    let response = s
        .app
        .http
        .post(s.app.url("/oauth/token"))
        .basic_auth("web", Some(&s.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The code-exchange answer's ID token claims, verified by an independent library.
pub(super) async fn id_token_after(s: &Setup, back: Url) -> Value {
    let body = exchange(s, back).await;
    verify_via_discovery(
        &s.app.http,
        &s.app.base_url,
        body["id_token"].as_str().unwrap(),
        "web",
        "JWT",
    )
    .await
    .expect("the ID token verifies")
    .claims
}

/// The text of `<code id="ID">` on `page`.
pub(super) fn code_text(page: &Page, id: &str) -> String {
    let start = format!("<code id=\"{id}\">");
    let from = page.html.find(&start).expect("the element") + start.len();
    let len = page.html[from..].find("</code>").unwrap();
    page.html[from..from + len]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The authenticator app: an independent TOTP implementation holding the key the page showed.
pub(super) struct App(TOTP);

impl App {
    pub(super) fn from_key(base32: &str) -> Self {
        let bytes = Secret::Encoded(base32.to_owned()).to_bytes().unwrap();
        Self(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes))
    }

    pub(super) fn code(&self, app: &TestApp) -> String {
        let now = app.clock.now().unix_timestamp() as u64;
        self.0.generate(now)
    }
}

/// Signs `browser` in with the password alone, then turns on an authenticator app on the
/// account page. Returns the app and the code that confirmed it.
pub(super) async fn enrol(s: &Setup, browser: &Browser) -> (App, String) {
    let back = password(browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    assert!(back.as_str().starts_with(REDIRECT));
    let page = browser.get(&s.app.url("/account/totp")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.contains("<svg"), "a QR code is shown");
    let key = code_text(&page, "totp-key");
    let uri = code_text(&page, "totp-uri");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={key}")),
        "{uri}"
    );
    let app = App::from_key(&key);
    let code = app.code(&s.app);
    let done = browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .page();
    assert_eq!(done.status, 200, "{}", done.html);
    assert!(done.contains("Authenticator app turned on"));
    (app, code)
}

#[tokio::test]
async fn an_enrolled_authenticator_is_asked_after_the_password_when_mfa_is_requested() {
    let s = setup().await;
    let (app, enrolment_code) = enrol(&s, &Browser::new(&s.app.base_url)).await;

    let browser = Browser::new(&s.app.base_url);
    let landing = browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await;
    let page = password(&browser, landing).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "{}",
        page.url
    );
    assert!(
        browser.cookie("__Host-tessera_session").is_none(),
        "no session before the factor"
    );

    // The confirming code's time step is spent: it cannot serve again as a sign-in code.
    let form = page.form();
    let replay = browser
        .submit(&form, &[("code", enrolment_code.as_str())])
        .await
        .page();
    assert_eq!(replay.status, 401, "{}", replay.html);
    assert!(replay.contains("not accepted"));

    s.app.clock.advance(Duration::seconds(30));
    let code = app.code(&s.app);
    let back = browser
        .submit(&replay.form(), &[("code", code.as_str())])
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The same code in another sign-in, within its window: refused (used once).
    let other = Browser::new(&s.app.base_url);
    let page = password(
        &other,
        other.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let replayed = other
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .page();
    assert_eq!(
        replayed.status, 401,
        "a used code is refused: {}",
        replayed.html
    );
    assert!(
        s.app
            .probe
            .find_totp_factor(&ada_id(&s).await)
            .await
            .unwrap()
            .unwrap()
            .last_used_step
            == Some(s.app.clock.now().unix_timestamp() / 30),
        "the step used is stored"
    );

    // Without acr_values, the password alone still signs in (the factor is voluntary).
    let plain = Browser::new(&s.app.base_url);
    let back = password(&plain, plain.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
}

pub(super) async fn ada_id(s: &Setup) -> tessera_core::UserId {
    s.app
        .probe
        .find_user_by_email(&tessera_core::Email::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_password_session_steps_up_with_the_factor_alone_and_keeps_its_auth_time() {
    let s = setup().await;
    let browser = Browser::new(&s.app.base_url);
    let (app, _) = enrol(&s, &browser).await;
    let signed_in_at = s.app.clock.now().unix_timestamp();

    s.app.clock.advance(Duration::seconds(60));
    let page = browser
        .get(&authorize_url(&s.app, Some(ACR_MFA)))
        .await
        .page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "only the factor is asked: {}",
        page.url
    );
    let code = app.code(&s.app);
    let back = browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["auth_time"], signed_in_at);

    // The session now records both factors: asking again needs no page.
    let back = browser
        .get(&authorize_url(&s.app, Some(ACR_MFA)))
        .await
        .client();
    assert_eq!(id_token_after(&s, back).await["acr"], ACR_MFA);
}

#[tokio::test]
async fn the_factor_page_cannot_be_skipped_or_posted_from_another_stage() {
    let s = setup().await;
    enrol(&s, &Browser::new(&s.app.base_url)).await;
    let browser = Browser::new(&s.app.base_url);
    let page = password(
        &browser,
        browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let form = page.form();
    // The pending sign-in waits for the factor: the consent and login pages refuse it.
    for path in ["/consent", "/login"] {
        let mut fields = form.fields.clone();
        fields.insert("decision".into(), "allow".into());
        fields.insert("username".into(), "ada@example.com".into());
        fields.insert("password".into(), PASSWORD.into());
        let refused = browser.post_form(&s.app.url(path), &fields).await.page();
        assert_eq!(refused.status, 400, "{path}: {}", refused.html);
    }
    assert!(browser.cookie("__Host-tessera_session").is_none());

    // And the factor page refuses a sign-in still waiting for its password.
    let fresh = browser
        .get(&authorize_url(&s.app, Some(ACR_MFA)))
        .await
        .page();
    let mut fields = fresh.form().fields;
    fields.insert("code".into(), "123456".into());
    let refused = browser
        .post_form(&s.app.url("/login/second-factor"), &fields)
        .await
        .page();
    assert_eq!(refused.status, 400, "{}", refused.html);
}

#[tokio::test]
async fn wrong_codes_lock_the_factor_for_the_account() {
    let s = setup().await;
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    s.app.clock.advance(Duration::seconds(30));
    let browser = Browser::new(&s.app.base_url);
    let mut page = password(
        &browser,
        browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let right = app.code(&s.app);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        page = browser
            .submit(&page.form(), &[("code", wrong)])
            .await
            .page();
        statuses.push(page.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{}", page.html);
    assert!(page.headers.contains_key("retry-after"));
    // While locked, even the right code is not checked.
    let locked = browser
        .submit(&page.form(), &[("code", right.as_str())])
        .await
        .page();
    assert_eq!(locked.status, 429);
}

#[tokio::test]
async fn enrolment_needs_a_recent_sign_in_its_own_csrf_token_and_a_right_code() {
    let s = setup().await;
    let nobody = Browser::new(&s.app.base_url);
    assert_eq!(
        nobody.get(&s.app.url("/account/totp")).await.page().status,
        401
    );

    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = browser.get(&s.app.url("/account/totp")).await.page();
    let app = App::from_key(&code_text(&page, "totp-key"));
    let ada = ada_id(&s).await;

    let wrong = browser
        .submit(&page.form(), &[("code", "12345")])
        .await
        .page();
    assert_eq!(wrong.status, 401, "{}", wrong.html);
    let mut forged = page.form().fields;
    forged.insert("csrf_token".into(), "not-the-cookie".into());
    forged.insert("code".into(), app.code(&s.app));
    let refused = browser
        .post_form(&s.app.url("/account/totp"), &forged)
        .await
        .page();
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(s.app.probe.find_totp_factor(&ada).await.unwrap().is_none());

    // Five minutes later the same session may no longer change its factors.
    s.app
        .clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    let late = browser
        .submit(&page.form(), &[("code", app.code(&s.app).as_str())])
        .await
        .page();
    assert_eq!(late.status, 403, "{}", late.html);
    assert_eq!(
        browser.get(&s.app.url("/account/totp")).await.page().status,
        403
    );
    assert!(s.app.probe.find_totp_factor(&ada).await.unwrap().is_none());
}

#[tokio::test]
async fn operators_unlock_list_and_reset_a_users_factors() {
    let s = setup().await;
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    let operator = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap());
    let listed = tessera_server::admin::list_second_factors(&*s.app.probe, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, "totp");

    // Locked by wrong codes, then unlocked by an operator: the right code goes through.
    s.app.clock.advance(Duration::seconds(30));
    let browser = Browser::new(&s.app.base_url);
    let mut page = password(
        &browser,
        browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    while page.status != 429 {
        page = browser
            .submit(&page.form(), &[("code", "99999a")])
            .await
            .page();
    }
    operator.unlock_user("ada@example.com").await.unwrap();
    let code = app.code(&s.app);
    browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();

    // A lost phone: after the reset the password alone signs in, at the password's level.
    assert_eq!(
        operator
            .reset_second_factors("ada@example.com")
            .await
            .unwrap(),
        1
    );
    let fresh = Browser::new(&s.app.base_url);
    let back = password(
        &fresh,
        fresh.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], "urn:tessera:acr:password");
    assert!(
        tessera_server::admin::list_second_factors(&*s.app.probe, "ada@example.com")
            .await
            .unwrap()
            .is_empty()
    );
}

/// The codes listed on the recovery-codes page just made.
fn shown_codes(page: &Page) -> Vec<String> {
    let list = &page.html[page
        .html
        .find("<ol id=\"recovery-codes\">")
        .expect("the codes")..];
    let list = &list[..list.find("</ol>").unwrap()];
    list.split("<code>")
        .skip(1)
        .map(|item| item[..item.find("</code>").unwrap()].to_owned())
        .collect()
}

/// Signs `browser` in with the password alone and makes a new set of recovery codes.
async fn make_codes(s: &Setup, browser: &Browser) -> Vec<String> {
    if browser.cookie("__Host-tessera_session").is_none() {
        password(browser, browser.get(&authorize_url(&s.app, None)).await)
            .await
            .client();
    }
    let page = browser
        .get(&s.app.url("/account/recovery-codes"))
        .await
        .page();
    assert_eq!(page.status, 200, "{}", page.html);
    let made = browser.submit(&page.form(), &[]).await.page();
    assert_eq!(made.status, 200, "{}", made.html);
    assert_eq!(made.headers["cache-control"], "no-store");
    let codes = shown_codes(&made);
    assert_eq!(codes.len(), 10, "{}", made.html);
    codes
}

/// A sign-in with MFA requested, up to the second-factor page.
async fn to_factor_page(s: &Setup) -> (Browser, Page) {
    let browser = Browser::new(&s.app.base_url);
    let page = password(
        &browser,
        browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "{}",
        page.url
    );
    (browser, page)
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_a_new_set_replaces_the_old() {
    let s = setup().await;
    let owner = Browser::new(&s.app.base_url);
    let codes = make_codes(&s, &owner).await;

    let (browser, page) = to_factor_page(&s).await;
    assert!(page.contains("Recovery code") && !page.contains("authenticator app"));
    // Typed sloppily (upper case, a space for the hyphen): still the code.
    let sloppy = codes[0].to_uppercase().replace('-', " ");
    let back = browser
        .submit(&page.form(), &[("recovery_code", sloppy.as_str())])
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // Used once.
    let (browser, page) = to_factor_page(&s).await;
    let again = browser
        .submit(&page.form(), &[("recovery_code", codes[0].as_str())])
        .await
        .page();
    assert_eq!(again.status, 401, "{}", again.html);

    // A new set: every old code stops working, used or not.
    let fresh = make_codes(&s, &owner).await;
    assert!(fresh.iter().all(|code| !codes.contains(code)));
    let old = browser
        .submit(&again.form(), &[("recovery_code", codes[1].as_str())])
        .await
        .page();
    assert_eq!(old.status, 401, "{}", old.html);
    browser
        .submit(&old.form(), &[("recovery_code", fresh[1].as_str())])
        .await
        .client();

    let audit = s.app.probe.recent_audit(50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "recovery-code-used")
            .count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "recovery-codes-created")
            .count(),
        2
    );
}

/// The set-up page of a sign-in that requires a factor: turns on an app with a code and goes on.
async fn enrol_during_sign_in(s: &Setup, browser: &Browser, page: Page) -> (App, Landing) {
    assert!(
        page.url.path().ends_with("/login/enrol-second-factor"),
        "{} {}",
        page.url,
        page.html
    );
    assert!(page.contains("<svg"));
    let app = App::from_key(&code_text(&page, "totp-key"));
    let code = app.code(&s.app);
    let landing = browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await;
    (app, landing)
}

#[tokio::test]
async fn a_client_that_requires_mfa_has_users_without_a_factor_enrol_one_after_the_password() {
    let s = setup().await;
    let operator = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap());
    // A password-only session from before the requirement.
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let client = operator.set_client_require_mfa("web", true).await.unwrap();
    assert!(client.require_mfa);

    // The session alone cannot enrol a factor: the password is asked again first.
    let landing = browser
        .get(&authorize_url(&s.app, Some("urn:tessera:acr:password")))
        .await
        .page();
    assert!(landing.url.path().ends_with("/login"), "{}", landing.url);
    let page = password(&browser, Landing::Page(landing)).await.page();
    // The set-up form cannot be posted to the code page (another stage).
    let mut fields = page.form().fields;
    fields.insert("code".into(), "123456".into());
    let refused = browser
        .post_form(&s.app.url("/login/second-factor"), &fields)
        .await
        .page();
    assert_eq!(refused.status, 400);
    let (app, landing) = enrol_during_sign_in(&s, &browser, page).await;
    let claims = id_token_after(&s, landing.client()).await;
    assert_eq!(
        claims["acr"], ACR_MFA,
        "the requirement outranks the acr asked for"
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // From now on the factor is asked, without acr_values, in a new browser.
    s.app.clock.advance(Duration::seconds(30));
    let other = Browser::new(&s.app.base_url);
    let page = password(&other, other.get(&authorize_url(&s.app, None)).await)
        .await
        .page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "{}",
        page.url
    );
    let code = app.code(&s.app);
    other
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();

    // Lifted: the password alone again.
    operator.set_client_require_mfa("web", false).await.unwrap();
    let third = Browser::new(&s.app.base_url);
    password(&third, third.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
}

#[tokio::test]
async fn a_role_or_the_server_can_require_mfa() {
    let app = tessera_testkit::spawn_app_with(|config| {
        config.mfa.required_roles = vec!["admin".into()];
    })
    .await;
    let web = app
        .register_client(NewClient {
            id: "web".into(),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: true,
            ..Default::default()
        })
        .await;
    let s = Setup {
        secret: web.secret.unwrap(),
        app,
    };
    let operator = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap());
    for (email, roles) in [
        ("ada@example.com", vec!["admin".to_owned()]),
        ("bob@example.com", vec![]),
    ] {
        operator
            .add_user(tessera_server::admin::AddUser {
                email: email.into(),
                name: None,
                roles,
                password: Some(PASSWORD.to_owned().into()),
            })
            .await
            .unwrap();
    }
    // ada is an admin: she enrols.
    let browser = Browser::new(&s.app.base_url);
    let page = password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .page();
    let (_, landing) = enrol_during_sign_in(&s, &browser, page).await;
    landing.client();
    // bob is not: his password is enough.
    let bob = Browser::new(&s.app.base_url);
    let form = bob.get(&authorize_url(&s.app, None)).await.page().form();
    bob.submit(
        &form,
        &[("username", "bob@example.com"), ("password", PASSWORD)],
    )
    .await
    .client();

    // Required for everyone by the server.
    let strict = tessera_testkit::spawn_app_with(|config| config.mfa.required = true).await;
    strict
        .register_client(NewClient {
            id: "web".into(),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: true,
            ..Default::default()
        })
        .await;
    strict
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: "ada@example.com".into(),
            name: None,
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    let browser = Browser::new(&strict.base_url);
    let page = password(&browser, browser.get(&authorize_url(&strict, None)).await)
        .await
        .page();
    assert!(
        page.url.path().ends_with("/login/enrol-second-factor"),
        "{}",
        page.url
    );
}

#[tokio::test]
async fn access_tokens_and_introspection_carry_the_level_and_apis_can_demand_it() {
    let s = setup().await;
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    let verifier = s.app.verifier().await;
    let api_secret = s.app.add_resource_server("api", &[]).await;

    // A password-only sign-in: level "password"; an API demanding MFA answers the RFC 9470
    // challenge naming the level.
    let plain = Browser::new(&s.app.base_url);
    let back = password(&plain, plain.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let tokens = exchange(&s, back).await;
    let token = verifier
        .verify_access_token(tokens["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(token.acr.as_deref(), Some(tessera_verify::ACR_PASSWORD));
    assert_eq!(token.amr, ["pwd"]);
    let challenge = verifier
        .require_acr(&token, &[tessera_verify::ACR_MFA])
        .unwrap_err();
    assert_eq!(
        challenge.www_authenticate(),
        "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger authentication is required\", acr_values=\"urn:tessera:acr:mfa\""
    );

    // The app steps up with acr_values: the new token passes.
    s.app.clock.advance(Duration::seconds(30));
    let page = plain
        .get(&authorize_url(&s.app, Some(ACR_MFA)))
        .await
        .page();
    let code = app.code(&s.app);
    let back = plain
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();
    let tokens = exchange(&s, back).await;
    let access = tokens["access_token"].as_str().unwrap();
    let token = verifier.verify_access_token(access).unwrap();
    assert_eq!(token.acr.as_deref(), Some(ACR_MFA));
    assert_eq!(token.amr, ["pwd", "otp", "mfa"]);
    assert!(verifier
        .require_acr(&token, &[tessera_verify::ACR_MFA])
        .is_ok());

    // Introspection says the same, for the access token and the refresh token.
    for (presented, kind) in [
        (access, "access"),
        (tokens["refresh_token"].as_str().unwrap(), "refresh"),
    ] {
        let client = if kind == "access" {
            ("api", api_secret.as_str())
        } else {
            ("web", s.secret.as_str())
        };
        let answer: Value = s
            .app
            .http
            .post(s.app.url("/oauth/introspect"))
            .basic_auth(client.0, Some(client.1))
            .form(&[("token", presented)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["active"], true, "{kind}: {answer}");
        assert_eq!(answer["acr"], ACR_MFA, "{kind}");
        assert_eq!(
            answer["amr"],
            serde_json::json!(["pwd", "otp", "mfa"]),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn the_last_factor_stays_while_the_users_role_requires_one() {
    let app = tessera_testkit::spawn_app_with(|config| {
        config.mfa.required_roles = vec!["admin".into()];
    })
    .await;
    let s = with_client_and_ada(app).await;
    let operator = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap());
    operator
        .set_roles("ada@example.com", vec!["admin".into()])
        .await
        .unwrap();
    let browser = Browser::new(&s.app.base_url);
    let page = password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .page();
    assert!(
        page.url.path().ends_with("/login/enrol-second-factor"),
        "{}",
        page.url
    );
    let app_key = App::from_key(&code_text(&page, "totp-key"));
    let code = app_key.code(&s.app);
    browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();

    let page = browser.get(&s.app.url("/account/totp")).await.page();
    let refused = browser
        .submit(&page.form_to("/account/totp/remove"), &[])
        .await
        .page();
    assert_eq!(refused.status, 409, "{}", refused.html);
    let ada = ada_id(&s).await;
    assert!(s.app.probe.find_totp_factor(&ada).await.unwrap().is_some());

    // With recovery codes as another factor, the app can go.
    let codes = browser
        .get(&s.app.url("/account/recovery-codes"))
        .await
        .page();
    browser.submit(&codes.form(), &[]).await.page();
    let page = browser.get(&s.app.url("/account/totp")).await.page();
    let removed = browser
        .submit(&page.form_to("/account/totp/remove"), &[])
        .await
        .page();
    assert_eq!(removed.status, 200, "{}", removed.html);
    assert!(s.app.probe.find_totp_factor(&ada).await.unwrap().is_none());
}

#[tokio::test]
async fn prompt_login_on_a_session_with_a_second_factor_asks_for_both_and_renews_auth_time() {
    let s = setup().await;
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    let browser = Browser::new(&s.app.base_url);
    s.app.clock.advance(Duration::seconds(30));
    let page = password(
        &browser,
        browser.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let code = app.code(&s.app);
    browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();
    let first_auth_time = s.app.clock.now().unix_timestamp();

    // Before a sensitive operation the app asks for a fresh sign-in, without acr_values.
    s.app.clock.advance(Duration::seconds(120));
    let mut url = Url::parse(&authorize_url(&s.app, None)).unwrap();
    url.query_pairs_mut().append_pair("prompt", "login");
    let login = browser.get(url.as_str()).await;
    let page = password(&browser, login).await.page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "the password alone does not reauthenticate a session that had a factor: {}",
        page.url
    );
    let code = app.code(&s.app);
    let back = browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert!(claims["auth_time"].as_i64().unwrap() >= first_auth_time + 120);
}

#[tokio::test]
async fn an_essential_mfa_acr_in_the_claims_parameter_fails_without_a_factor_and_asks_with_one() {
    let s = setup().await;
    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:mfa"]}}}"#;
    let with_claims = |claims: &str| {
        let mut url = Url::parse(&authorize_url(&s.app, None)).unwrap();
        url.query_pairs_mut().append_pair("claims", claims);
        url.to_string()
    };
    // No second factor: the client hears unmet_authentication_requirements, and no session starts.
    let browser = Browser::new(&s.app.base_url);
    let back = password(&browser, browser.get(&with_claims(essential)).await)
        .await
        .client();
    let params: BTreeMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(
        params["error"], "unmet_authentication_requirements",
        "{back}"
    );
    assert_eq!(params["state"], "st4te");

    // Malformed claims: invalid_request.
    let refused = Browser::new(&s.app.base_url)
        .get(&with_claims(r#"{"id_token":{"acr":{"values":"x"}}}"#))
        .await
        .client();
    let params: BTreeMap<String, String> = refused.query_pairs().into_owned().collect();
    assert_eq!(params["error"], "invalid_request");

    // With a factor: it is asked, and the ID token says the level.
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    s.app.clock.advance(Duration::seconds(30));
    let browser = Browser::new(&s.app.base_url);
    let page = password(&browser, browser.get(&with_claims(essential)).await)
        .await
        .page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "{}",
        page.url
    );
    let code = app.code(&s.app);
    let back = browser
        .submit(&page.form(), &[("code", code.as_str())])
        .await
        .client();
    assert_eq!(id_token_after(&s, back).await["acr"], ACR_MFA);
    assert_eq!(
        s.app.get_json("/.well-known/openid-configuration").await["claims_parameter_supported"],
        true
    );
}

#[tokio::test]
async fn a_pending_second_factor_cannot_be_finished_from_another_browser() {
    let s = setup().await;
    let (app, _) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    s.app.clock.advance(Duration::seconds(30));
    let victim = Browser::new(&s.app.base_url);
    let page = password(
        &victim,
        victim.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    // Someone else holds the form (request id and CSRF token) and the right code, but not the
    // victim's cookies.
    let mut fields = page.form().fields;
    fields.insert("code".into(), app.code(&s.app));
    let attacker = Browser::new(&s.app.base_url);
    let refused = attacker
        .post_form(&s.app.url("/login/second-factor"), &fields)
        .await
        .page();
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(attacker.cookie("__Host-tessera_session").is_none());
    // The victim's own browser still finishes (the refused post spent nothing).
    victim
        .submit(&page.form(), &[("code", app.code(&s.app).as_str())])
        .await
        .client();
}
