//! Several Tessera nodes on one PostgreSQL database behave as one service: real HTTP on
//! loopback, a real PostgreSQL (always, whatever `TESSERA_TEST_STORE` says; without a server
//! these tests fail, they do not skip).
//!
//! The nodes come from `tessera_testkit::spawn_cluster`, whose periodic safety nets (the key
//! refresh and the revocation feed's poll) run only hourly: what reaches another node here
//! within a hang guard came by the store's change notifications (`LISTEN/NOTIFY`). The hang
//! guards are generous and are not speed requirements; the propagation times are printed
//! (`--nocapture`) for the curious, not asserted.

use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use tessera_testkit::browser::Browser;
use tessera_testkit::grants::{CodeOptions, WebClient, REDIRECT_URI, TEST_PASSWORD};
use tessera_testkit::{spawn_cluster, TestApp};
use url::Url;

/// How long a test waits for something that should happen well within a second.
const HANG_GUARD: Duration = Duration::from_secs(5);

/// The resource server's client id (introspection and the feed).
const API: &str = "api";

/// Three nodes with a user, a confidential web client and a resource server registered.
struct Cluster {
    nodes: Vec<TestApp>,
    web: WebClient,
    api_secret: String,
    user: tessera_core::User,
}

async fn cluster() -> Cluster {
    let nodes = spawn_cluster(3).await;
    // Registered through one node: every node reads the same store.
    let a = &nodes[0];
    let user = a
        .add_user("ada@example.com", Some(TEST_PASSWORD), Some("Ada"), &[])
        .await;
    let web = a.add_web_client("web", false, &["openid"], &[]).await;
    let api_secret = a.add_resource_server(API, &[]).await;
    Cluster {
        nodes,
        web,
        api_secret,
        user,
    }
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

async fn introspect(node: &TestApp, secret: &str, token: &str) -> Value {
    let response = node
        .http
        .post(node.url("/oauth/introspect"))
        .basic_auth(API, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// A minimal SSE reader of a node's `/revocations/stream`.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(node: &TestApp, secret: &str) -> Self {
        let response = node
            .http
            .get(node.url("/revocations/stream"))
            .basic_auth(API, Some(secret))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), within the hang guard.
    async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(HANG_GUARD, async {
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
        .expect("an event arrives within the hang guard")
    }

    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent::default();
            let mut any = false;
            for line in block.lines() {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match name {
                    "id" => event.id = Some(value.to_owned()),
                    "event" => event.event = Some(value.to_owned()),
                    "data" => event.data.push_str(value),
                    _ => continue,
                }
                any = true;
            }
            if any {
                return Some(event);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_reaches_another_nodes_introspection_and_feed_stream() {
    let c = cluster().await;
    let (a, b, node_c) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    let mut stream = EventStream::open(a, &c.api_secret).await;
    assert_eq!(stream.next().await.event.as_deref(), Some("snapshot"));

    // Signed in on A (code issued and exchanged there), refreshed on B.
    let (tokens, _) = a.sign_in(&c.web, &c.user, CodeOptions::default()).await;
    let (status, refreshed) = json_of(
        b.refresh(&c.web, field(&tokens, "refresh_token"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = field(&refreshed, "access_token");
    assert_eq!(introspect(a, &c.api_secret, access).await["active"], true);
    let jti = introspect(a, &c.api_secret, access).await["jti"]
        .as_str()
        .unwrap()
        .to_owned();

    // Revoked on C (RFC 7009, by the client that holds it).
    let revoked_at = Instant::now();
    let response = node_c
        .http
        .post(node_c.url("/oauth/revoke"))
        .basic_auth(c.web.id(), c.web.secret.as_deref())
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A's stream delivers the entry: C's node announced it only in C's process, and A's poll
    // runs hourly, so the store's notification carried it.
    let event = stream.next().await;
    let elapsed = revoked_at.elapsed();
    assert_eq!(event.event.as_deref(), Some("token-revoked"), "{event:?}");
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["jti"], jti.as_str());
    assert_eq!(event.id.as_deref(), data["cursor"].as_str());
    println!(
        "revocation on node C reached node A's feed stream after {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    // Every node reads revocations from the store: A and B say inactive at once.
    for node in [a, b] {
        assert_eq!(
            introspect(node, &c.api_secret, access).await,
            serde_json::json!({"active": false})
        );
    }
    // Revoking the access token revoked only it: the refresh token still works, on any node.
    let (status, body) = json_of(
        a.refresh(&c.web, field(&refreshed, "refresh_token"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// How many races [`concurrent_refreshes_on_different_nodes_have_one_winner_and_revoke_the_family`]
/// runs: 20, or 200 with `TESSERA_SLOW_TESTS=1`.
fn races() -> usize {
    if std::env::var("TESSERA_SLOW_TESTS").as_deref() == Ok("1") {
        200
    } else {
        20
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_on_different_nodes_have_one_winner_and_revoke_the_family() {
    let c = cluster().await;
    let (a, b, node_c) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    for round in 0..races() {
        let (tokens, _) = a.sign_in(&c.web, &c.user, CodeOptions::default()).await;
        let presented = field(&tokens, "refresh_token");
        // The same token at the same moment on three nodes.
        let (ra, rb, rc) = tokio::join!(
            a.refresh(&c.web, presented, None),
            b.refresh(&c.web, presented, None),
            node_c.refresh(&c.web, presented, None),
        );
        let mut winners = Vec::new();
        for (node, response) in [ra, rb, rc].into_iter().enumerate() {
            let (status, body) = json_of(response).await;
            match status {
                StatusCode::OK => winners.push((node, body)),
                StatusCode::BAD_REQUEST => {
                    assert_eq!(body["error"], "invalid_grant", "round {round}: {body}");
                }
                other => panic!("round {round}, node {node}: {other} {body}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        // The losers presented a rotated token: reuse, so the family is revoked, the winner's
        // new token included, on every node.
        let (winner, body) = &winners[0];
        let successor = field(body, "refresh_token");
        let elsewhere = &c.nodes[(winner + 1) % 3];
        let (status, body) = json_of(elsewhere.refresh(&c.web, successor, None).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "round {round}: {body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_on_one_node_is_published_and_trusted_by_the_others() {
    let c = cluster().await;
    let (a, b, node_c) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    let before = a.get_json("/.well-known/jwks.json").await;
    for node in [b, node_c] {
        assert_eq!(node.get_json("/.well-known/jwks.json").await, before);
    }

    // As `tessera keys rotate` does, through C's store and KEK.
    let kids = tessera_server::admin::Operator::new(
        tessera_core::Actor::cli("test").unwrap(),
        node_c.state.services.store.clone(),
        node_c.state.services.clock.clone(),
        node_c.state.services.passwords.clone(),
        tessera_server::admin::OperatorSettings {
            lifetimes: node_c.state.settings.lifetimes,
            key_retirement_grace: node_c.state.settings.key_retirement_grace,
            signing_algs: Vec::new(),
        },
    )
    .with_keys(node_c.state.services.keys.clone())
    .rotate_keys(tessera_server::admin::RotateKeys {
        algs: node_c.state.settings.signing_algs(),
        revoke_all: false,
    })
    .await
    .expect("keys rotated");
    assert_eq!(kids.len(), 1);
    let new_kid = kids[0].1.as_str();
    let rotated_at = Instant::now();

    // Every node (C too: it hears its own store) publishes the new key; their periodic key
    // refresh runs hourly, so the notification did it.
    for (name, node) in [("A", a), ("B", b), ("C", node_c)] {
        let published = tokio::time::timeout(HANG_GUARD, async {
            loop {
                let jwks = node.get_json("/.well-known/jwks.json").await;
                let kids: Vec<&str> = jwks["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|k| k["kid"].as_str())
                    .collect();
                if kids.contains(&new_kid) {
                    return jwks;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("node {name} publishes the new key within the hang guard"));
        println!(
            "key rotation on node C published by node {name}'s JWKS after {:.1} ms",
            rotated_at.elapsed().as_secs_f64() * 1000.0
        );
        // The old key stays published for the tokens it signed.
        assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    }

    // C signs with the new key, and A's JWKS verifies what it signs (shared issuer too).
    let (tokens, _) = node_c
        .sign_in(&c.web, &c.user, CodeOptions::default())
        .await;
    let access = field(&tokens, "access_token");
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid));
    let claims = a
        .verifier()
        .await
        .verify_access_token(access)
        .expect("A's JWKS verifies a token C signed with the new key");
    assert_eq!(claims.sub, c.user.id.as_str());
    // And A signs with it as well.
    let (tokens, _) = a.sign_in(&c.web, &c.user, CodeOptions::default()).await;
    let header = jsonwebtoken::decode_header(field(&tokens, "access_token")).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid));
}

fn authorize_url(node: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&node.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", "web")
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", "openid")
            .append_pair("state", "st4te");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn code_of(back: &Url) -> String {
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    back.query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap_or_else(|| panic!("no code in {back}"))
        .1
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_codes_and_refresh_tokens_work_across_nodes() {
    let c = cluster().await;
    let (a, b, node_c) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);

    // Signed in through A's login page: a browser session on A, and a code redeemed on B.
    let on_a = Browser::new(&a.base_url);
    let login = on_a.get(&authorize_url(a, &[])).await.page();
    let back = on_a
        .submit(
            &login.form(),
            &[("username", "ada@example.com"), ("password", TEST_PASSWORD)],
        )
        .await
        .client();
    let code = code_of(&back);
    let (status, first) = json_of(b.exchange_code(&c.web, &code, None).await).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The code is single use on every node.
    for node in [a, node_c] {
        let (status, body) = json_of(node.exchange_code(&c.web, &code, None).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    // The session is recognised on B. A browser sends a cookie to every port of a host, but
    // the testkit's browser keeps one jar per origin (host and port), so B's browser is
    // handed A's session cookie, as a real one would send it.
    let on_b = Browser::new(&b.base_url);
    let silent = authorize_url(b, &[("prompt", "none")]);
    let refused = on_b.get(&silent).await.client();
    assert!(
        refused
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "login_required"),
        "without the cookie B asks for a login: {refused}"
    );
    let session = on_a
        .cookie("__Host-tessera_session")
        .expect("A set a session cookie");
    on_b.set_cookie("__Host-tessera_session", &session);
    let code = code_of(&on_b.get(&silent).await.client());
    // That code is redeemed on C, and the refresh token it yields rotates on A.
    let (status, tokens) = json_of(node_c.exchange_code(&c.web, &code, None).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, body) = json_of(
        a.refresh(&c.web, field(&tokens, "refresh_token"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The ID tokens of both sign-ins carry the same session.
    let verifier = a.verifier().await;
    let sid = |tokens: &Value| {
        verifier
            .verify_id_token(field(tokens, "id_token"), c.web.id())
            .expect("the ID token verifies on A's keys")
            .sid
            .expect("a sid")
    };
    assert_eq!(sid(&tokens), sid(&first));
}

/// Posts a wrong password for `email` through a fresh login page on `node` and returns the
/// status. The page is fetched first, the post is what `go` sends, so callers can line posts up.
async fn wrong_password_post(
    node: &TestApp,
    email: &str,
) -> impl std::future::Future<Output = u16> {
    let browser = Browser::new(&node.base_url);
    let form = browser.get(&authorize_url(node, &[])).await.page().form();
    let email = email.to_owned();
    async move {
        browser
            .submit(
                &form,
                &[("username", &email), ("password", "wrong-password-123")],
            )
            .await
            .page()
            .status
    }
}

/// The sign-in limit is one count per address for the whole service: failures made through
/// different nodes add up, a lock made through one node holds on every node, and attempts sent
/// to all nodes at once admit no more than the free ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_counted_once_for_every_node() {
    let c = cluster().await;
    for n in 0..5 {
        let status = wrong_password_post(&c.nodes[n % 3], "ada@example.com")
            .await
            .await;
        assert_eq!(status, 401, "attempt {} on node {}", n + 1, n % 3);
    }
    for (i, node) in c.nodes.iter().enumerate() {
        let status = wrong_password_post(node, "ada@example.com").await.await;
        assert_eq!(status, 429, "node {i} refuses the locked address");
    }

    // Fifteen attempts at another address, five per node, posted at once.
    let mut posts = Vec::new();
    for n in 0..15 {
        posts.push(wrong_password_post(&c.nodes[n % 3], "grace@example.com").await);
    }
    let statuses = futures_util::future::join_all(posts).await;
    let admitted = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((admitted, locked), (5, 10), "{statuses:?}");
}
