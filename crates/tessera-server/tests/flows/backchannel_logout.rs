//! OpenID Connect Back-Channel Logout 1.0, over real HTTP: a revocation queues logout tokens for
//! the clients that took part in the ended sessions, the server's worker posts them to a loopback
//! receiver run by the test, and the tokens verify independently (`jsonwebtoken`, from
//! discovery). Retries are scheduled on the server's manual clock, so tests move the clock to
//! make a retry due and wake the worker instead of sleeping through the backoff.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};
use tessera_core::audit::action;
use tessera_core::backchannel::{retry_delay, BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYP};
use tessera_core::{
    AuditEvent, BrowserSession, NewClient, RevocationReason, RevocationTarget, User,
};
use tessera_server::backchannel::LOGOUT_TOKEN_LIFETIME;
use tessera_server::workers::backchannel::{MAX_ATTEMPTS, SEND_TIMEOUT};
use tessera_store::RevocationOutcome;
use tessera_testkit::grants::{CodeOptions, WebClient, REDIRECT_URI};
use tessera_testkit::independent::{verify_via_discovery, Verified};
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen within a second or two.
const DEADLINE: StdDuration = StdDuration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The loopback receiver: a relying party's back-channel logout endpoint.

/// How the receiver answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// 200 OK.
    #[default]
    Ok,
    /// 500 Internal Server Error.
    Fail,
    /// No answer for a minute (far past the server's send timeout).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    /// The client id in the path (`/bc/{client}`).
    client: String,
    content_type: Option<String>,
    form: BTreeMap<String, String>,
}

impl Received {
    fn logout_token(&self) -> &str {
        self.form
            .get("logout_token")
            .map(String::as_str)
            .expect("the form has a logout_token")
    }
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    mode: Mutex<Mode>,
}

#[derive(Debug)]
struct Receiver {
    base: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let base = format!("http://{}", listener.local_addr().expect("bound address"));
        let router = Router::new()
            .route("/bc/{client}", post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { base, shared, task }
    }

    /// The back-channel logout URI to register for `client`.
    fn uri(&self, client: &str) -> String {
        format!("{}/bc/{client}", self.base)
    }

    fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// Waits until at least `n` requests arrived; returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        wait_until(&format!("{n} logout request(s)"), || async {
            self.count() >= n
        })
        .await;
        self.received()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(client): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let form = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    shared.received.lock().unwrap().push(Received {
        client,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form,
    });
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Ok => StatusCode::OK,
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Mode::Hang => {
            tokio::time::sleep(StdDuration::from_secs(60)).await;
            StatusCode::OK
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Polls `done` until it holds; fails the test after [`DEADLINE`].
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Moves the server's clock by `step` and wakes the worker, again and again, until `done` holds.
/// The worker records a failure with the time it reads after the failed attempt, so the clock
/// is moved repeatedly rather than once: a retry recorded after a move becomes due at the next.
async fn drive_until<F, Fut>(app: &TestApp, step: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        app.clock.advance(step);
        app.state.signals.backchannel_wake.notify_one();
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

async fn queued(app: &TestApp) -> u64 {
    app.probe
        .count_backchannel_deliveries()
        .await
        .expect("store")
}

async fn wait_for_empty_queue(app: &TestApp) {
    wait_until("an empty delivery queue", || async {
        queued(app).await == 0
    })
    .await;
}

/// Registers a first-party web client, with a back-channel logout URI when given one.
async fn add_client(app: &TestApp, id: &str, backchannel_logout_uri: Option<String>) -> WebClient {
    app.register_client(NewClient {
        id: id.to_owned(),
        redirect_uris: vec![REDIRECT_URI.into()],
        backchannel_logout_uri,
        is_first_party: true,
        scopes: vec!["openid".into()],
        ..NewClient::default()
    })
    .await
}

/// Makes `client` take part in `session` (an authorization code issued in it).
async fn take_part(app: &TestApp, client: &WebClient, user: &User, session: &BrowserSession) {
    app.issue_code(
        client,
        user,
        CodeOptions {
            session: Some(session.clone()),
            ..CodeOptions::default()
        },
    )
    .await;
}

async fn revoke_session(app: &TestApp, session: &BrowserSession) -> RevocationOutcome {
    app.state
        .revoke(
            RevocationTarget::Session {
                sid: session.sid.clone(),
                user_id: session.user_id.clone(),
            },
            RevocationReason::Logout,
            "cli",
        )
        .await
        .expect("store")
        .expect("a new revocation")
}

async fn abandoned(app: &TestApp) -> Vec<AuditEvent> {
    let audit = app
        .state
        .services
        .store
        .recent_audit(50)
        .await
        .expect("store");
    audit
        .into_iter()
        .filter(|event| event.action == action::BACKCHANNEL_ABANDONED)
        .collect()
}

fn jti_of(verified: &Verified) -> String {
    verified.claims["jti"]
        .as_str()
        .expect("a string jti")
        .to_owned()
}

async fn verify(app: &TestApp, received: &Received) -> Verified {
    verify_via_discovery(
        &app.http,
        &app.base_url,
        received.logout_token(),
        &received.client,
        LOGOUT_TOKEN_TYP,
    )
    .await
    .expect("the logout token verifies independently")
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn a_revoked_session_sends_one_logout_token_that_verifies_independently() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let web = add_client(&app, "web", Some(rx.uri("web"))).await;
    let user = app
        .add_user("ada@example.com", None, Some("Ada"), &[])
        .await;
    // The sign-in carried a nonce; a logout token must never carry one.
    let issued = app
        .issue_code(
            &web,
            &user,
            CodeOptions::default().with_nonce("n-0S6_WzA2Mj"),
        )
        .await;
    let issued_at = app.clock.now_unix();

    let outcome = revoke_session(&app, &issued.session).await;
    assert_eq!(outcome.logout_notifications, 1);

    rx.wait_for(1).await;
    wait_for_empty_queue(&app).await;
    let received = rx.received();
    assert_eq!(received.len(), 1, "exactly one POST: {received:?}");
    let post = &received[0];
    assert_eq!(post.client, "web");
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        post.form.keys().collect::<Vec<_>>(),
        ["logout_token"],
        "the body is the logout token alone"
    );

    let verified = verify(&app, post).await;
    assert_eq!(verified.header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(
        format!("{:?}", verified.header.alg),
        app.state.settings.id_token_alg.as_str(),
        "signed with the ID-token algorithm"
    );
    let claims = &verified.claims;
    assert_eq!(claims["iss"], app.base_url.as_str());
    assert_eq!(claims["aud"], "web");
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["sid"], issued.session.sid.as_str());
    assert_eq!(claims["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "no nonce: {claims}");
    assert!(
        claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16),
        "an unguessable jti: {claims}"
    );
    verified.assert_issued_at(issued_at, LOGOUT_TOKEN_LIFETIME.whole_seconds());
    assert_eq!(LOGOUT_TOKEN_LIFETIME.whole_seconds(), 120);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_after_the_backoff_with_the_same_jti() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let web = add_client(&app, "web", Some(rx.uri("web"))).await;
    let user = app.add_user("ada@example.com", None, None, &[]).await;
    let issued = app.issue_code(&web, &user, CodeOptions::default()).await;
    rx.set_mode(Mode::Fail);

    revoke_session(&app, &issued.session).await;
    rx.wait_for(1).await;
    rx.set_mode(Mode::Ok);

    // Not retried before the backoff has passed on the server's clock (the worker looks at the
    // queue at least once a second).
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(rx.count(), 1, "no retry before retry_delay(1)");
    assert_eq!(queued(&app).await, 1, "the failed delivery stays queued");

    drive_until(&app, retry_delay(1), "the retry", || async {
        rx.count() >= 2
    })
    .await;
    let retried_at = app.clock.now_unix();
    wait_for_empty_queue(&app).await;
    let received = rx.received();
    assert_eq!(received.len(), 2, "{received:?}");

    let first = verify(&app, &received[0]).await;
    let second = verify(&app, &received[1]).await;
    assert_eq!(
        first.claims["jti"], second.claims["jti"],
        "the jti is stable"
    );
    assert_eq!(first.claims["sid"], second.claims["sid"]);
    // Each attempt signs a fresh token, so a retry is never stale.
    assert!(second.claims["iat"].as_i64() > first.claims["iat"].as_i64());
    assert!(second.claims["iat"].as_i64() <= Some(retried_at));
}

#[tokio::test]
async fn a_hanging_receiver_neither_slows_the_revocation_nor_loses_the_delivery() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let web = add_client(&app, "web", Some(rx.uri("web"))).await;
    let user = app.add_user("ada@example.com", None, None, &[]).await;
    let issued = app.issue_code(&web, &user, CodeOptions::default()).await;
    let other = app.issue_code(&web, &user, CodeOptions::default()).await;
    rx.set_mode(Mode::Hang);

    revoke_session(&app, &issued.session).await;
    rx.wait_for(1).await;
    // The worker is now waiting on the receiver; a second logout is not held up by it.
    let revoked = tokio::time::timeout(
        StdDuration::from_secs(2),
        revoke_session(&app, &other.session),
    )
    .await
    .expect("the revocation returns while the receiver hangs");
    assert_eq!(revoked.logout_notifications, 1);
    assert_eq!(rx.count(), 1, "the first request is still hanging");
    assert_eq!(queued(&app).await, 2, "nothing was lost");

    // After the send timeout the hung delivery fails and is retried.
    rx.set_mode(Mode::Ok);
    tokio::time::sleep(SEND_TIMEOUT).await;
    drive_until(&app, retry_delay(1), "both deliveries", || async {
        queued(&app).await == 0
    })
    .await;
    let received = rx.received();
    let mut sids = Vec::new();
    for post in &received {
        sids.push(verify(&app, post).await.claims["sid"].clone());
    }
    assert!(
        sids.contains(&json!(issued.session.sid.as_str())),
        "{sids:?}"
    );
    assert!(
        sids.contains(&json!(other.session.sid.as_str())),
        "{sids:?}"
    );
    assert_eq!(
        sids.iter()
            .filter(|sid| **sid == json!(issued.session.sid.as_str()))
            .count(),
        2,
        "the hung delivery was retried once: {sids:?}"
    );
}

#[tokio::test]
async fn only_participating_clients_with_a_backchannel_uri_are_notified() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let with_uri = add_client(&app, "with-uri", Some(rx.uri("with-uri"))).await;
    let without_uri = add_client(&app, "without-uri", None).await;
    let elsewhere = add_client(&app, "elsewhere", Some(rx.uri("elsewhere"))).await;
    let user = app.add_user("ada@example.com", None, None, &[]).await;

    let session = app.create_session(&user, &["pwd".into()]).await;
    take_part(&app, &with_uri, &user, &session).await;
    take_part(&app, &without_uri, &user, &session).await;
    // `elsewhere` took part only in another session of the same user, which stays.
    let kept = app.create_session(&user, &["pwd".into()]).await;
    take_part(&app, &elsewhere, &user, &kept).await;

    let outcome = revoke_session(&app, &session).await;
    assert_eq!(outcome.logout_notifications, 1);
    rx.wait_for(1).await;
    wait_for_empty_queue(&app).await;
    let received = rx.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].client, "with-uri");
    let verified = verify(&app, &received[0]).await;
    assert_eq!(verified.claims["sid"], session.sid.as_str());
}

#[tokio::test]
async fn revoking_a_user_notifies_the_participants_of_each_session() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let a = add_client(&app, "app-a", Some(rx.uri("app-a"))).await;
    let b = add_client(&app, "app-b", Some(rx.uri("app-b"))).await;
    let ada = app.add_user("ada@example.com", None, None, &[]).await;
    let bob = app.add_user("bob@example.com", None, None, &[]).await;

    let first = app.create_session(&ada, &["pwd".into()]).await;
    take_part(&app, &a, &ada, &first).await;
    let second = app.create_session(&ada, &["pwd".into()]).await;
    take_part(&app, &a, &ada, &second).await;
    take_part(&app, &b, &ada, &second).await;
    let bobs = app.create_session(&bob, &["pwd".into()]).await;
    take_part(&app, &a, &bob, &bobs).await;

    let outcome = app
        .state
        .revoke(
            RevocationTarget::User {
                user_id: ada.id.clone(),
            },
            RevocationReason::AdminRevoke,
            "cli",
        )
        .await
        .expect("store")
        .expect("a new revocation");
    assert_eq!(outcome.logout_notifications, 3);

    rx.wait_for(3).await;
    wait_for_empty_queue(&app).await;
    let received = rx.received();
    assert_eq!(received.len(), 3, "{received:?}");
    let mut seen = Vec::new();
    for post in &received {
        let verified = verify(&app, post).await;
        assert_eq!(verified.claims["sub"], ada.id.as_str());
        assert_eq!(verified.claims["aud"], post.client.as_str());
        seen.push((
            post.client.clone(),
            verified.claims["sid"].as_str().unwrap().to_owned(),
        ));
    }
    seen.sort();
    let mut expected = vec![
        ("app-a".to_owned(), first.sid.to_string()),
        ("app-a".to_owned(), second.sid.to_string()),
        ("app-b".to_owned(), second.sid.to_string()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let jtis: std::collections::BTreeSet<String> = {
        let mut set = std::collections::BTreeSet::new();
        for post in &received {
            set.insert(jti_of(&verify(&app, post).await));
        }
        set
    };
    assert_eq!(jtis.len(), 3, "one jti per delivery");
}

#[tokio::test]
async fn a_delivery_is_abandoned_and_audited_after_ten_failures() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let web = add_client(&app, "web", Some(rx.uri("web"))).await;
    let user = app.add_user("ada@example.com", None, None, &[]).await;
    let issued = app.issue_code(&web, &user, CodeOptions::default()).await;
    rx.set_mode(Mode::Fail);

    revoke_session(&app, &issued.session).await;
    // Each step is longer than the longest backoff, so every recorded retry is due at the next.
    drive_until(&app, Duration::seconds(301), "the last attempt", || async {
        rx.count() >= MAX_ATTEMPTS as usize && queued(&app).await == 0
    })
    .await;
    // Given up: no further attempt, however long one waits.
    for _ in 0..5 {
        app.clock.advance(Duration::seconds(301));
        app.state.signals.backchannel_wake.notify_one();
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let received = rx.received();
    assert_eq!(received.len(), 10, "ten attempts, no more");
    assert_eq!(MAX_ATTEMPTS, 10);
    let mut jtis = std::collections::BTreeSet::new();
    for post in &received {
        jtis.insert(jti_of(&verify(&app, post).await));
    }
    assert_eq!(jtis.len(), 1, "the same jti on every attempt");
    let jti = jtis.into_iter().next().unwrap();

    // The record is written right after the delivery is removed.
    wait_until("the audit record", || async {
        !abandoned(&app).await.is_empty()
    })
    .await;
    let abandoned = abandoned(&app).await;
    assert_eq!(abandoned.len(), 1, "{abandoned:?}");
    let event = &abandoned[0];
    assert_eq!(event.actor, "system");
    assert_eq!(event.target, issued.session.sid.as_str());
    assert!(
        event.reason.as_deref().is_some_and(|r| r.contains("500")),
        "the last error is kept: {:?}",
        event.reason
    );
    let detail: Value = serde_json::from_str(&event.detail).expect("JSON detail");
    assert_eq!(
        detail,
        json!({ "client_id": "web", "jti": jti, "attempts": 10 })
    );
}
