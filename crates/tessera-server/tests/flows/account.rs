//! The account's own pages beyond its factors: the profile on `/account`, the address on
//! `/account/email` (confirmed, or moved to a new one with a code sent there), and the devices
//! list's browser and last-seen time.

use super::mail::setup_with_mail;
use super::second_factors::{ada_id, authorize_url, password, setup, PASSWORD};
use tessera_core::{Clock, Email};
use tessera_testkit::browser::{Browser, Page};
use tessera_testkit::smtp::MailSink;
use time::format_description::well_known::Rfc3339;
use time::Duration;

const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

#[tokio::test]
async fn devices_show_each_browser_and_when_it_was_last_seen() {
    let s = setup().await;
    let ada = ada_id(&s).await;
    let laptop = Browser::with_user_agent(&s.app.base_url, FIREFOX_LINUX);
    password(&laptop, laptop.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let signed_in_at = s.app.clock.now();
    let laptop_session = || async {
        s.app.probe.list_user_sessions(&ada).await.unwrap()[0]
            .session
            .clone()
    };
    assert_eq!(laptop_session().await.last_seen_at, signed_in_at);
    assert_eq!(
        laptop_session().await.user_agent.as_deref(),
        Some(FIREFOX_LINUX)
    );

    // Used again within the resolution: nothing is written.
    s.app.clock.advance(Duration::minutes(2));
    assert_eq!(laptop.get(&s.app.url("/account")).await.page().status, 200);
    assert_eq!(laptop_session().await.last_seen_at, signed_in_at);
    // Used after it: the time moves.
    s.app.clock.advance(Duration::minutes(4));
    let seen_at = s.app.clock.now();
    laptop.get(&authorize_url(&s.app, None)).await.client();
    assert_eq!(laptop_session().await.last_seen_at, seen_at);

    let phone = Browser::with_user_agent(&s.app.base_url, CHROME_ANDROID);
    password(&phone, phone.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = phone.get(&s.app.url("/account/devices")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.contains("Firefox on Linux"), "{}", page.html);
    assert!(page.contains("Chrome on Android"), "{}", page.html);
    assert!(
        page.contains(&format!(
            "Last seen <span class=\"last-seen\">{}</span>",
            seen_at.format(&Rfc3339).unwrap()
        )),
        "{}",
        page.html
    );
}

#[tokio::test]
async fn the_profile_name_is_saved_checked_and_csrf_protected() {
    let s = setup().await;
    let ada = ada_id(&s).await;
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    // The name needs no recent sign-in.
    s.app.clock.advance(Duration::hours(2));
    let page = browser.get(&s.app.url("/account")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.contains("ada@example.com") && page.contains("not confirmed"));
    let saved = browser
        .submit(&page.form_to("/account"), &[("name", "  Ada King  ")])
        .await
        .page();
    assert!(saved.contains("Saved."), "{}", saved.html);
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert_eq!(user.name.as_deref(), Some("Ada King"));

    // A name on two lines is refused, and nothing changes.
    let refused = browser
        .submit(&saved.form_to("/account"), &[("name", "Ada\r\nBcc: x")])
        .await
        .page();
    assert_eq!(refused.status, 400, "{}", refused.html);
    // A form without this browser's CSRF token is refused.
    let mut forged = saved.form_to("/account").fields;
    forged.insert("csrf_token".into(), "not-the-token".into());
    forged.insert("name".into(), "Mallory".into());
    let forged = browser
        .post_form(&s.app.url("/account"), &forged)
        .await
        .page();
    assert_eq!(forged.status, 403, "{}", forged.html);
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert_eq!(user.name.as_deref(), Some("Ada King"));
    let audit = s.app.probe.recent_audit(10).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "profile-updated")
            .count(),
        1
    );
}

/// Signs Ada in and opens `/account/email`.
async fn email_page(s: &super::second_factors::Setup) -> (Browser, Page) {
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = browser.get(&s.app.url("/account/email")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    (browser, page)
}

fn change_form(page: &Page) -> tessera_testkit::browser::Form {
    page.form_with("new_email")
}

#[tokio::test]
async fn the_address_moves_only_with_a_code_sent_to_the_new_one() {
    let sink = MailSink::start();
    let s = setup_with_mail(&sink).await;
    let ada = ada_id(&s).await;
    let (browser, page) = email_page(&s).await;

    // The current address's confirmation code: confirms it, but never moves the account.
    let asked = browser
        .submit(&page.form_with("step"), &[("step", "send_confirmation")])
        .await
        .page();
    assert!(
        asked.contains("We sent a code to ada@example.com"),
        "{}",
        asked.html
    );
    let confirmation = sink
        .wait_for("ada@example.com", "Confirm your email address", 1)
        .await;

    let page = browser.get(&s.app.url("/account/email")).await.page();
    let sent = browser
        .submit(
            &change_form(&page),
            &[("new_email", "Ada.King@Example.com")],
        )
        .await
        .page();
    assert!(
        sent.contains("We sent a message to ada.king@example.com"),
        "{}",
        sent.html
    );
    let mail = sink
        .wait_for("ada.king@example.com", "Confirm your new email address", 1)
        .await;

    // The other purpose's code (a wrong one, in effect): refused, the address stays. (Each try
    // counts against the account's second-factor limit, so this test makes few.)
    if confirmation.code() != mail.code() {
        let refused = browser
            .submit(
                &sent.form_with("email_code"),
                &[("email_code", confirmation.code().as_str())],
            )
            .await
            .page();
        assert_eq!(refused.status, 401, "{}", refused.html);
    }
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert_eq!(user.email.as_str(), "ada@example.com");

    // The code for one new address does not move the account to another.
    let mut elsewhere = sent.form_with("email_code").fields;
    elsewhere.insert("new_email".into(), "mallory@example.com".into());
    elsewhere.insert("email_code".into(), mail.code());
    let refused = browser
        .post_form(&s.app.url("/account/email"), &elsewhere)
        .await
        .page();
    assert_eq!(refused.status, 401, "{}", refused.html);
    assert!(s
        .app
        .probe
        .find_user_by_email(&Email::parse("mallory@example.com").unwrap())
        .await
        .unwrap()
        .is_none());

    // The right code: moved, confirmed, the old address told, audited.
    let done = browser
        .submit(
            &sent.form_with("email_code"),
            &[("email_code", mail.code().as_str())],
        )
        .await
        .page();
    assert!(done.contains("Address changed"), "{}", done.html);
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert_eq!(user.email.as_str(), "ada.king@example.com");
    assert!(user.email_verified);
    let notice = sink
        .wait_for(
            "ada@example.com",
            "Your account's security settings changed",
            1,
        )
        .await;
    assert!(
        notice.data.contains("ada.king@example.com"),
        "{}",
        notice.data
    );
    let audit = s.app.probe.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "email-changed"));

    // The new address signs in; the old one no longer does.
    let next = Browser::new(&s.app.base_url);
    let login = next.get(&authorize_url(&s.app, None)).await.page();
    let old = next
        .submit(
            &login.form(),
            &[("username", "ada@example.com"), ("password", PASSWORD)],
        )
        .await
        .page();
    assert_eq!(old.status, 401);
    next.submit(
        &old.form(),
        &[("username", "ada.king@example.com"), ("password", PASSWORD)],
    )
    .await
    .client();
}

#[tokio::test]
async fn an_address_with_an_account_gets_a_notice_and_the_page_answers_the_same() {
    let sink = MailSink::start();
    let s = setup_with_mail(&sink).await;
    s.app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: "grace@example.com".into(),
            name: None,
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    let (browser, page) = email_page(&s).await;
    let free = browser
        .submit(&change_form(&page), &[("new_email", "free@example.com")])
        .await
        .page();
    let page = browser.get(&s.app.url("/account/email")).await.page();
    let taken = browser
        .submit(&change_form(&page), &[("new_email", "grace@example.com")])
        .await
        .page();
    assert_eq!((free.status, taken.status), (200, 200));
    let text = |page: &Page, address: &str| {
        page.html
            .replace(address, "ADDRESS")
            .replace(char::is_whitespace, "")
    };
    assert_eq!(
        text(&free, "free@example.com"),
        text(&taken, "grace@example.com"),
        "no account enumeration"
    );
    let notice = sink
        .wait_for(
            "grace@example.com",
            "This address already has an account",
            1,
        )
        .await;
    assert!(!notice.data.contains("Your code is"), "{}", notice.data);

    // No code was made for the taken address, so none moves the account there.
    for guess in ["000000", "123456"] {
        let refused = browser
            .submit(&taken.form_with("email_code"), &[("email_code", guess)])
            .await
            .page();
        assert_eq!(refused.status, 401, "{}", refused.html);
    }
    let ada = s
        .app
        .probe
        .find_user(&ada_id(&s).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.email.as_str(), "ada@example.com");
}

#[tokio::test]
async fn changing_the_address_needs_a_recent_sign_in_and_a_real_address() {
    let sink = MailSink::start();
    let s = setup_with_mail(&sink).await;
    let (browser, page) = email_page(&s).await;
    let bad = browser
        .submit(&change_form(&page), &[("new_email", "not an address")])
        .await
        .page();
    assert_eq!(bad.status, 400, "{}", bad.html);
    let same = browser
        .submit(&change_form(&page), &[("new_email", "ADA@example.com")])
        .await
        .page();
    assert_eq!(same.status, 400, "{}", same.html);

    s.app.clock.advance(Duration::minutes(6));
    let stale = browser
        .submit(&change_form(&page), &[("new_email", "new@example.com")])
        .await
        .page();
    assert_eq!(stale.status, 403, "{}", stale.html);
    assert!(stale.contains("Sign in again"), "{}", stale.html);
    assert!(sink
        .received()
        .iter()
        .all(|m| !m.to.iter().any(|t| t.contains("new@"))));
}

#[tokio::test]
async fn the_current_address_is_confirmed_with_a_code_sent_to_it() {
    let sink = MailSink::start();
    let s = setup_with_mail(&sink).await;
    let ada = ada_id(&s).await;
    let (browser, page) = email_page(&s).await;
    let asked = browser
        .submit(&page.form_with("step"), &[("step", "send_confirmation")])
        .await
        .page();
    let mail = sink
        .wait_for("ada@example.com", "Confirm your email address", 1)
        .await;
    let done = browser
        .submit(
            &asked.form_with("email_code"),
            &[("email_code", mail.code().as_str())],
        )
        .await
        .page();
    assert!(done.contains("Address confirmed"), "{}", done.html);
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert!(user.email_verified);
    assert!(
        !user.email_codes_enabled,
        "confirming is not turning codes on"
    );
}
