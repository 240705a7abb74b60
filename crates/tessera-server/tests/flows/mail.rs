//! Mail over real SMTP (a server on loopback in the test process): codes by email as a second
//! factor and to verify the address, the outbox's retries when the SMTP server refuses or is
//! down, and forgotten passwords reset by a mailed link.

use super::second_factors::{
    ada_id, authorize_url, enrol, id_token_after, password, with_client_and_ada, Setup, PASSWORD,
};
use tessera_core::sign_in::ACR_MFA;
use tessera_testkit::browser::{Browser, Page};
use time::Duration;

/// A server that mails through `sink`, with the usual client and user.
pub(super) async fn setup_with_mail(sink: &tessera_testkit::smtp::MailSink) -> Setup {
    let url = sink.url();
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.email.smtp_url = Some(url);
        config.email.from = Some("Tessera <no-reply@tessera.test>".into());
    })
    .await;
    with_client_and_ada(app).await
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
    let verification = sink
        .wait_for("ada@example.com", "Confirm your email address", 1)
        .await;
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
    let notice = sink
        .wait_for(
            "ada@example.com",
            "Your account's security settings changed",
            1,
        )
        .await;
    assert!(
        notice.data.contains("codes by email were turned on"),
        "{}",
        notice.data
    );

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
        .submit(&page.form_with("send_email_code"), &[])
        .await
        .page();
    assert!(
        asked.contains("We sent a code to a•••@example.com"),
        "{}",
        asked.html
    );
    let mail = sink
        .wait_for("ada@example.com", "Your sign-in code", 1)
        .await;
    assert_eq!(mail.subject(), "Your sign-in code");
    assert!(
        !mail.subject().contains(&mail.code()),
        "the code is never in the subject"
    );

    // The address-verification code does not work here (another purpose), nor does a wrong one.
    let other_purpose = browser
        .submit(
            &asked.form_with("email_code"),
            &[("email_code", verification.code().as_str())],
        )
        .await
        .page();
    assert_eq!(other_purpose.status, 401, "{}", other_purpose.html);
    let back = browser
        .submit(
            &other_purpose.form_with("email_code"),
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
    let mut fields = page.form_with("send_email_code").fields;
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
        let queued = s.app.probe.list_queued_messages().await.unwrap();
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
    let mail = sink
        .wait_for("ada@example.com", "Confirm your email address", 1)
        .await;
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
        let queued = app.probe.list_queued_messages().await.unwrap();
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

/// The link in a password-reset mail.
pub(super) fn mailed_link(mail: &tessera_testkit::smtp::ReceivedMail) -> String {
    let body = mail.data.replace("=\r\n", "").replace("=3D", "=");
    let start = body.find("http").expect("a link");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_mailed_link_that_ends_every_session() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    // A session signed in with the old password.
    let old_browser = Browser::new(&s.app.base_url);
    password(
        &old_browser,
        old_browser.get(&authorize_url(&s.app, None)).await,
    )
    .await
    .client();

    // The login page links to the request page; unknown and known addresses get one answer.
    let login = Browser::new(&s.app.base_url);
    let page = login.get(&authorize_url(&s.app, None)).await.page();
    assert!(page.contains("Forgot your password?") && page.contains("forgot-password"));
    let forgot = login
        .get(&s.app.url("/account/forgot-password"))
        .await
        .page();
    let unknown = login
        .submit(&forgot.form(), &[("email", "nobody@example.com")])
        .await
        .page();
    let forgot = login
        .get(&s.app.url("/account/forgot-password"))
        .await
        .page();
    let known = login
        .submit(&forgot.form(), &[("email", "Ada@Example.com")])
        .await
        .page();
    assert_eq!((unknown.status, known.status), (200, 200));
    let text = |page: &Page| page.html.replace(char::is_whitespace, "");
    assert_eq!(text(&unknown), text(&known), "no account enumeration");
    let mail = sink
        .wait_for("ada@example.com", "Choose a new password", 1)
        .await;
    assert_eq!(mail.subject(), "Choose a new password");
    assert!(sink
        .received()
        .iter()
        .all(|m| !m.to.iter().any(|t| t.contains("nobody"))));
    let link = mailed_link(&mail);
    assert!(
        link.starts_with(&format!("{}/account/reset-password?token=", s.app.base_url)),
        "{link}"
    );

    // A weak password is refused and the link keeps working.
    let reset = login.get(&link).await.page();
    assert_eq!(reset.status, 200, "{}", reset.html);
    let weak = login
        .submit(&reset.form(), &[("password", "password1")])
        .await
        .page();
    assert_eq!(weak.status, 400, "{}", weak.html);
    let done = login
        .submit(&weak.form(), &[("password", "a brand new passphrase")])
        .await
        .page();
    assert!(done.contains("Password changed"), "{}", done.html);

    // Used once; the old session is over; the old password fails and the new one works.
    assert_eq!(login.get(&link).await.page().status, 400);
    let again = old_browser.get(&authorize_url(&s.app, None)).await.page();
    assert!(
        again.url.path().ends_with("/login"),
        "the old session ended: {}",
        again.url
    );
    let refused = old_browser
        .submit(
            &again.form(),
            &[("username", "ada@example.com"), ("password", PASSWORD)],
        )
        .await
        .page();
    assert_eq!(refused.status, 401);
    old_browser
        .submit(
            &refused.form(),
            &[
                ("username", "ada@example.com"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await
        .client();
    let audit = s.app.probe.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "password-reset"));
}

#[tokio::test]
async fn a_reset_needs_the_authenticator_of_a_user_who_has_one() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    let (app, enrolment_code) = enrol(&s, &Browser::new(&s.app.base_url)).await;
    let browser = Browser::new(&s.app.base_url);
    let forgot = browser
        .get(&s.app.url("/account/forgot-password"))
        .await
        .page();
    browser
        .submit(&forgot.form(), &[("email", "ada@example.com")])
        .await
        .page();
    let link = mailed_link(
        &sink
            .wait_for("ada@example.com", "Choose a new password", 1)
            .await,
    );
    let reset = browser.get(&link).await.page();
    assert!(reset.contains("authenticator app"));
    let without = browser
        .submit(&reset.form(), &[("password", "a brand new passphrase")])
        .await
        .page();
    assert_eq!(without.status, 401, "{}", without.html);
    let replayed = browser
        .submit(
            &without.form(),
            &[
                ("password", "a brand new passphrase"),
                ("code", enrolment_code.as_str()),
            ],
        )
        .await
        .page();
    assert_eq!(replayed.status, 401, "a spent code does not reset");
    s.app.clock.advance(Duration::seconds(30));
    let code = app.code(&s.app);
    let done = browser
        .submit(
            &replayed.form(),
            &[
                ("password", "a brand new passphrase"),
                ("code", code.as_str()),
            ],
        )
        .await
        .page();
    assert!(done.contains("Password changed"), "{}", done.html);
}

#[tokio::test]
async fn a_password_changed_on_the_account_page_ends_the_other_sessions_only() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    let elsewhere = Browser::new(&s.app.base_url);
    password(
        &elsewhere,
        elsewhere.get(&authorize_url(&s.app, None)).await,
    )
    .await
    .client();
    let here = Browser::new(&s.app.base_url);
    password(&here, here.get(&authorize_url(&s.app, None)).await)
        .await
        .client();

    let page = here.get(&s.app.url("/account/password")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    let wrong = here
        .submit(
            &page.form(),
            &[
                ("current_password", "not it"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await
        .page();
    assert_eq!(wrong.status, 401, "{}", wrong.html);
    let weak = here
        .submit(
            &wrong.form(),
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1"),
            ],
        )
        .await
        .page();
    assert_eq!(weak.status, 400, "{}", weak.html);
    let done = here
        .submit(
            &weak.form(),
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await
        .page();
    assert!(done.contains("Password changed"), "{}", done.html);

    // This browser stays signed in (no page at /authorize); the other was signed out.
    here.get(&authorize_url(&s.app, None)).await.client();
    let other = elsewhere.get(&authorize_url(&s.app, None)).await.page();
    assert!(other.url.path().ends_with("/login"), "{}", other.url);
    let notice = sink
        .wait_for(
            "ada@example.com",
            "Your account's security settings changed",
            1,
        )
        .await;
    assert!(
        notice.data.contains("password was changed"),
        "{}",
        notice.data
    );

    // A session more than 5 minutes old may not change it.
    s.app.clock.advance(Duration::minutes(6));
    assert_eq!(
        here.get(&s.app.url("/account/password"))
            .await
            .page()
            .status,
        403
    );
}

#[tokio::test]
async fn devices_are_listed_and_signed_out_one_by_one_or_all_but_this_one() {
    let sink = tessera_testkit::smtp::MailSink::start();
    let s = setup_with_mail(&sink).await;
    let browsers: Vec<Browser> = (0..3).map(|_| Browser::new(&s.app.base_url)).collect();
    for browser in &browsers {
        password(browser, browser.get(&authorize_url(&s.app, None)).await)
            .await
            .client();
    }
    // Long after the sign-in: signing devices out needs no recent sign-in.
    s.app.clock.advance(Duration::minutes(30));
    let page = browsers[0].get(&s.app.url("/account/devices")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.html.matches("<li id=\"device-").count(), 3);
    assert_eq!(page.html.matches("<strong>this device</strong>").count(), 1);
    assert!(page.html.contains("Apps: web"));

    // Sign out one other device by its own form.
    let sign_out = page.form_with("sid");
    let after = browsers[0].submit(&sign_out, &[]).await.page();
    assert_eq!(
        after.html.matches("<li id=\"device-").count(),
        2,
        "{}",
        after.html
    );

    // Another user's sid is refused like an unknown one.
    let mut forged = sign_out.fields;
    forged.insert("sid".into(), "not-a-session".into());
    let refused = browsers[0]
        .post_form(&s.app.url("/account/devices"), &forged)
        .await
        .page();
    assert_eq!(refused.status, 404);

    // Everywhere else: only this browser stays.
    let page = browsers[0].get(&s.app.url("/account/devices")).await.page();
    let done = browsers[0]
        .submit(&page.form_with("everywhere_else"), &[])
        .await
        .page();
    assert!(done.contains("Signed out everywhere else"), "{}", done.html);
    let page = browsers[0].get(&s.app.url("/account/devices")).await.page();
    assert_eq!(page.html.matches("<li id=\"device-").count(), 1);
    for browser in &browsers[1..] {
        let landing = browser.get(&authorize_url(&s.app, None)).await.page();
        assert!(landing.url.path().ends_with("/login"), "{}", landing.url);
    }
}

#[tokio::test]
async fn mail_to_an_smtp_server_that_hangs_times_out_and_waits_for_a_retry() {
    // Accepts connections and never says a word: no SMTP greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.email.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.email.from = Some("no-reply@tessera.test".into());
    })
    .await;
    let to = tessera_core::Email::parse("ada@example.com").unwrap();
    app.state
        .queue_mail(&to, "Confirm your email address", "Your code is 123456")
        .await
        .unwrap();
    // The send times out (15 s) rather than holding the worker forever; the message stays.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let queued = app.probe.list_queued_messages().await.unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        if let (_, _, Some(error)) = &queued[0] {
            assert!(!error.is_empty());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the send never gave up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
