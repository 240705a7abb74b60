//! Codes by SMS over real HTTP: Tessera posts each text message to a webhook (here a real HTTP
//! server on loopback in the test, standing in for the SMS provider, which cannot run here),
//! signed with HMAC-SHA-256; the receiver checks each signature with an independent
//! implementation (RustCrypto's `hmac`) and can answer 500 to test retries.

use super::second_factors::{
    ada_id, authorize_url, id_token_after, password, with_client_and_ada, Setup,
};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tessera_core::sign_in::ACR_MFA;
use tessera_testkit::browser::Browser;
use time::Duration;

const SECRET: &str = "a webhook secret of more than thirty-two characters";

/// One text message the receiver accepted: its number and text.
#[derive(Clone, Debug)]
struct Text {
    to: String,
    body: String,
}

impl Text {
    /// The six digits the message starts with ("NNNNNN is your code…").
    fn code(&self) -> String {
        self.body[..6].to_owned()
    }
}

/// The SMS provider's webhook, for one test.
#[derive(Clone)]
struct Receiver {
    url: String,
    texts: Arc<Mutex<Vec<Text>>>,
    failing: Arc<AtomicBool>,
    bad_signatures: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> Self {
        let texts = Arc::new(Mutex::new(Vec::new()));
        let failing = Arc::new(AtomicBool::new(false));
        let bad_signatures = Arc::new(Mutex::new(Vec::new()));
        let (t, f, b) = (texts.clone(), failing.clone(), bad_signatures.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (texts, failing, bad) = (t.clone(), f.clone(), b.clone());
                async move {
                    let signature = headers
                        .get("tessera-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if !signature_is_valid(&signature, &body) {
                        bad.lock().unwrap().push(signature);
                        return StatusCode::UNAUTHORIZED;
                    }
                    if failing.load(Ordering::SeqCst) {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let json: Value = serde_json::from_slice(&body).unwrap();
                    texts.lock().unwrap().push(Text {
                        to: json["to"].as_str().unwrap().to_owned(),
                        body: json["body"].as_str().unwrap().to_owned(),
                    });
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            texts,
            failing,
            bad_signatures,
        }
    }

    /// Waits (up to 15 s) for the `count`th text to `to`.
    async fn wait_for(&self, to: &str, count: usize) -> Text {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let texts: Vec<Text> = self
                .texts
                .lock()
                .unwrap()
                .iter()
                .filter(|t| t.to == to)
                .cloned()
                .collect();
            if texts.len() >= count {
                return texts[count - 1].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no text {count} to {to}: {texts:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// `t=TIMESTAMP,v1=HEX`, HMAC-SHA-256 over `TIMESTAMP.BODY`, checked with RustCrypto.
fn signature_is_valid(header: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn setup(receiver: &Receiver) -> Setup {
    let url = receiver.url.clone();
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.sms.webhook_url = Some(url);
        config.sms.webhook_secret = Some(SECRET.into());
    })
    .await;
    with_client_and_ada(app).await
}

const NUMBER: &str = "+442079460958";

/// Signs in with the password and confirms `NUMBER` on the account page.
async fn confirm_number(s: &Setup, receiver: &Receiver, browser: &Browser) {
    password(browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = browser.get(&s.app.url("/account/phone")).await.page();
    assert_eq!(page.status, 200, "{}", page.html);
    let malformed = browser
        .submit(&page.form(), &[("phone", "020 7946 0958")])
        .await
        .page();
    assert_eq!(malformed.status, 400, "a number without its country code");
    let sent = browser
        .submit(&malformed.form(), &[("phone", "+44 20 7946 0958")])
        .await
        .page();
    assert!(sent.contains("We texted a code to +44"), "{}", sent.html);
    let text = receiver.wait_for(NUMBER, 1).await;
    assert!(text.body.contains("is your code"), "{text:?}");
    let done = browser
        .submit(&sent.form(), &[("sms_code", text.code().as_str())])
        .await
        .page();
    assert!(
        done.contains("Codes by text message turned on"),
        "{}",
        done.html
    );
}

#[tokio::test]
async fn a_confirmed_number_receives_signed_sign_in_codes_by_sms() {
    let receiver = Receiver::start().await;
    let s = setup(&receiver).await;
    confirm_number(&s, &receiver, &Browser::new(&s.app.base_url)).await;
    let ada = ada_id(&s).await;
    let user = s.app.probe.find_user(&ada).await.unwrap().unwrap();
    assert_eq!(user.phone_number.unwrap().as_str(), NUMBER);

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
        .submit(&page.form_with("send_sms_code"), &[])
        .await
        .page();
    assert!(asked.contains("We texted a code to +44"), "{}", asked.html);
    let text = receiver.wait_for(NUMBER, 2).await;
    let back = browser
        .submit(
            &asked.form_with("sms_code"),
            &[("sms_code", text.code().as_str())],
        )
        .await
        .client();
    let claims = id_token_after(&s, back).await;
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    assert!(receiver.bad_signatures.lock().unwrap().is_empty());

    // The code works once.
    let again = Browser::new(&s.app.base_url);
    let page = password(
        &again,
        again.get(&authorize_url(&s.app, Some(ACR_MFA))).await,
    )
    .await
    .page();
    let mut fields = page.form_with("send_sms_code").fields;
    fields.remove("send_sms_code");
    fields.insert("sms_code".into(), text.code());
    let replayed = again
        .post_form(&s.app.url("/login/second-factor"), &fields)
        .await
        .page();
    assert_eq!(replayed.status, 401, "{}", replayed.html);
}

#[tokio::test]
async fn a_code_confirms_only_the_number_it_was_sent_to() {
    let receiver = Receiver::start().await;
    let s = setup(&receiver).await;
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    let page = browser.get(&s.app.url("/account/phone")).await.page();
    let sent = browser
        .submit(&page.form(), &[("phone", NUMBER)])
        .await
        .page();
    let text = receiver.wait_for(NUMBER, 1).await;
    // The form's hidden number swapped for another: the code does not confirm it.
    let swapped = browser
        .submit(
            &sent.form(),
            &[
                ("phone", "+14155550132"),
                ("sms_code", text.code().as_str()),
            ],
        )
        .await
        .page();
    assert_eq!(swapped.status, 401, "{}", swapped.html);
    let ada = ada_id(&s).await;
    assert_eq!(
        s.app
            .probe
            .find_user(&ada)
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        None
    );
}

#[tokio::test]
async fn sms_sends_are_limited_and_a_failing_webhook_is_retried() {
    let receiver = Receiver::start().await;
    let s = setup(&receiver).await;
    let browser = Browser::new(&s.app.base_url);
    password(&browser, browser.get(&authorize_url(&s.app, None)).await)
        .await
        .client();
    receiver.failing.store(true, Ordering::SeqCst);
    let page = browser.get(&s.app.url("/account/phone")).await.page();
    let sent = browser
        .submit(&page.form(), &[("phone", NUMBER)])
        .await
        .page();
    assert_eq!(sent.status, 200, "queued whatever the webhook answers");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let queued = s.app.probe.list_queued_messages().await.unwrap();
        if let Some((_, _, Some(error))) = queued.first() {
            assert!(error.contains("500"), "{error}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never tried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    receiver.failing.store(false, Ordering::SeqCst);
    s.app.clock.advance(Duration::seconds(5));
    receiver.wait_for(NUMBER, 1).await;

    // Codes are limited per number and per network source (SMS pumping): past the free sends,
    // 429, even with the account's own count lifted before each send. (Both counts grow
    // together here, from one source to one number; the store contract tests the counts.)
    let operator = s
        .app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        operator.unlock_user("ada@example.com").await.unwrap();
        let page = browser.get(&s.app.url("/account/phone")).await.page();
        statuses.push(
            browser
                .submit(&page.form(), &[("phone", NUMBER)])
                .await
                .page()
                .status,
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_webhook_that_hangs_times_out_and_the_text_waits_for_a_retry() {
    // Accepts the request and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let app = tessera_testkit::spawn_app_with(move |config| {
        config.sms.webhook_url = Some(url);
        config.sms.webhook_secret = Some(SECRET.into());
    })
    .await;
    let number = tessera_core::PhoneNumber::parse(NUMBER).unwrap();
    app.state
        .queue_sms(&number, "123456 is your code")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let queued = app.probe.list_queued_messages().await.unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        if let (_, _, Some(error)) = &queued[0] {
            assert!(error.contains("webhook"), "{error}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook call never gave up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
