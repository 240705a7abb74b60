//! A node killed with SIGKILL in the middle of a refresh: two real `tessera serve` processes on
//! one real PostgreSQL schema. Node A is sent a refresh and killed after a delay spread over the
//! time a refresh takes, so the kill lands before the request arrives, while the transaction
//! runs, or after the answer left. A client that got no answer retries the same refresh token on
//! node B. Whatever the moment, the retry succeeds (A's rotation never committed) or is refused
//! with `invalid_grant` (it committed, the retry is reuse and ends the family); the family never
//! holds two live tokens, and the one it holds is the client's. Tessera has no grace window
//! (docs/deployment.md says why).

mod support;

use serde_json::Value;
use sqlx::Connection as _;
use std::path::Path;
use std::time::{Duration, Instant};
use support::Server;
use tessera_core::client::SecretHash;
use tessera_core::{NewClient, PasswordHasher, SystemClock};
use tessera_pgtest::Schema;
use tessera_server::hashing::HashingPool;
use tessera_testkit::browser::Browser;

const REDIRECT: &str = "https://app.example.com/cb";
const PASSWORD: &str = "lantern-orbit-quietly-77";
/// Kills of node A. Each costs a restart of the binary.
const ROUNDS: u32 = 24;

/// A node of the deployment: the shared schema, the shared data directory (the KEK file).
fn start_node(dir: &Path, database_url: &str) -> Server {
    Server::start(
        dir,
        &["--database-url", database_url, "--data-dir", "data"],
        &[],
    )
}

/// Registers the confidential client `web` (code and refresh grants) and the user
/// `ada@example.com`, as an operator would before sending traffic; returns the client secret.
async fn register(database_url: &str) -> String {
    let store = tessera_store::connect(database_url).await.unwrap();
    let operator = tessera_server::admin::Operator::new(
        tessera_core::Actor::cli("test").unwrap(),
        store.clone(),
        std::sync::Arc::new(SystemClock),
        HashingPool::new(PasswordHasher::owasp(), 1),
        tessera_server::admin::OperatorSettings {
            lifetimes: tessera_core::TokenLifetimes {
                access_token: time::Duration::minutes(5),
                id_token: time::Duration::minutes(5),
            },
            key_retirement_grace: time::Duration::ZERO,
            signing_algs: Vec::new(),
        },
    );
    let (_, secret) = operator
        .add_client(NewClient {
            id: "web".into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["openid".into()],
            is_first_party: true,
            ..Default::default()
        })
        .await
        .unwrap();
    operator
        .add_user(tessera_server::admin::AddUser {
            email: "ada@example.com".into(),
            name: None,
            roles: Vec::new(),
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    secret.expect("a confidential client").expose().to_owned()
}

/// Signs in through `node`'s hosted login page and redeems the code there; returns the
/// refresh token.
async fn sign_in(node: &Server, http: &reqwest::Client, secret: &str) -> String {
    let browser = Browser::new(&node.base_url);
    let authorize = reqwest::Url::parse_with_params(
        &node.url("/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ],
    )
    .unwrap();
    let form = browser.get(authorize.as_str()).await.page().form();
    let back = browser
        .submit(
            &form,
            &[("username", "ada@example.com"), ("password", PASSWORD)],
        )
        .await
        .client();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let response = http
        .post(node.url("/oauth/token"))
        .basic_auth("web", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// A refresh at `token_endpoint`; `Err` when no answer came (the node died).
async fn refresh(
    http: reqwest::Client,
    token_endpoint: String,
    secret: String,
    token: String,
) -> reqwest::Result<(u16, Value)> {
    let response = http
        .post(token_endpoint)
        .basic_auth("web", Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// The family of a refresh token, read from the database.
async fn family_of(db: &mut sqlx::PgConnection, token: &str) -> String {
    sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(SecretHash::of(token).as_str())
        .fetch_one(db)
        .await
        .unwrap()
}

/// The hashes of a family's live tokens: neither replaced by a successor nor revoked.
async fn live_tokens(db: &mut sqlx::PgConnection, family: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT token_hash FROM refresh_tokens \
         WHERE family_id = $1 AND rotated_at IS NULL AND revoked_at IS NULL",
    )
    .bind(family)
    .fetch_all(db)
    .await
    .unwrap()
}

#[derive(Debug, Default)]
struct Tally {
    /// A answered before it died: the client holds A's successor.
    answered: u32,
    /// No answer; the retry on B succeeded (A's rotation had not committed).
    retried_and_rotated: u32,
    /// No answer; the retry on B was reuse (A's rotation had committed): `invalid_grant`.
    retried_and_refused: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_refresh_never_leaves_two_valid_successors() {
    let schema = Schema::create().await;
    let url = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let http = tessera_server::http_client::https_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // The first node creates the KEK file and the signing keys; B loads them.
    let mut a = start_node(dir.path(), &url);
    let secret = register(&url).await;
    let b = start_node(dir.path(), &url);
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut token = sign_in(&b, &http, &secret).await;

    // How long a refresh takes on A, to spread the kills over it.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = refresh(http.clone(), a.url("/oauth/token"), secret.clone(), token)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        latencies.push(started.elapsed());
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    latencies.sort();
    let typical = latencies[2];

    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let family = family_of(&mut db, &token).await;
        // From "before the request arrives" to half again the typical time.
        let delay = typical * (round % 13) / 8;
        let request = tokio::spawn(refresh(
            http.clone(),
            a.url("/oauth/token"),
            secret.clone(),
            token.clone(),
        ));
        tokio::time::sleep(delay).await;
        a.kill();
        let answered = request.await.unwrap();
        let refused = match answered {
            Ok((200, body)) => {
                tally.answered += 1;
                token = body["refresh_token"].as_str().unwrap().to_owned();
                false
            }
            Ok((status, body)) => panic!("round {round}: A answered {status} {body}"),
            Err(_) => match refresh(
                http.clone(),
                b.url("/oauth/token"),
                secret.clone(),
                token.clone(),
            )
            .await
            .expect("B answers")
            {
                (200, body) => {
                    tally.retried_and_rotated += 1;
                    token = body["refresh_token"].as_str().unwrap().to_owned();
                    false
                }
                (400, body) => {
                    assert_eq!(body["error"], "invalid_grant", "round {round}: {body}");
                    tally.retried_and_refused += 1;
                    true
                }
                (status, body) => panic!("round {round}: B answered {status} {body}"),
            },
        };
        let live = live_tokens(&mut db, &family).await;
        if refused {
            assert!(
                live.is_empty(),
                "round {round}: the family is ended: {live:?}"
            );
            token = sign_in(&b, &http, &secret).await;
        } else {
            assert_eq!(
                live,
                [SecretHash::of(&token).as_str()],
                "round {round}: exactly one live token, the client's"
            );
        }
        a = start_node(dir.path(), &url);
    }
    println!("refresh latency on A {typical:?}; {tally:?}");
    assert!(
        tally.retried_and_rotated + tally.retried_and_refused > 0,
        "no kill cut a refresh short, so nothing was tested: {tally:?}"
    );
}
