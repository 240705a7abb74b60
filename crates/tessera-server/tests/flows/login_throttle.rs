//! Brute-force limits on the hosted login page, over real HTTP: attempts are counted per email
//! address typed, the address locks after five, a locked address's password is not even checked,
//! the lock lapses on the (manual) clock, and an address with no account behaves exactly like
//! one with an account. The same limits across several nodes are in `multi_node.rs`.

use tessera_core::ThrottleKey;
use tessera_testkit::browser::{Browser, Landing, Page};
use tessera_testkit::grants::{WebClient, REDIRECT_URI, TEST_PASSWORD};
use tessera_testkit::{spawn_app, spawn_app_with, TestApp};
use time::Duration;
use url::Url;

const WRONG: &str = "not-the-password-at-all";

struct Setup {
    app: TestApp,
    web: WebClient,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    for email in ["ada@example.com", "bob@example.com"] {
        app.add_user(email, Some(TEST_PASSWORD), Some("Someone"), &[])
            .await;
    }
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    Setup { app, web }
}

fn authorize_url(app: &TestApp, web: &WebClient) -> String {
    let mut url = Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", web.id())
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s");
    url.to_string()
}

/// Opens a fresh login page on `app` and posts these credentials; returns the browser (for its
/// cookies) and where it landed.
async fn attempt(
    app: &TestApp,
    web: &WebClient,
    email: &str,
    password: &str,
) -> (Browser, Landing) {
    let browser = Browser::new(&app.base_url);
    let landing = attempt_in(&browser, app, web, email, password).await;
    (browser, landing)
}

/// In `browser`, asks to sign in (`prompt=login`: the login page even with a session) and posts
/// these credentials.
async fn attempt_in(
    browser: &Browser,
    app: &TestApp,
    web: &WebClient,
    email: &str,
    password: &str,
) -> Landing {
    let url = format!("{}&prompt=login", authorize_url(app, web));
    let form = browser.get(&url).await.page().form();
    browser
        .submit(&form, &[("username", email), ("password", password)])
        .await
}

/// Posts a wrong password and returns the page.
async fn fail(app: &TestApp, web: &WebClient, email: &str) -> Page {
    attempt(app, web, email, WRONG).await.1.page()
}

/// A locked answer: 429, the lock's remaining seconds in `Retry-After`, the message, the form
/// again, and no session.
fn assert_locked(page: &Page, retry_after: u64) {
    assert_eq!(page.status, 429, "{}", page.html);
    assert_eq!(
        page.headers["retry-after"],
        retry_after.to_string().as_str()
    );
    assert!(
        page.contains("Too many sign-in attempts for this email address"),
        "{}",
        page.html
    );
    assert!(page.form().fields.contains_key("request"));
}

#[tokio::test]
async fn five_failures_lock_the_address_and_the_right_password_waits_for_the_lock() {
    let Setup { app, web } = setup().await;
    for n in 1..=5 {
        assert_eq!(
            fail(&app, &web, "ada@example.com").await.status,
            401,
            "attempt {n}"
        );
    }
    // The sixth attempt, with the right password, is refused without checking it.
    let hashes_before = app.state.services.passwords.completed();
    let (browser, landing) = attempt(&app, &web, "Ada@Example.com ", TEST_PASSWORD).await;
    let page = landing.page();
    assert_locked(&page, 60);
    assert_eq!(
        app.state.services.passwords.completed(),
        hashes_before,
        "no password is verified while the address is locked"
    );
    assert!(browser.cookie("__Host-tessera_session").is_none());

    app.clock.advance(Duration::seconds(30));
    assert_locked(&fail(&app, &web, "ada@example.com").await, 30);

    // Once the lock ends, the right password signs in, and the count is forgotten.
    app.clock.advance(Duration::seconds(30));
    let (browser, landing) = attempt(&app, &web, "ada@example.com", TEST_PASSWORD).await;
    let back = landing.client();
    assert!(back.query_pairs().any(|(k, _)| k == "code"), "{back}");
    assert!(browser.cookie("__Host-tessera_session").is_some());
    let key = ThrottleKey::for_username("ada@example.com");
    assert_eq!(app.probe.find_login_throttle(&key).await.unwrap(), None);
}

#[tokio::test]
async fn each_attempt_after_a_lock_doubles_the_next_one() {
    let Setup { app, web } = setup().await;
    for _ in 0..5 {
        fail(&app, &web, "ada@example.com").await;
    }
    for lock in [60, 120, 240] {
        assert_locked(&fail(&app, &web, "ada@example.com").await, lock);
        app.clock.advance(Duration::seconds(lock as i64));
        assert_eq!(fail(&app, &web, "ada@example.com").await.status, 401);
    }
    assert_locked(&fail(&app, &web, "ada@example.com").await, 480);
}

#[tokio::test]
async fn a_success_forgets_earlier_failures() {
    let Setup { app, web } = setup().await;
    for _ in 0..4 {
        fail(&app, &web, "ada@example.com").await;
    }
    attempt(&app, &web, "ada@example.com", TEST_PASSWORD)
        .await
        .1
        .client();
    for n in 1..=5 {
        assert_eq!(
            fail(&app, &web, "ada@example.com").await.status,
            401,
            "attempt {n}"
        );
    }
    assert_locked(&fail(&app, &web, "ada@example.com").await, 60);
}

#[tokio::test]
async fn a_locked_address_leaves_other_accounts_alone() {
    let Setup { app, web } = setup().await;
    for _ in 0..6 {
        fail(&app, &web, "ada@example.com").await;
    }
    attempt(&app, &web, "bob@example.com", TEST_PASSWORD)
        .await
        .1
        .client();
}

/// Whether an address has an account cannot be read from the limit: the same statuses,
/// `Retry-After` and message in the same order, for a real account, an unknown address and a
/// disabled account.
#[tokio::test]
async fn addresses_without_an_account_are_limited_exactly_like_accounts() {
    let Setup { app, web } = setup().await;
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .set_user_status(
            "bob@example.com",
            tessera_server::admin::UserStatus::Disabled,
        )
        .await
        .unwrap();
    let mut answers = Vec::new();
    for email in [
        "ada@example.com",
        "nobody@example.com",
        "bob@example.com",
        "not-an-email",
    ] {
        let mut seen = Vec::new();
        for _ in 0..7 {
            let page = fail(&app, &web, email).await;
            let retry_after = page
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let message = if page.contains("Too many") {
                "locked"
            } else if page.contains("Wrong email or password.") {
                "wrong"
            } else {
                panic!("{email}: unexpected page {}", page.html)
            };
            seen.push((page.status, retry_after, message));
        }
        answers.push((email, seen));
    }
    let (_, expected) = &answers[0];
    assert_eq!(expected[4].0, 401);
    assert_eq!(expected[5].0, 429);
    for (email, seen) in &answers[1..] {
        assert_eq!(
            seen, expected,
            "{email} answers differently from a real account"
        );
    }
}

/// One wrong guess at each of many accounts never trips a per-account limit: the source's
/// allowance does. Its page says so, no password is checked, and another source (through a
/// trusted proxy) is unaffected.
#[tokio::test]
async fn spraying_many_accounts_from_one_source_is_limited() {
    let app = spawn_app_with(|config| {
        config.login_throttle.source_burst = 5;
        config.login_throttle.source_refill_seconds = 60;
        config.http.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    app.add_user("ada@example.com", Some(TEST_PASSWORD), None, &[])
        .await;
    let sprayer = "203.0.113.9";
    let spray = |n: usize| {
        let (app, web) = (&app, &web);
        async move {
            let browser = Browser::forwarded_for(&app.base_url, sprayer);
            let email = format!("victim{n}@example.com");
            attempt_in(&browser, app, web, &email, WRONG).await.page()
        }
    };
    for n in 0..5 {
        assert_eq!(spray(n).await.status, 401, "guess {n}");
    }
    let hashes_before = app.state.services.passwords.completed();
    let refused = spray(5).await;
    assert_eq!(refused.status, 429, "{}", refused.html);
    assert_eq!(refused.headers["retry-after"], "60");
    assert!(refused.contains("Too many sign-in attempts from your network"));
    assert_eq!(app.state.services.passwords.completed(), hashes_before);
    // The right password from that source waits too; from another source it signs in.
    let browser = Browser::forwarded_for(&app.base_url, sprayer);
    let ada = |browser| attempt_in(browser, &app, &web, "ada@example.com", TEST_PASSWORD);
    assert_eq!(ada(&browser).await.page().status, 429);
    let browser = Browser::forwarded_for(&app.base_url, "198.51.100.20");
    ada(&browser).await.client();
    // A step later, one more guess from the sprayer is admitted.
    app.clock.advance(Duration::seconds(60));
    assert_eq!(spray(6).await.status, 401);
    assert_eq!(spray(7).await.status, 429);
}

/// Without trusted proxies a forged `X-Forwarded-For` changes nothing: every guess counts
/// against the TCP peer, whatever address it claims.
#[tokio::test]
async fn a_forged_forwarded_for_does_not_escape_the_source_limit() {
    let app = spawn_app_with(|config| {
        config.login_throttle.source_burst = 3;
    })
    .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    for n in 0..4 {
        let browser = Browser::forwarded_for(&app.base_url, &format!("203.0.113.{n}"));
        let email = format!("victim{n}@example.com");
        let page = attempt_in(&browser, &app, &web, &email, WRONG).await.page();
        assert_eq!(page.status, if n < 3 { 401 } else { 429 }, "guess {n}");
    }
}

/// Only failures fill the source's allowance: people at one address signing in all day are never
/// limited.
#[tokio::test]
async fn successes_do_not_use_up_the_source_allowance() {
    let app = spawn_app_with(|config| {
        config.login_throttle.source_burst = 3;
    })
    .await;
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    app.add_user("ada@example.com", Some(TEST_PASSWORD), None, &[])
        .await;
    for _ in 0..6 {
        attempt(&app, &web, "ada@example.com", TEST_PASSWORD)
            .await
            .1
            .client();
    }
    for n in 0..3 {
        assert_eq!(fail(&app, &web, "ada@example.com").await.status, 401, "{n}");
    }
    let page = attempt(&app, &web, "ada@example.com", TEST_PASSWORD)
        .await
        .1
        .page();
    assert_eq!(page.status, 429);
    assert!(page.contains("from your network"));
}

/// A lockout aimed at a user does not lock the user out of the browser they signed in with
/// before: its device cookie gives it an allowance of its own. A browser without one, or with a
/// forged one, stays locked.
#[tokio::test]
async fn a_browser_that_signed_in_before_keeps_its_own_allowance() {
    let Setup { app, web } = setup().await;
    let (usual, landing) = attempt(&app, &web, "ada@example.com", TEST_PASSWORD).await;
    landing.client();
    let device = usual
        .cookie("__Host-tessera_device")
        .expect("a device cookie after signing in");
    // The attacker locks the account.
    for _ in 0..6 {
        fail(&app, &web, "ada@example.com").await;
    }
    assert_locked(&fail(&app, &web, "ada@example.com").await, 60);
    // The usual browser, asked to sign in again, still can.
    attempt_in(&usual, &app, &web, "ada@example.com", TEST_PASSWORD)
        .await
        .client();
    // Another browser presenting a made-up or altered device cookie is locked like the rest.
    for forged in [
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .to_owned(),
        format!("{}A", &device[..device.len() - 1]),
    ] {
        let browser = Browser::new(&app.base_url);
        browser.set_cookie("__Host-tessera_device", &forged);
        let landing = attempt_in(&browser, &app, &web, "ada@example.com", TEST_PASSWORD).await;
        assert_locked(&landing.page(), 60);
    }
    // The device cookie is no allowance for another account.
    for _ in 0..6 {
        fail(&app, &web, "bob@example.com").await;
    }
    let landing = attempt_in(&usual, &app, &web, "bob@example.com", TEST_PASSWORD).await;
    assert_locked(&landing.page(), 60);
}
