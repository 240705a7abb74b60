//! The axum integration over real HTTP on loopback: the extractor and the middleware answer
//! missing, malformed, invalid and revoked tokens, stale mirrors, step-up and scope failures
//! with the RFC 6750 / RFC 9470 status and `WWW-Authenticate`, and let a good token through.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_jose::{Algorithm, JwkSet, SigningKey};
use tessera_verify::axum::{require_bearer, Bearer, BearerAuth};
use tessera_verify::revocation::{FeedEntry, Kind, RevocationMirror};
use tessera_verify::{Clock, InsufficientScope, StepUpRequired, Verifier, VerifierOptions};

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";
const NOW: i64 = 1_800_000_000;
const MAX_STALENESS: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Api {
    url: String,
    key: SigningKey,
    mirror: Arc<RevocationMirror>,
    clock: Arc<TestClock>,
    rejections: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

async fn me(Bearer(token): Bearer) -> String {
    token.sub
}

async fn sensitive(
    State(auth): State<BearerAuth>,
    Bearer(token): Bearer,
) -> Result<&'static str, StepUpRequired> {
    auth.require_auth_within(&token, Duration::from_secs(300))?;
    Ok("done")
}

async fn orders(Bearer(token): Bearer) -> Result<&'static str, InsufficientScope> {
    token.require_scope("orders:write")?;
    Ok("ordered")
}

async fn behind_middleware(Bearer(token): Bearer) -> String {
    format!("middleware let {} in", token.sub)
}

/// The client of these tests (plain HTTP to loopback). The workspace's reqwest has no crypto
/// provider of its own (its `rustls-tls` would bring ring), so it is given a rustls
/// configuration on aws-lc-rs; it trusts no root, as it never speaks TLS.
fn http_client() -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

/// Serves an API guarded by `BearerAuth` (with a revocation mirror synced "now") on loopback.
async fn serve_api() -> Api {
    let key = SigningKey::generate(Algorithm::RS256, "k1").unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
    let verifier = Verifier::with_clock(
        VerifierOptions::new(ISSUER, AUDIENCE),
        JwkSet {
            keys: vec![key.public_jwk().clone()],
        },
        clock.clone(),
    )
    .unwrap();
    let mirror = Arc::new(RevocationMirror::new());
    mirror.apply_snapshot(&[], 0).unwrap();
    mirror.mark_synced(NOW);
    let rejections = Arc::new(Mutex::new(Vec::new()));
    let log = rejections.clone();
    let auth = BearerAuth::new(Arc::new(verifier))
        .with_revocation(mirror.clone(), MAX_STALENESS)
        .on_rejection(move |rejection| log.lock().unwrap().push(rejection.to_string()));
    let guarded = Router::new()
        .route("/guarded", get(behind_middleware))
        .route_layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            require_bearer,
        ));
    let app = Router::new()
        .route("/me", get(me))
        .route("/sensitive", post(sensitive))
        .route("/orders", post(orders))
        .merge(guarded)
        .with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Api {
        url,
        key,
        mirror,
        clock,
        rejections,
        http: http_client(),
    }
}

impl Api {
    fn token(&self, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "client_id": "web",
            "jti": "jti-1", "sid": "sid-1", "iat": NOW - 10, "exp": NOW + 600,
            "auth_time": NOW - 60, "scope": "openid orders:read",
        });
        change(claims.as_object_mut().unwrap());
        self.key.sign_jwt("at+jwt", &claims).unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: &[&str],
    ) -> (u16, Option<String>, String) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        for value in authorization {
            request = request.header("authorization", *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, challenge, response.text().await.unwrap())
    }

    async fn get_me(&self, authorization: &[&str]) -> (u16, Option<String>, String) {
        self.call(reqwest::Method::GET, "/me", authorization).await
    }
}

const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

#[tokio::test]
async fn a_valid_token_is_let_through_and_a_missing_one_is_asked_for() {
    let api = serve_api().await;
    let token = api.token(|_| {});
    let (status, _, body) = api.get_me(&[&format!("Bearer {token}")]).await;
    assert_eq!((status, body.as_str()), (200, "user-1"));
    // The scheme is case-insensitive.
    let (status, _, _) = api.get_me(&[&format!("bearer {token}")]).await;
    assert_eq!(status, 200);

    // No credentials: a bare challenge, no error code (RFC 6750 §3.1).
    let (status, challenge, _) = api.get_me(&[]).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
    let (status, challenge, _) = api.get_me(&["Basic dXNlcjpwYXNz"]).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
}

#[tokio::test]
async fn malformed_headers_are_invalid_requests() {
    let api = serve_api().await;
    let good = format!("Bearer {}", api.token(|_| {}));
    for headers in [
        vec!["Bearer"],
        vec!["Bearer    "],
        vec![&good[..], &good[..]],
    ] {
        let (status, challenge, body) = api.get_me(&headers).await;
        assert_eq!(status, 400, "{headers:?}");
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"invalid_request\"")
        );
        assert!(body.contains("invalid_request"), "{body}");
    }
}

#[tokio::test]
async fn invalid_tokens_get_invalid_token_without_the_reason() {
    let api = serve_api().await;
    let expired = api.token(|c| {
        c.insert("exp".into(), json!(NOW - 3600));
    });
    let wrong_audience = api.token(|c| {
        c.insert("aud".into(), json!("https://other.example.com"));
    });
    for (what, token) in [
        ("garbage", "not-a-jwt".to_owned()),
        ("expired", expired),
        ("wrong audience", wrong_audience),
    ] {
        let (status, challenge, body) = api.get_me(&[&format!("Bearer {token}")]).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(challenge.as_deref(), Some(INVALID_TOKEN), "{what}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error": "invalid_token"}),
            "{what}: the body says nothing more"
        );
    }
    // The reasons reach the application's hook, for its logs.
    let logged = api.rejections.lock().unwrap().join("\n");
    assert!(logged.contains("expired"), "{logged}");
    assert!(logged.contains("audience"), "{logged}");
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_a_stale_mirror_fails_closed() {
    let api = serve_api().await;
    let token = api.token(|_| {});
    let other = api.token(|c| {
        c.insert("jti".into(), json!("jti-2"));
        c.insert("sid".into(), json!("sid-2"));
    });
    let entry: FeedEntry = serde_json::from_value(json!({
        "cursor": "1", "kind": "session-revoked", "sid": "sid-1", "sub": "user-1",
        "revoked_at": NOW, "expires_at": NOW + 3600,
    }))
    .unwrap();
    assert_eq!(entry.kind, Kind::SessionRevoked);
    api.mirror.apply_entries(&[entry], 1).unwrap();

    let (status, challenge, _) = api.get_me(&[&format!("Bearer {token}")]).await;
    assert_eq!((status, challenge.as_deref()), (401, Some(INVALID_TOKEN)));
    let (status, _, _) = api.get_me(&[&format!("Bearer {other}")]).await;
    assert_eq!(status, 200, "another session is not covered");

    // The mirror stops being current: nobody can tell, so nobody gets in.
    api.clock.0.store(NOW + 31, Ordering::SeqCst);
    let (status, challenge, body) = api.get_me(&[&format!("Bearer {other}")]).await;
    assert_eq!((status, challenge), (503, None));
    assert!(body.contains("temporarily_unavailable"), "{body}");
    api.mirror.mark_synced(NOW + 31);
    let (status, _, _) = api.get_me(&[&format!("Bearer {other}")]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn step_up_and_scope_answers() {
    let api = serve_api().await;
    let fresh = api.token(|_| {});
    let stale = api.token(|c| {
        c.insert("auth_time".into(), json!(NOW - 301));
    });
    let post = |path: &'static str, token: String| {
        let api = &api;
        async move {
            api.call(reqwest::Method::POST, path, &[&format!("Bearer {token}")])
                .await
        }
    };
    assert_eq!(post("/sensitive", fresh.clone()).await.0, 200);
    let (status, challenge, _) = post("/sensitive", stale).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"A more recent authentication is required\", max_age=\"300\""
        )
    );

    let (status, challenge, _) = post("/orders", fresh).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer error=\"insufficient_scope\", scope=\"orders:write\"")
    );
    let writer = api.token(|c| {
        c.insert("scope".into(), json!("orders:write"));
    });
    assert_eq!(post("/orders", writer).await.0, 200);
}

#[tokio::test]
async fn the_middleware_guards_a_whole_router() {
    let api = serve_api().await;
    let (status, challenge, _) = api.call(reqwest::Method::GET, "/guarded", &[]).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
    let expired = api.token(|c| {
        c.insert("exp".into(), json!(NOW - 3600));
    });
    let (status, challenge, _) = api
        .call(
            reqwest::Method::GET,
            "/guarded",
            &[&format!("Bearer {expired}")],
        )
        .await;
    assert_eq!((status, challenge.as_deref()), (401, Some(INVALID_TOKEN)));
    let token = api.token(|_| {});
    let (status, _, body) = api
        .call(
            reqwest::Method::GET,
            "/guarded",
            &[&format!("Bearer {token}")],
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "middleware let user-1 in"));
}
