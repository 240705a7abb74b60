//! Self-service sign-up (`signup.enabled`): off by default; on, an account is created only from
//! a link mailed to the address, with the same password rules, and the page never tells whether
//! an address already has an account.

use super::mail::mailed_link;
use super::second_factors::{authorize_url, exchange, with_client_and_ada, Setup};
use tessera_core::Email;
use tessera_testkit::browser::{Browser, Page};
use tessera_testkit::smtp::MailSink;
use time::Duration;

const NEW_PASSWORD: &str = "a long and fresh passphrase";

async fn setup_with_sign_up(sink: &MailSink) -> Setup {
    let url = sink.url();
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.email.smtp_url = Some(url);
        config.email.from = Some("Tessera <no-reply@tessera.test>".into());
        config.signup.enabled = true;
    })
    .await;
    with_client_and_ada(app).await
}

async fn user_count(s: &Setup) -> usize {
    s.app.probe.list_users().await.unwrap().len()
}

/// From the login page of a new sign-in to the sign-up page's answer for `email`.
async fn ask_for_link(s: &Setup, browser: &Browser, email: &str) -> Page {
    let login = browser.get(&authorize_url(&s.app, None)).await.page();
    let link = login
        .html
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&#x2f;", "/"))
        .find(|href| href.starts_with("/signup?request="))
        .unwrap_or_else(|| panic!("a sign-up link: {}", login.html));
    let page = browser.get(&s.app.url(&link)).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    browser
        .submit(&page.form(), &[("email", email)])
        .await
        .page()
}

#[tokio::test]
async fn sign_up_is_off_by_default() {
    let sink = MailSink::start();
    let s = super::mail::setup_with_mail(&sink).await;
    let browser = Browser::new(&s.app.base_url);
    let login = browser.get(&authorize_url(&s.app, None)).await.page();
    assert!(!login.contains("Create an account"), "{}", login.html);
    assert_eq!(browser.get(&s.app.url("/signup")).await.page().status, 404);
    assert_eq!(
        browser
            .get(&s.app.url("/signup/complete?token=x"))
            .await
            .page()
            .status,
        404
    );
    let refused = browser
        .post_form(&s.app.url("/signup"), &Default::default())
        .await
        .page();
    assert_eq!(refused.status, 404);
}

#[tokio::test]
async fn a_mailed_link_creates_a_confirmed_account_and_the_sign_in_continues() {
    let sink = MailSink::start();
    let s = setup_with_sign_up(&sink).await;
    let before = user_count(&s).await;
    let browser = Browser::new(&s.app.base_url);
    let sent = ask_for_link(&s, &browser, "Grace@Example.com").await;
    assert!(sent.contains("Check your mail"), "{}", sent.html);
    assert_eq!(
        user_count(&s).await,
        before,
        "nothing is created before the link"
    );
    let mail = sink
        .wait_for("grace@example.com", "Finish creating your account", 1)
        .await;
    let link = mailed_link(&mail);
    assert!(
        link.starts_with(&format!("{}/signup/complete?token=", s.app.base_url)),
        "{link}"
    );
    assert!(!link.contains("grace"), "the address is sealed in the link");

    // The same password rules: a weak one is refused and nothing is created.
    let complete = browser.get(&link).await.page();
    assert!(complete.contains("grace@example.com"), "{}", complete.html);
    let weak = browser
        .submit(&complete.form(), &[("password", "password1")])
        .await
        .page();
    assert_eq!(weak.status, 400, "{}", weak.html);
    assert_eq!(user_count(&s).await, before);

    // A good one: the account exists, confirmed, and the browser is back at the sign-in.
    let back = browser
        .submit(
            &weak.form(),
            &[("password", NEW_PASSWORD), ("name", "Grace Hopper")],
        )
        .await
        .page();
    assert!(
        back.url.path().ends_with("/login"),
        "{} {}",
        back.url,
        back.html
    );
    let grace = s
        .app
        .probe
        .find_user_by_email(&Email::parse("grace@example.com").unwrap())
        .await
        .unwrap()
        .expect("the account");
    assert!(grace.email_verified && !grace.is_disabled);
    assert_eq!(grace.name.as_deref(), Some("Grace Hopper"));
    assert!(grace.roles.is_empty());
    let audit = s.app.probe.recent_audit(10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "user-signed-up"));

    // Signing in with the new password finishes the app's sign-in.
    let code_url = browser
        .submit(
            &back.form(),
            &[
                ("username", "grace@example.com"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await
        .client();
    let tokens = exchange(&s, code_url).await;
    assert!(tokens["id_token"].is_string(), "{tokens}");

    // The link works once.
    let again = Browser::new(&s.app.base_url);
    assert_eq!(again.get(&link).await.page().status, 400);
    let mut fields = complete.form().fields;
    fields.insert("password".into(), "another fine passphrase".into());
    let replayed = browser
        .post_form(&s.app.url("/signup/complete"), &fields)
        .await
        .page();
    assert_eq!(replayed.status, 400, "{}", replayed.html);
    assert_eq!(user_count(&s).await, before + 1);
}

#[tokio::test]
async fn the_page_answers_the_same_for_an_address_with_an_account() {
    let sink = MailSink::start();
    let s = setup_with_sign_up(&sink).await;
    let before = user_count(&s).await;
    let free = ask_for_link(&s, &Browser::new(&s.app.base_url), "free@example.com").await;
    let taken = ask_for_link(&s, &Browser::new(&s.app.base_url), "ADA@example.com").await;
    assert_eq!((free.status, taken.status), (200, 200));
    let text = |page: &Page| page.html.replace(char::is_whitespace, "");
    assert_eq!(text(&free), text(&taken), "no account enumeration");
    let notice = sink
        .wait_for("ada@example.com", "You already have an account", 1)
        .await;
    assert!(!notice.data.contains("/signup/complete"), "{}", notice.data);
    assert!(
        notice.data.contains("/account/forgot-password"),
        "{}",
        notice.data
    );
    assert_eq!(user_count(&s).await, before);
}

#[tokio::test]
async fn forged_edited_and_expired_links_create_nothing() {
    let sink = MailSink::start();
    let s = setup_with_sign_up(&sink).await;
    let before = user_count(&s).await;
    let browser = Browser::new(&s.app.base_url);
    ask_for_link(&s, &browser, "grace@example.com").await;
    let mail = sink
        .wait_for("grace@example.com", "Finish creating your account", 1)
        .await;
    let link = mailed_link(&mail);
    let complete = browser.get(&link).await.page();

    // An edited token, in the page and in a posted form.
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let mut edited = token.clone().into_bytes();
    let last = edited.len() - 2;
    edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    let page = browser
        .get(&s.app.url(&format!("/signup/complete?token={edited}")))
        .await
        .page();
    assert_eq!(page.status, 400, "{}", page.html);
    let mut fields = complete.form().fields;
    fields.insert("token".into(), edited);
    fields.insert("password".into(), NEW_PASSWORD.into());
    let posted = browser
        .post_form(&s.app.url("/signup/complete"), &fields)
        .await
        .page();
    assert_eq!(posted.status, 400, "{}", posted.html);

    // The real link, an hour later.
    s.app.clock.advance(Duration::minutes(61));
    assert_eq!(browser.get(&link).await.page().status, 410);
    let late = browser
        .submit(&complete.form(), &[("password", NEW_PASSWORD)])
        .await
        .page();
    assert_eq!(late.status, 410, "{}", late.html);
    assert_eq!(user_count(&s).await, before);
}

#[tokio::test]
async fn requests_for_one_address_are_limited_without_a_different_answer() {
    let sink = MailSink::start();
    let s = setup_with_sign_up(&sink).await;
    let free_attempts = s.app.state.settings.login_throttle.free_attempts as usize;
    let browser = Browser::new(&s.app.base_url);
    let mut answers = Vec::new();
    for _ in 0..free_attempts + 3 {
        answers.push(ask_for_link(&s, &browser, "grace@example.com").await);
    }
    assert!(answers
        .iter()
        .all(|page| page.status == 200 && page.contains("Check your mail")));
    // The admitted requests' mails (queued after each answer), then nothing more: once the
    // outbox is empty, every mail that was queued has reached the SMTP server.
    sink.wait_for(
        "grace@example.com",
        "Finish creating your account",
        free_attempts,
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !s.app.probe.list_queued_messages().await.unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox never emptied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let to_grace = sink
        .received()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.contains("grace@example.com")))
        .count();
    assert_eq!(to_grace, free_attempts);
}
