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

const REDIRECT: &str = "https://app.example.com/cb";
const PASSWORD: &str = "correct horse battery staple";

struct Setup {
    app: TestApp,
    secret: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
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

fn authorize_url(app: &TestApp, acr_values: Option<&str>) -> String {
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

async fn password(browser: &Browser, landing: Landing) -> Landing {
    let form = landing.page().form();
    browser
        .submit(
            &form,
            &[("username", "ada@example.com"), ("password", PASSWORD)],
        )
        .await
}

/// The code-exchange answer's ID token claims, verified by an independent library.
async fn id_token_after(s: &Setup, back: Url) -> Value {
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
    let body: Value = response.json().await.unwrap();
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
fn code_text(page: &Page, id: &str) -> String {
    let start = format!("<code id=\"{id}\">");
    let from = page.html.find(&start).expect("the element") + start.len();
    let len = page.html[from..].find("</code>").unwrap();
    page.html[from..from + len]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The authenticator app: an independent TOTP implementation holding the key the page showed.
struct App(TOTP);

impl App {
    fn from_key(base32: &str) -> Self {
        let bytes = Secret::Encoded(base32.to_owned()).to_bytes().unwrap();
        Self(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes))
    }

    fn code(&self, app: &TestApp) -> String {
        let now = app.clock.now().unix_timestamp() as u64;
        self.0.generate(now)
    }
}

/// Signs `browser` in with the password alone, then turns on an authenticator app on the
/// account page. Returns the app and the code that confirmed it.
async fn enrol(s: &Setup, browser: &Browser) -> (App, String) {
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

async fn ada_id(s: &Setup) -> tessera_core::UserId {
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

/// A server that mails through `sink`, with the usual client and user.
async fn setup_with_mail(sink: &tessera_testkit::smtp::MailSink) -> Setup {
    let url = sink.url();
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.email.smtp_url = Some(url);
        config.email.from = Some("Tessera <no-reply@tessera.test>".into());
    })
    .await;
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
            name: None,
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    Setup {
        secret: web.secret.unwrap(),
        app,
    }
}

/// The form on `page` that carries the field `name`.
fn form_with(page: &Page, name: &str) -> tessera_testkit::browser::Form {
    let doc_forms: Vec<&str> = page.html.split("<form").skip(1).collect();
    let index = doc_forms
        .iter()
        .position(|form| form.contains(&format!("name=\"{name}\"")))
        .unwrap_or_else(|| panic!("no form with {name} on {}", page.html));
    let mut only = page.clone();
    only.html = format!("<form{}", doc_forms[index]);
    only.form()
}

#[tokio::test]
async fn a_code_by_email_verifies_the_address_and_then_serves_as_a_second_factor() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    let ada = ada_id(&s).await;

    // Turn on codes by email: a code goes to the address, and typing it back verifies it.
    let owner = Browser::new(&s.app.base_url);
    password(&owner, owner.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = owner.get(&s.app.url("/account/email-codes")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    let sent = owner.submit(&page.form(), &[]).await.page();
    assert!(sent.contains("We sent a code"), "{}", sent.html);
    let verification = sink.wait_for("ada@example.com", 1).await;
    assert_eq!(verification.subject(), "Confirm your email address");
    assert!(verification.from.contains("no-reply@tessera.test"));
    let wrong = owner
        .submit(&sent.form(), &[("email_code", "000000")])
        .await
        .page();
    assert!(wrong.status == 401 || verification.code() == "000000");
    let done = owner
        .submit(
            &wrong.form(),
            &[("email_code", verification.code().as_str())],
        )
        .await
        .page();
    assert!(done.contains("Codes by email turned on"), "{}", done.html);
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert!(user.email_verified && user.email_codes_enabled);

    // Signing in with MFA asked: "Email me a code", then the code from the mail.
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
    let asked = browser
        .submit(&form_with(&page, "send_email_code"), &[])
        .await
        .page();
    assert!(
        asked.contains("We sent a code to a•••@example.com"),
        "{}",
        asked.html
    );
    let mail = sink.wait_for("ada@example.com", 2).await;
    assert_eq!(mail.subject(), "Your sign-in code");
    assert!(
        !mail.subject().contains(&mail.code()),
        "the code is never in the subject"
    );

    // The address-verification code does not work here (another purpose), nor does a wrong one.
    let other_purpose = browser
        .submit(
            &form_with(&asked, "email_code"),
            &[("email_code", verification.code().as_str())],
        )
        .await
        .page();
    assert_eq!(other_purpose.status, 401, "{}", other_purpose.html);
    let back = browser
        .submit(
            &form_with(&other_purpose, "email_code"),
            &[("email_code", mail.code().as_str())],
        )
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // Used once.
    let again = Browser::new(&s.app.base_url);
    let page = password(
        &again,
        again.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let mut fields = form_with(&page, "send_email_code").fields;
    fields.remove("send_email_code");
    fields.insert("email_code".into(), mail.code());
    let replayed = again
        .post_form(&s.app.url("/login/second-factor"), &fields)
        .await
        .page();
    assert_eq!(replayed.status, 401, "{}", replayed.html);
}

#[tokio::test]
async fn mail_to_a_refusing_smtp_server_is_retried_and_the_page_does_not_wait() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    sink.refuse(true);
    let owner = Browser::new(&s.app.base_url);
    password(&owner, owner.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = owner.get(&s.app.url("/account/email-codes")).await.page();
    let sent = owner.submit(&page.form(), &[]).await.page();
    assert_eq!(sent.status, 200);
    assert!(
        sent.contains("We sent a code"),
        "queued, whatever the SMTP server says"
    );

    // The worker tried and was refused: the message waits in the outbox for its retry, with
    // the server's answer kept for operators.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let queued = s.app.probe.list_queued_mail().await.unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        if let (_, attempts, Some(error)) = &queued[0] {
            assert!(*attempts >= 1);
            assert!(error.contains("450") || error.contains("busy"), "{error}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never tried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(sink.received().is_empty());

    // The server accepts again: the next attempt delivers it.
    sink.refuse(false);
    s.app.clock.advance(Duration::seconds(5));
    let mail = sink.wait_for("ada@example.com", 1).await;
    assert_eq!(mail.subject(), "Confirm your email address");
}

#[tokio::test]
async fn mail_to_an_smtp_server_that_is_down_waits_in_the_outbox() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.email.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.email.from = Some("no-reply@tessera.test".into());
    })
    .await;
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: "ada@example.com".into(),
            name: None,
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    let ada = app
        .probe
        .find_user_by_email(&tessera_core::Email::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    app.state
        .queue_mail(
            &ada.email,
            "Confirm your email address",
            "Your code is 123456",
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let queued = app.probe.list_queued_mail().await.unwrap();
        assert_eq!(queued.len(), 1, "kept for a retry, not dropped: {queued:?}");
        if let (_, _, Some(error)) = &queued[0] {
            assert!(error.to_lowercase().contains("refused"), "{error}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never tried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
