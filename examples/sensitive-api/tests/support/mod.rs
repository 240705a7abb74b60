//! A real Tessera (tessera-testkit: real HTTP on loopback, a real SQLite file, a manual clock)
//! with a user, a first-party web client and the API's feed client, and the sensitive API
//! started against it in-process, also on loopback.

#![allow(dead_code)] // Each test binary uses a different part.

use sensitive_api::{Options, SensitiveApi};
use std::collections::BTreeMap;
use std::time::Duration;
use tessera_core::Clock as _;
use tessera_core::{NewClient, RevocationReason, RevocationTarget};
use tessera_testkit::browser::{Browser, Landing};
use tessera_testkit::{spawn_app_with, TestApp};
use url::Url;

pub const REDIRECT: &str = "https://app.example.com/cb";
pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
/// A hang guard only: how fast things happen is measured by the benchmark, not asserted.
pub const HANG_GUARD: Duration = Duration::from_secs(10);

pub struct World {
    pub tessera: TestApp,
    pub api: SensitiveApi,
    pub client: ApiClient,
    pub web_secret: String,
}

/// Calls the sensitive API over HTTP.
pub struct ApiClient {
    pub url: String,
    pub http: reqwest::Client,
}

/// Starts Tessera (ID tokens signed with ES256, so its JWKS holds an EC key beside the RSA
/// one that signs access tokens) and the API, and waits for the API's first feed snapshot.
pub async fn start() -> World {
    let tessera = spawn_app_with(|config| {
        config.tokens.id_token_alg = tessera_jose::Algorithm::ES256;
    })
    .await;
    let (_, web_secret) = tessera
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(NewClient {
            id: "web".into(),
            name: Some("Web App".into()),
            redirect_uris: vec![REDIRECT.into()],
            is_first_party: true,
            ..Default::default()
        })
        .await
        .unwrap();
    tessera
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: (EMAIL).to_string(),
            name: Some("Ada Lovelace".into()),
            roles: vec![],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .unwrap();
    let feed_secret = tessera.add_resource_server("sensitive-api", &[]).await;
    let mut options = Options::new(
        &tessera.base_url,
        &tessera.state.settings.access_token_audience,
        "sensitive-api",
        feed_secret,
    );
    options.clock = tessera.verify_clock();
    let api = SensitiveApi::start(options).await.unwrap();
    assert!(
        api.wait_until_synced(HANG_GUARD).await,
        "hang guard: first snapshot"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}", listener.local_addr().unwrap());
    let router = api.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    World {
        tessera,
        api,
        client: ApiClient {
            url: api_url,
            http: tessera_server::http_client::https_client_builder()
                .build()
                .unwrap(),
        },
        web_secret: web_secret.unwrap().expose().to_owned(),
    }
}

/// The tokens of one sign-in.
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
}

/// What the API answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub body: String,
}

impl World {
    /// Signs Ada in through Tessera's hosted login page in `browser` (a new sign-in, or a
    /// silent one when the browser's session is fresh enough), with `extra` authorization
    /// parameters such as `prompt=login`, and exchanges the code.
    pub async fn sign_in(&self, browser: &Browser, extra: &[(&str, &str)]) -> Tokens {
        let mut url = Url::parse(&self.tessera.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "web")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "openid profile")
            .append_pair("state", "st4te")
            .extend_pairs(extra);
        let back = match browser.get(url.as_str()).await {
            Landing::Client(back) => back,
            Landing::Page(page) => {
                assert!(page.contains("Sign in"), "{}", page.html);
                browser
                    .submit(&page.form(), &[("username", EMAIL), ("password", PASSWORD)])
                    .await
                    .client()
            }
        };
        let query: BTreeMap<String, String> = back.query_pairs().into_owned().collect();
        let response = self
            .tessera
            .http
            .post(self.tessera.url("/oauth/token"))
            .basic_auth("web", Some(&self.web_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", query["code"].as_str()),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        Tokens {
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            id_token: body["id_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Makes Tessera write an unrelated revocation, so that the feed delivers an event and
    /// the API's mirror is known current at the (moved) test clock, as a keep-alive would do
    /// in real time.
    pub async fn nudge_feed(&self) {
        let before = self.api.mirror().cursor();
        self.tessera
            .state
            .revoke(
                RevocationTarget::Token {
                    jti: format!("unrelated-{}", self.tessera.clock.now_unix()),
                    expires_at: self.tessera.clock.now() + time::Duration::hours(1),
                },
                RevocationReason::AdminRevoke,
                "test",
            )
            .await
            .unwrap();
        wait_for("the feed event", || self.api.mirror().cursor() != before).await;
    }
}

impl ApiClient {
    /// Calls the API with `authorization` as the `Authorization` header (if any).
    pub async fn call(&self, method: &str, path: &str, authorization: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            challenge: response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    /// `GET /me` with a bearer token.
    pub async fn me(&self, token: &str) -> Answer {
        self.call("GET", "/me", Some(&format!("Bearer {token}")))
            .await
    }

    /// `POST /sensitive` with a bearer token.
    pub async fn sensitive(&self, token: &str) -> Answer {
        self.call("POST", "/sensitive", Some(&format!("Bearer {token}")))
            .await
    }
}

/// Polls `done` every 10 ms; panics after the hang guard.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hang guard: still waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
