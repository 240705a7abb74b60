//! The revocation feed for resource servers (`GET /revocations`, `GET /revocations/stream`),
//! over real HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tessera_core::{Clock, Revocation, RevocationEntry, RevocationReason, RevocationTarget, User};
use tessera_testkit::{spawn_app, TestApp};
use time::Duration as TimeDuration;

/// The resource server's client id.
pub(crate) const API: &str = "api";

/// A server with a resource server registered as a confidential client; returns its secret.
pub(crate) async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let secret = app.add_resource_server(API, &[]).await;
    (app, secret)
}

async fn user(app: &TestApp, email: &str) -> User {
    app.add_user(email, None, None, &[]).await
}

/// `GET /revocations{query}` as the resource server.
pub(crate) async fn feed(app: &TestApp, secret: &str, query: &str) -> reqwest::Response {
    app.http
        .get(app.url(&format!("/revocations{query}")))
        .basic_auth(API, Some(secret))
        .send()
        .await
        .unwrap()
}

/// A successful read of the feed.
pub(crate) async fn feed_json(app: &TestApp, secret: &str, query: &str) -> Value {
    let response = feed(app, secret, query).await;
    assert_eq!(response.status(), StatusCode::OK, "GET /revocations{query}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    response.json().await.unwrap()
}

async fn revoke(
    app: &TestApp,
    target: RevocationTarget,
    reason: RevocationReason,
) -> RevocationEntry {
    app.state
        .revoke(target, reason, "cli")
        .await
        .expect("store")
        .expect("a new entry")
        .entry
}

/// Revokes an access token with `jti` that expires in `lifetime_secs`.
pub(crate) async fn revoke_token(app: &TestApp, jti: &str, lifetime_secs: i64) -> RevocationEntry {
    let target = RevocationTarget::Token {
        jti: jti.into(),
        expires_at: app.clock.now() + TimeDuration::seconds(lifetime_secs),
    };
    revoke(app, target, RevocationReason::ClientRequest).await
}

pub(crate) fn cursor_of(body: &Value) -> i64 {
    body["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a string cursor in {body}"))
        .parse()
        .unwrap()
}

pub(crate) fn entries(body: &Value) -> &Vec<Value> {
    body["entries"].as_array().expect("entries")
}

pub(crate) fn jtis(body: &Value) -> Vec<&str> {
    entries(body)
        .iter()
        .map(|e| e["jti"].as_str().expect("a token entry"))
        .collect()
}

pub(crate) async fn assert_error(
    response: reqwest::Response,
    status: StatusCode,
    error: &str,
) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body
}

#[tokio::test]
async fn only_confidential_clients_with_http_basic_may_read() {
    let (app, secret) = setup().await;
    let spa = app.add_web_client("spa", true, &["openid"], &[]).await;
    for path in ["/revocations", "/revocations/stream"] {
        // No credentials: a Basic challenge.
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        // The secret in the query is not accepted (it is a GET).
        let url = app.url(&format!("{path}?client_id={API}&client_secret={secret}"));
        let response = app.http.get(url).send().await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        // A wrong secret, another scheme, a public client with or without a secret.
        let attempts = [
            app.http.get(app.url(path)).basic_auth(API, Some("wrong")),
            app.http.get(app.url(path)).bearer_auth(&secret),
            app.http.get(app.url(path)).basic_auth(spa.id(), Some("x")),
            app.http
                .get(app.url(path))
                .basic_auth(spa.id(), None::<&str>),
        ];
        for request in attempts {
            let response = request.send().await.unwrap();
            assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        }
    }
    // A confidential client with the right secret that is not a resource server (an app, a
    // third-party integration) may not read every user's sessions and revocation reasons.
    let app_secret = app.add_service_client("reporting", &[]).await;
    for path in ["/revocations", "/revocations/stream"] {
        let response = app
            .http
            .get(app.url(path))
            .basic_auth("reporting", Some(&app_secret))
            .send()
            .await
            .unwrap();
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("resource server"),
            "{body}"
        );
    }
    // The resource server itself may.
    feed_json(&app, &secret, "").await;
}

#[tokio::test]
async fn without_a_cursor_the_answer_is_a_snapshot_of_the_live_entries() {
    let (app, secret) = setup().await;
    let empty = feed_json(&app, &secret, "").await;
    assert_eq!(empty, json!({"entries": [], "cursor": "0", "resync": true}));

    let short = revoke_token(&app, "short-lived", 10).await;
    let long = revoke_token(&app, "long-lived", 600).await;
    let body = feed_json(&app, &secret, "").await;
    assert_eq!(body["resync"], true);
    assert_eq!(jtis(&body), ["short-lived", "long-lived"]);
    assert_eq!(cursor_of(&body), long.cursor);
    assert!(short.cursor < long.cursor);

    // An expired entry is left out even before it is swept; the cursor is still the newest.
    app.clock.advance(TimeDuration::seconds(20));
    let body = feed_json(&app, &secret, "").await;
    assert_eq!(jtis(&body), ["long-lived"]);
    assert_eq!(cursor_of(&body), long.cursor);
    // A limit does not cut a snapshot.
    let body = feed_json(&app, &secret, "?limit=1").await;
    assert_eq!(body["resync"], true);
    assert_eq!(jtis(&body), ["long-lived"]);
}

#[tokio::test]
async fn entries_after_a_cursor_come_once_in_order_and_page_with_limit() {
    let (app, secret) = setup().await;
    let start = cursor_of(&feed_json(&app, &secret, "").await);
    let names: Vec<String> = (0..5).map(|i| format!("jti-{i}")).collect();
    for name in &names {
        revoke_token(&app, name, 600).await;
    }

    // Pages of two, each starting where the last ended.
    let mut seen = Vec::new();
    let mut cursor = start;
    let mut pages = 0;
    loop {
        let body = feed_json(&app, &secret, &format!("?after={cursor}&limit=2")).await;
        assert_eq!(body["resync"], false);
        let page: Vec<String> = jtis(&body).into_iter().map(str::to_owned).collect();
        assert!(page.len() <= 2);
        let next = cursor_of(&body);
        if page.is_empty() {
            // Nothing new: the cursor given comes back.
            assert_eq!(next, cursor);
            break;
        }
        let last = entries(&body).last().unwrap()["cursor"].as_str().unwrap();
        assert_eq!(last, next.to_string(), "the cursor is the last entry's");
        assert!(next > cursor);
        cursor = next;
        seen.extend(page);
        pages += 1;
    }
    assert_eq!(seen, names);
    assert_eq!(pages, 3);

    // Default and over-large limits return everything here; cursors increase.
    for query in [
        format!("?after={start}"),
        format!("?after={start}&limit=5000"),
    ] {
        let body = feed_json(&app, &secret, &query).await;
        assert_eq!(jtis(&body), names);
        let cursors: Vec<i64> = entries(&body)
            .iter()
            .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(cursor_of(&body), *cursors.last().unwrap());
    }
}

#[tokio::test]
async fn each_kind_carries_its_own_fields() {
    let (app, secret) = setup().await;
    let ada = user(&app, "ada@example.com").await;
    let session = app.create_session(&ada, &[]).await;
    let start = cursor_of(&feed_json(&app, &secret, "").await);
    let now = app.clock.now().unix_timestamp();
    let lifetime = app.state.settings.lifetimes.access_token.whole_seconds();

    let token = revoke_token(&app, "the-jti", 300).await;
    let by_session = revoke(
        &app,
        RevocationTarget::Session {
            sid: session.sid.clone(),
            user_id: ada.id.clone(),
        },
        RevocationReason::Logout,
    )
    .await;
    let by_user = revoke(
        &app,
        RevocationTarget::User {
            user_id: ada.id.clone(),
        },
        RevocationReason::PasswordChange,
    )
    .await;
    let by_claims = revoke(
        &app,
        RevocationTarget::UserClaims {
            user_id: ada.id.clone(),
        },
        RevocationReason::RolesChange,
    )
    .await;
    let global = revoke(
        &app,
        RevocationTarget::Global,
        RevocationReason::KeyRotation,
    )
    .await;

    let body = feed_json(&app, &secret, &format!("?after={start}")).await;
    let c = |e: &RevocationEntry| e.cursor.to_string();
    // The test clock stands on a whole second: not_before is the next one.
    let not_before = now + 1;
    let kept = not_before + lifetime + 120;
    assert_eq!(
        body,
        json!({
            "entries": [
                {
                    "cursor": c(&token),
                    "kind": "token-revoked",
                    "reason": "client-request",
                    "revoked_at": now,
                    "expires_at": now + 300,
                    "jti": "the-jti",
                },
                {
                    "cursor": c(&by_session),
                    "kind": "session-revoked",
                    "reason": "logout",
                    "revoked_at": now,
                    "expires_at": now + lifetime + 120,
                    "sid": session.sid.as_str(),
                    "sub": ada.id.as_str(),
                },
                {
                    "cursor": c(&by_user),
                    "kind": "credential-change",
                    "reason": "password-change",
                    "revoked_at": now,
                    "expires_at": kept,
                    "sub": ada.id.as_str(),
                    "not_before": not_before,
                },
                {
                    "cursor": c(&by_claims),
                    "kind": "token-claims-change",
                    "reason": "roles-change",
                    "revoked_at": now,
                    "expires_at": kept,
                    "sub": ada.id.as_str(),
                    "not_before": not_before,
                },
                {
                    "cursor": c(&global),
                    "kind": "global-revoked",
                    "reason": "key-rotation",
                    "revoked_at": now,
                    "expires_at": kept,
                    "not_before": not_before,
                },
            ],
            "cursor": c(&global),
            "resync": false,
        })
    );
    // The snapshot carries the same entries.
    let snapshot = feed_json(&app, &secret, "").await;
    assert_eq!(snapshot["entries"], body["entries"]);
}

#[tokio::test]
async fn a_reader_behind_swept_entries_gets_a_snapshot_then_continues() {
    let (app, secret) = setup().await;
    let start = cursor_of(&feed_json(&app, &secret, "").await);
    revoke_token(&app, "swept", 60).await;
    let global = revoke(
        &app,
        RevocationTarget::Global,
        RevocationReason::KeyRotation,
    )
    .await;
    app.clock.advance(TimeDuration::seconds(120));
    app.state.purge_expired().await.unwrap();

    let body = feed_json(&app, &secret, &format!("?after={start}")).await;
    assert_eq!(body["resync"], true, "{body}");
    assert_eq!(entries(&body).len(), 1);
    assert_eq!(entries(&body)[0]["kind"], "global-revoked");
    assert_eq!(cursor_of(&body), global.cursor);
    assert_eq!(
        body,
        feed_json(&app, &secret, "").await,
        "the same as a snapshot"
    );

    // From the snapshot's cursor the feed goes on normally.
    let next = revoke_token(&app, "after-resync", 600).await;
    let body = feed_json(&app, &secret, &format!("?after={}", global.cursor)).await;
    assert_eq!(body["resync"], false);
    assert_eq!(jtis(&body), ["after-resync"]);
    assert_eq!(cursor_of(&body), next.cursor);
}

#[tokio::test]
async fn garbage_and_future_cursors_are_invalid_requests() {
    let (app, secret) = setup().await;
    let entry = revoke_token(&app, "j", 600).await;
    let future = entry.cursor + 1;
    let bad = [
        "?after=abc".to_owned(),
        "?after=-1".to_owned(),
        "?after=%2B1".to_owned(),
        "?after=1.5".to_owned(),
        "?after=0x10".to_owned(),
        "?after=99999999999999999999".to_owned(),
        "?after=1&after=2".to_owned(),
        "?after=0&limit=0".to_owned(),
        "?after=0&limit=ten".to_owned(),
        format!("?after={future}"),
    ];
    for query in &bad {
        let response = feed(&app, &secret, query).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(body["error_description"].is_string(), "{query}: {body}");
    }
    // The stream refuses them before it starts, whether in the query or in Last-Event-ID.
    let stream = app.url("/revocations/stream");
    for query in [format!("?after={future}"), "?after=abc".to_owned()] {
        let response = app
            .http
            .get(format!("{stream}{query}"))
            .basic_auth(API, Some(&secret))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    for id in [future.to_string(), "abc".to_owned(), "-3".to_owned()] {
        let response = app
            .http
            .get(&stream)
            .basic_auth(API, Some(&secret))
            .header("last-event-id", id)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Nothing changed: the feed reads as before.
    let body = feed_json(&app, &secret, &format!("?after={}", entry.cursor)).await;
    assert_eq!(
        body,
        json!({"entries": [], "cursor": entry.cursor.to_string(), "resync": false})
    );
    assert_eq!(app.probe.count_revocations().await.unwrap(), 1);
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

impl SseEvent {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// A minimal SSE reader over a streamed response body.
pub(crate) struct EventStream {
    pub(crate) response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    pub(crate) async fn open(
        app: &TestApp,
        secret: &str,
        query: &str,
        last_event_id: Option<i64>,
    ) -> Self {
        let response = Self::request(app, API, secret, query, last_event_id).await;
        Self::of(response)
    }

    /// Asks for a stream as `client_id`; the answer may be a refusal.
    pub(crate) async fn request(
        app: &TestApp,
        client_id: &str,
        secret: &str,
        query: &str,
        last_event_id: Option<i64>,
    ) -> reqwest::Response {
        let mut request = app
            .http
            .get(app.url(&format!("/revocations/stream{query}")))
            .basic_auth(client_id, Some(secret));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        request.send().await.unwrap()
    }

    /// The stream of an accepted request.
    pub(crate) fn of(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-store");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments are skipped). The timeout only guards against a
    /// hang; it is not a speed requirement.
    pub(crate) async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(event) = self.take_event() {
                    return event;
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .expect("the stream reads")
                    .expect("the stream stays open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event arrives")
    }

    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent::default();
            let mut any = false;
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => event.id = Some(value.to_owned()),
                    "event" => event.event = Some(value.to_owned()),
                    "data" => {
                        if any && !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                    }
                    _ => continue, // a comment (keep-alive) or an unknown field
                }
                any = true;
            }
            if any {
                return Some(event);
            }
        }
    }
}

/// Checks that `event` is the feed entry `entry` with kind `kind`.
pub(crate) fn assert_entry_event(event: &SseEvent, entry: &RevocationEntry, kind: &str) {
    assert_eq!(event.id.as_deref(), Some(entry.cursor.to_string().as_str()));
    assert_eq!(event.event.as_deref(), Some(kind));
    let data = event.json();
    assert_eq!(data["cursor"], entry.cursor.to_string());
    assert_eq!(data["kind"], kind);
}

#[tokio::test]
async fn the_stream_starts_with_a_snapshot_then_delivers_announced_revocations() {
    let (app, secret) = setup().await;
    let ada = user(&app, "ada@example.com").await;
    let before = revoke_token(&app, "before", 600).await;

    let mut stream = EventStream::open(&app, &secret, "", None).await;
    let snapshot = stream.next().await;
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));
    assert_eq!(
        snapshot.id.as_deref(),
        Some(before.cursor.to_string().as_str())
    );
    let body = snapshot.json();
    assert_eq!(body["resync"], true);
    assert_eq!(cursor_of(&body), before.cursor);
    assert_eq!(jtis(&body), ["before"]);

    // A revocation made in this process is announced on the feed channel before `revoke`
    // returns, and the stream, waiting on that channel, delivers it.
    let session = app.create_session(&ada, &[]).await;
    let entry = revoke(
        &app,
        RevocationTarget::Session {
            sid: session.sid.clone(),
            user_id: ada.id.clone(),
        },
        RevocationReason::Logout,
    )
    .await;
    assert_eq!(
        *app.state.signals.feed_cursor.borrow(),
        entry.cursor,
        "announced"
    );
    let event = stream.next().await;
    assert_entry_event(&event, &entry, "session-revoked");
    let data = event.json();
    assert_eq!(data["sid"], session.sid.as_str());
    assert_eq!(data["sub"], ada.id.as_str());
    assert_eq!(data["reason"], "logout");

    // Several in a row come in order, once each.
    let a = revoke_token(&app, "a", 600).await;
    let b = revoke_token(&app, "b", 600).await;
    assert_entry_event(&stream.next().await, &a, "token-revoked");
    let event = stream.next().await;
    assert_entry_event(&event, &b, "token-revoked");
    assert_eq!(event.json()["jti"], "b");
}

#[tokio::test]
async fn revocations_written_by_another_process_reach_the_stream_by_polling() {
    let (app, secret) = setup().await;
    let mut stream = EventStream::open(&app, &secret, "", None).await;
    let snapshot = stream.next().await;
    assert_eq!(snapshot.event.as_deref(), Some("snapshot"));

    // As the CLI does: straight into the store, with no announcement in this process.
    let revocation = Revocation::new(
        RevocationTarget::Global,
        app.clock.now(),
        app.state.settings.lifetimes.access_token,
        RevocationReason::KeyRotation,
        "cli",
    );
    let entry =
        tessera_server::revocations::record(app.state.services.store.as_ref(), None, &revocation)
            .await
            .unwrap()
            .expect("recorded")
            .entry;
    let event = stream.next().await;
    assert_entry_event(&event, &entry, "global-revoked");
    assert_eq!(
        event.json()["not_before"],
        revocation.not_before.unwrap().unix_timestamp()
    );
    // `record` announces nothing: the store poll did.
    assert_eq!(*app.state.signals.feed_cursor.borrow(), entry.cursor);
}

#[tokio::test]
async fn a_stream_resumes_after_last_event_id_or_after() {
    let (app, secret) = setup().await;
    let first = revoke_token(&app, "first", 600).await;
    let second = revoke_token(&app, "second", 600).await;
    let third = revoke_token(&app, "third", 600).await;

    // No snapshot: the entries after the cursor, then live ones.
    let mut stream = EventStream::open(&app, &secret, "", Some(first.cursor)).await;
    assert_entry_event(&stream.next().await, &second, "token-revoked");
    assert_entry_event(&stream.next().await, &third, "token-revoked");
    let fourth = revoke_token(&app, "fourth", 600).await;
    assert_entry_event(&stream.next().await, &fourth, "token-revoked");

    // `?after=` does the same; Last-Event-ID, which a reconnecting EventSource adds to the
    // original URL, wins over it.
    let query = format!("?after={}", first.cursor);
    let mut stream = EventStream::open(&app, &secret, &query, None).await;
    assert_entry_event(&stream.next().await, &second, "token-revoked");
    let mut stream = EventStream::open(&app, &secret, &query, Some(third.cursor)).await;
    assert_entry_event(&stream.next().await, &fourth, "token-revoked");
}

#[tokio::test]
async fn a_stream_behind_swept_entries_gets_a_resync_event_then_continues() {
    let (app, secret) = setup().await;
    let start = cursor_of(&feed_json(&app, &secret, "").await);
    revoke_token(&app, "swept", 60).await;
    let kept = revoke_token(&app, "kept", 600).await;
    app.clock.advance(TimeDuration::seconds(120));
    app.state.purge_expired().await.unwrap();

    let mut stream = EventStream::open(&app, &secret, "", Some(start)).await;
    let resync = stream.next().await;
    assert_eq!(resync.event.as_deref(), Some("resync"));
    assert_eq!(resync.id.as_deref(), Some(kept.cursor.to_string().as_str()));
    let body = resync.json();
    assert_eq!(body["resync"], true);
    assert_eq!(jtis(&body), ["kept"]);
    assert_eq!(cursor_of(&body), kept.cursor);

    let next = revoke_token(&app, "next", 600).await;
    assert_entry_event(&stream.next().await, &next, "token-revoked");
}

/// An open stream does not hold up a graceful shutdown: it ends, and the server stops.
#[tokio::test]
async fn an_open_stream_ends_when_the_server_shuts_down() {
    let (app, secret) = setup().await;
    let mut stream = EventStream::open(&app, &secret, "", None).await;
    assert_eq!(stream.next().await.event.as_deref(), Some("snapshot"));
    // The timeout only guards against a hang (without the shutdown signal, `stop` never returns).
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops with a stream open");
    let rest = tokio::time::timeout(Duration::from_secs(10), stream.response.chunk())
        .await
        .expect("the stream ends");
    assert!(matches!(rest, Ok(None) | Err(_)), "{rest:?}");
}
