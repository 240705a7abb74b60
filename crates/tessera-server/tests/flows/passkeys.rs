//! Passkeys over real HTTP, with 1Password's `passkey` crate as the browser and authenticator
//! (testkit's `SoftAuthenticator`): registration on the account page, sign-in with no username
//! and no password, a passkey as the second factor, reauthentication, and a negative test for
//! each rule the server enforces (user verification, single-use challenges, whose passkey, a way
//! to sign in remaining, a recent sign-in to register).

use super::second_factors::{
    ada_id, authorize_url, id_token_after, password, with_client_and_ada, Setup,
};
use serde_json::Value;
use tessera_core::sign_in::{ACR_MFA, ACR_PHR};
use tessera_core::Clock;
use tessera_testkit::browser::{Browser, Form, Page};
use tessera_testkit::passkeys::SoftAuthenticator;
use time::Duration;

async fn setup() -> Setup {
    with_client_and_ada(tessera_testkit::spawn_app_on_localhost(|_| {}).await).await
}

/// The origin pages are served from: the issuer's.
fn origin(s: &Setup) -> String {
    s.app.state.settings.issuer.clone()
}

/// Posts `form`'s fields (the page's pending sign-in or CSRF token) to the ceremony's options
/// URL, as the page's script does, and reads the JSON.
async fn options(browser: &Browser, page: &Page, form: &Form) -> Value {
    let url = data_options(page);
    let mut fields = form.fields.clone();
    fields.remove("credential");
    let answer = browser
        .post_form(page.url.join(&url).unwrap().as_str(), &fields)
        .await
        .page();
    assert_eq!(answer.status, 200, "{}", answer.html);
    assert_eq!(answer.headers["cache-control"], "no-store");
    serde_json::from_str(&answer.html).expect("JSON options")
}

/// The page's passkey form's `data-options`.
fn data_options(page: &Page) -> String {
    let start = page.html.find("data-options=\"").expect("a passkey form") + 14;
    page.html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
}

/// Signs Ada in with her password (a recent sign-in) and registers a passkey named `name` on
/// the account page with `device`.
async fn register(s: &Setup, browser: &Browser, device: &mut SoftAuthenticator, name: &str) {
    let page = browser.get(&s.app.url("/account/passkeys")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    let form = page.form_with("credential");
    let options = options(browser, &page, &form).await;
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let credential = device.create(&options).await.expect("the device registers");
    let done = browser
        .submit(
            &form,
            &[("name", name), ("credential", credential.as_str())],
        )
        .await
        .page();
    assert_eq!(done.status, 200, "{}", done.html);
    assert!(done.contains(name), "{}", done.html);
}

async fn signed_in_with_password(s: &Setup) -> Browser {
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    browser
}

/// From a page with a passkey form, through `device`, to where the server sends the browser.
async fn use_passkey(
    browser: &Browser,
    page: &Page,
    device: &mut SoftAuthenticator,
) -> tessera_testkit::browser::Landing {
    let form = page.form_with("credential");
    let options = options(browser, page, &form).await;
    assert_eq!(options["userVerification"], "required");
    let credential = device.get(&options).await.expect("the device signs");
    browser
        .submit(&form, &[("credential", credential.as_str())])
        .await
}

fn authorize(s: &Setup, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&authorize_url(&s.app, None)).unwrap();
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

#[tokio::test]
async fn a_passkey_signs_in_with_no_username_and_no_password_and_reauthenticates() {
    let s = setup().await;
    let discovery = s.app.get_json("/.well-known/openid-configuration").await;
    assert!(discovery["acr_values_supported"]
        .as_array()
        .unwrap()
        .contains(&ACR_PHR.into()));
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut device,
        "Laptop",
    )
    .await;

    // A new browser: the login page offers passkeys (autofill and a button), and the passkey
    // alone signs in, as two factors at the phishing-resistant level.
    let browser = Browser::new(&s.app.base_url);
    let login = browser
        .get(&authorize(&s, &[("acr_values", ACR_PHR)]))
        .await
        .page();
    assert!(
        login.contains("autocomplete=\"username webauthn\""),
        "{}",
        login.html
    );
    assert!(login.contains("Sign in with a passkey"));
    // The only script is Tessera's own file: no inline script, no eval.
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(
        login.contains("<script src=\"/assets/passkeys.js\" defer></script>")
            || login.contains("&#x2f;assets&#x2f;passkeys.js")
    );
    assert!(!login.html.contains("<script>") && !login.html.contains(" onclick="));
    let back = use_passkey(&browser, &login, &mut device).await.client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["amr"], serde_json::json!(["swk", "user", "mfa"]));
    assert_eq!(claims["acr"], ACR_PHR);
    let first_auth_time = claims["auth_time"].as_i64().unwrap();
    let ns = &s.app.config().claims.namespace;
    assert_eq!(claims[format!("{ns}can_reauthenticate")], true);
    let ada = ada_id(&s).await;
    let stored = s.app.probe.list_passkeys(&ada).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].sign_count >= 1 && stored[0].last_used_at.is_some());

    // Later, before a sensitive operation: prompt=login asks again, the passkey answers, and
    // auth_time moves forward.
    s.app.clock.advance(Duration::minutes(10));
    let again = browser
        .get(&authorize(&s, &[("prompt", "login")]))
        .await
        .page();
    assert!(again.url.path().ends_with("/login"), "{}", again.url);
    let back = use_passkey(&browser, &again, &mut device).await.client();
    let claims = id_token_after(&s, back).await;
    let second_auth_time = claims["auth_time"].as_i64().unwrap();
    assert_eq!(second_auth_time, s.app.clock.now().unix_timestamp());
    assert!(second_auth_time > first_auth_time);
    assert!(claims["amr"].as_array().unwrap().contains(&"user".into()));
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_after_a_password() {
    let s = setup().await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(&s, &signed_in_with_password(&s).await, &mut device, "Phone").await;
    let browser = Browser::new(&s.app.base_url);
    let page = password(
        &browser,
        browser
            .get(&authorize(&s, &[("acr_values", ACR_MFA)]))
            .await,
    )
    .await
    .page();
    assert!(
        page.url.path().ends_with("/login/second-factor"),
        "{}",
        page.url
    );
    assert!(page.contains("Use your passkey"), "{}", page.html);
    // Only Ada's passkeys are asked for.
    let form = page.form_with("credential");
    let asked = options(&browser, &page, &form).await;
    assert_eq!(asked["allowCredentials"].as_array().unwrap().len(), 1);
    let back = use_passkey(&browser, &page, &mut device).await.client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "swk", "user", "mfa"])
    );
    // Asked for MFA only: the passkey level reads as MFA to this client.
    assert_eq!(claims["acr"], ACR_MFA);
}

#[tokio::test]
async fn an_assertion_without_user_verification_is_refused_and_records_nothing() {
    let s = setup().await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut device,
        "Laptop",
    )
    .await;
    let before = s.app.probe.list_passkeys(&ada_id(&s).await).await.unwrap();

    let browser = Browser::new(&s.app.base_url);
    let login = browser.get(&authorize_url(&s.app, None)).await.page();
    let form = login.form_with("credential");
    let mut asked = options(&browser, &login, &form).await;
    // The device is asked not to verify the user (as a tampered page would), and does not.
    asked["userVerification"] = "discouraged".into();
    device.set_user_verified(false);
    let credential = device
        .get(&asked)
        .await
        .expect("the device signs without UV");
    let refused = browser
        .submit(&form, &[("credential", credential.as_str())])
        .await
        .page();
    assert_eq!(refused.status, 401, "{}", refused.html);
    assert!(refused.contains("That passkey was not accepted"));
    let after = s.app.probe.list_passkeys(&ada_id(&s).await).await.unwrap();
    assert_eq!(after, before, "nothing recorded");

    // Registration likewise: a passkey made without user verification is not stored.
    let owner = signed_in_with_password(&s).await;
    let page = owner.get(&s.app.url("/account/passkeys")).await.page();
    let form = page.form_with("credential");
    let mut asked = options(&owner, &page, &form).await;
    asked["authenticatorSelection"]["userVerification"] = "discouraged".into();
    let mut other_device = SoftAuthenticator::new(&origin(&s));
    other_device.set_user_verified(false);
    let credential = other_device.create(&asked).await.expect("made without UV");
    let refused = owner
        .submit(
            &form,
            &[("name", "No UV"), ("credential", credential.as_str())],
        )
        .await
        .page();
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_eq!(
        s.app
            .probe
            .list_passkeys(&ada_id(&s).await)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn challenges_are_single_use_and_bound_to_their_sign_in() {
    let s = setup().await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut device,
        "Laptop",
    )
    .await;

    // An answer to one sign-in's challenge, posted to another sign-in: refused.
    let browser = Browser::new(&s.app.base_url);
    let first = browser.get(&authorize_url(&s.app, None)).await.page();
    let first_form = first.form_with("credential");
    let asked = options(&browser, &first, &first_form).await;
    let credential = device.get(&asked).await.unwrap();
    let other = Browser::new(&s.app.base_url);
    let second = other.get(&authorize_url(&s.app, None)).await.page();
    let second_form = second.form_with("credential");
    options(&other, &second, &second_form).await;
    let foreign = other
        .submit(&second_form, &[("credential", credential.as_str())])
        .await
        .page();
    assert_eq!(foreign.status, 401, "{}", foreign.html);

    // The right sign-in accepts it once; the same answer again finds no challenge.
    browser
        .submit(&first_form, &[("credential", credential.as_str())])
        .await
        .client();
    let replay = Browser::new(&s.app.base_url);
    let page = replay.get(&authorize_url(&s.app, None)).await.page();
    let form = page.form_with("credential");
    let replayed = replay
        .submit(&form, &[("credential", credential.as_str())])
        .await
        .page();
    assert_eq!(replayed.status, 401, "{}", replayed.html);

    // Malformed answers are refused the same way, never a 500.
    for garbage in [
        "",
        "{}",
        "not json",
        "{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":{}}",
    ] {
        let page = replay.get(&authorize_url(&s.app, None)).await.page();
        let form = page.form_with("credential");
        options(&replay, &page, &form).await;
        let refused = replay
            .submit(&form, &[("credential", garbage)])
            .await
            .page();
        assert_eq!(refused.status, 401, "{garbage}: {}", refused.html);
    }
}

#[tokio::test]
async fn another_users_passkey_does_not_stand_for_this_user() {
    let s = setup().await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: "bob@example.com".into(),
            name: None,
            roles: vec![],
            password: Some("bob's own long password".to_owned().into()),
        })
        .await
        .unwrap();
    let mut adas = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut adas,
        "Ada laptop",
    )
    .await;
    let bob_browser = Browser::new(&s.app.base_url);
    let login = bob_browser.get(&authorize_url(&s.app, None)).await.page();
    bob_browser
        .submit(
            &login.form(),
            &[
                ("username", "bob@example.com"),
                ("password", "bob's own long password"),
            ],
        )
        .await
        .client();
    let mut bobs = SoftAuthenticator::new(&origin(&s));
    register(&s, &bob_browser, &mut bobs, "Bob laptop").await;

    // Ada's second-factor page, answered with Bob's passkey (the allow-list removed so Bob's
    // device answers at all): refused.
    let browser = Browser::new(&s.app.base_url);
    let page = password(
        &browser,
        browser
            .get(&authorize(&s, &[("acr_values", ACR_MFA)]))
            .await,
    )
    .await
    .page();
    let form = page.form_with("credential");
    let mut asked = options(&browser, &page, &form).await;
    asked["allowCredentials"] = serde_json::json!([]);
    let credential = bobs.get(&asked).await.unwrap();
    let refused = browser
        .submit(&form, &[("credential", credential.as_str())])
        .await
        .page();
    assert_eq!(refused.status, 401, "{}", refused.html);
    assert!(
        refused.url.path().ends_with("/login/passkey"),
        "{}",
        refused.url
    );
}

#[tokio::test]
async fn registering_needs_a_recent_sign_in_and_removing_keeps_a_way_in() {
    let s = setup().await;
    let browser = signed_in_with_password(&s).await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(&s, &browser, &mut device, "Laptop").await;
    let ada = ada_id(&s).await;

    // Too long after the sign-in: the page is refused.
    s.app.clock.advance(Duration::minutes(6));
    assert_eq!(
        browser
            .get(&s.app.url("/account/passkeys"))
            .await
            .page()
            .status,
        403
    );

    // A user without a password keeps their last passkey.
    let mut user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    user.password_hash = None;
    s.app.probe.update_user(&user).await.unwrap();
    let fresh = Browser::new(&s.app.base_url);
    let login = fresh.get(&authorize_url(&s.app, None)).await.page();
    use_passkey(&fresh, &login, &mut device).await.client();
    let page = fresh.get(&s.app.url("/account/passkeys")).await.page();
    let remove = page.form_with("passkey");
    let kept = fresh.submit(&remove, &[]).await.page();
    assert_eq!(kept.status, 409, "{}", kept.html);
    assert_eq!(s.app.probe.list_passkeys(&ada).await.unwrap().len(), 1);

    // With a second passkey, one can go, and every other device can be signed out with it.
    let mut spare = SoftAuthenticator::new(&origin(&s));
    register(&s, &fresh, &mut spare, "Spare").await;
    let page = fresh.get(&s.app.url("/account/passkeys")).await.page();
    let removed = fresh
        .submit(&page.form_with("passkey"), &[("end_sessions", "1")])
        .await
        .page();
    assert_eq!(removed.status, 200, "{}", removed.html);
    assert_eq!(s.app.probe.list_passkeys(&ada).await.unwrap().len(), 1);
    let sessions = s.app.probe.list_user_sessions(&ada).await.unwrap();
    let live: Vec<_> = sessions
        .iter()
        .filter(|x| x.session.is_live(s.app.clock.now()))
        .collect();
    assert_eq!(live.len(), 1, "only this browser stays signed in");
    let audit = s.app.probe.recent_audit(30).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "passkey-removed"));
    assert_eq!(
        audit.iter().filter(|e| e.action == "passkey-added").count(),
        2
    );
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_audited_as_a_possible_clone() {
    let s = setup().await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut device,
        "Laptop",
    )
    .await;
    let ada = ada_id(&s).await;
    // Another copy of the credential signed in far more often than this one has.
    let stored = s.app.probe.list_passkeys(&ada).await.unwrap().remove(0);
    assert!(s
        .app
        .probe
        .record_passkey_use(
            &stored.credential_id,
            stored.sign_count,
            1000,
            false,
            s.app.clock.now()
        )
        .await
        .unwrap());

    let browser = Browser::new(&s.app.base_url);
    let login = browser.get(&authorize_url(&s.app, None)).await.page();
    let refused = use_passkey(&browser, &login, &mut device).await.page();
    assert_eq!(refused.status, 401, "{}", refused.html);
    let after = s.app.probe.list_passkeys(&ada).await.unwrap().remove(0);
    assert_eq!(after.sign_count, 1000, "the counter is not moved back");
    let audit = s.app.probe.recent_audit(10).await.unwrap();
    let clone = audit
        .iter()
        .find(|e| e.action == "passkey-clone-suspected")
        .expect("audited");
    assert!(clone.detail.contains("1000"), "{}", clone.detail);
}

#[tokio::test]
async fn a_removed_passkey_no_longer_signs_in() {
    let s = setup().await;
    let browser = signed_in_with_password(&s).await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(&s, &browser, &mut device, "Lost phone").await;
    let home = browser.get(&s.app.url("/account")).await.page();
    assert!(home.contains("Passkeys</a>: 1"), "{}", home.html);
    let page = browser.get(&s.app.url("/account/passkeys")).await.page();
    let removed = browser.submit(&page.form_with("passkey"), &[]).await.page();
    assert_eq!(removed.status, 200, "{}", removed.html);
    assert!(removed.contains("No passkeys yet"), "{}", removed.html);

    let stranger = Browser::new(&s.app.base_url);
    let login = stranger.get(&authorize_url(&s.app, None)).await.page();
    let refused = use_passkey(&stranger, &login, &mut device).await.page();
    assert_eq!(refused.status, 401, "{}", refused.html);
    assert!(refused.contains("That passkey was not accepted"));
}

#[tokio::test]
async fn a_user_handle_naming_someone_else_is_refused() {
    let s = setup().await;
    let browser = signed_in_with_password(&s).await;
    // A device told, at registration, a user handle that is not Ada's (a tampered page): the
    // credential is stored as Ada's, and the handle it returns at sign-in names someone else.
    let page = browser.get(&s.app.url("/account/passkeys")).await.page();
    let form = page.form_with("credential");
    let mut asked = options(&browser, &page, &form).await;
    asked["user"]["id"] = "c29tZW9uZS1lbHNl".into();
    let mut device = SoftAuthenticator::new(&origin(&s));
    let credential = device.create(&asked).await.unwrap();
    let stored = browser
        .submit(
            &form,
            &[("name", "Tampered"), ("credential", credential.as_str())],
        )
        .await
        .page();
    assert_eq!(stored.status, 200, "{}", stored.html);

    let stranger = Browser::new(&s.app.base_url);
    let login = stranger.get(&authorize_url(&s.app, None)).await.page();
    let refused = use_passkey(&stranger, &login, &mut device).await.page();
    assert_eq!(refused.status, 401, "{}", refused.html);
}

#[tokio::test]
async fn a_disabled_users_passkey_does_not_sign_in() {
    let s = setup().await;
    let mut device = SoftAuthenticator::new(&origin(&s));
    register(
        &s,
        &signed_in_with_password(&s).await,
        &mut device,
        "Laptop",
    )
    .await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_user_status(
            "ada@example.com",
            tessera_server::admin::UserStatus::Disabled,
        )
        .await
        .unwrap();
    let browser = Browser::new(&s.app.base_url);
    let login = browser.get(&authorize_url(&s.app, None)).await.page();
    let refused = use_passkey(&browser, &login, &mut device).await.page();
    assert_eq!(refused.status, 401, "{}", refused.html);
}
