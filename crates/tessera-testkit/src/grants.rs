//! Sign-ins without a browser, for token-endpoint tests: users, web clients, browser sessions and
//! authorization codes are written straight into the store, exactly as the authorization
//! endpoint would leave them, and the token endpoint is then driven over real HTTP.

use crate::TestApp;
use tessera_core::client::SecretHash;
use tessera_core::code::{CODE_BYTES, CODE_LIFETIME};
use tessera_core::Clock;
use tessera_core::{
    AuthorizationCode, BearerSecret, BrowserSession, Client, CodeChallenge, NewClient, ScopeSet,
    SessionId, User,
};
use time::OffsetDateTime;

/// The redirect URI every web client registered by [`TestApp::add_web_client`] has.
pub const REDIRECT_URI: &str = "https://app.example/callback";

/// A second registered redirect URI, for mismatch tests.
pub const OTHER_REDIRECT_URI: &str = "https://app.example/other";

/// A password that passes Tessera's password rules.
pub const TEST_PASSWORD: &str = "lantern-orbit-quietly-77";

/// The PKCE verifier of RFC 7636 Appendix B.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A registered web client and, when confidential, its secret.
#[derive(Debug, Clone)]
pub struct WebClient {
    /// The registration.
    pub client: Client,
    /// The secret (confidential clients only).
    pub secret: Option<String>,
}

impl WebClient {
    /// The client id.
    pub fn id(&self) -> &str {
        self.client.id.as_str()
    }
}

/// How a token request authenticates the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the secret (confidential clients).
    Basic,
    /// `client_id` and `client_secret` in the body (confidential clients).
    Post,
    /// `client_id` only (public clients).
    None,
}

/// What a test-issued authorization code records.
#[derive(Debug, Clone)]
pub struct CodeOptions {
    /// Granted scope.
    pub scope: String,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// The PKCE verifier whose S256 challenge is bound to the code.
    pub pkce_verifier: Option<String>,
    /// The redirect URI the code was delivered to (default [`REDIRECT_URI`]).
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI.
    pub redirect_uri_in_request: bool,
    /// The sign-in's authentication methods.
    pub amr: Vec<String>,
    /// The requested authentication context class.
    pub acr: Option<String>,
    /// An existing session to issue from; by default a new one is created.
    pub session: Option<BrowserSession>,
}

impl Default for CodeOptions {
    fn default() -> Self {
        Self {
            scope: "openid".into(),
            nonce: None,
            pkce_verifier: None,
            redirect_uri: REDIRECT_URI.into(),
            redirect_uri_in_request: true,
            amr: vec!["pwd".into()],
            acr: None,
            session: None,
        }
    }
}

impl CodeOptions {
    /// Options granting `scope`.
    pub fn scope(scope: &str) -> Self {
        Self {
            scope: scope.into(),
            ..Self::default()
        }
    }

    /// With the RFC 7636 verifier's challenge bound to the code.
    pub fn with_pkce(mut self) -> Self {
        self.pkce_verifier = Some(PKCE_VERIFIER.into());
        self
    }

    /// With a nonce.
    pub fn with_nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.into());
        self
    }
}

/// A code issued by [`TestApp::issue_code`].
#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// The code, as the client receives it.
    pub code: String,
    /// The session it came from.
    pub session: BrowserSession,
    /// The stored record.
    pub record: AuthorizationCode,
}

impl TestApp {
    /// Creates a user through the operator action. With a password it costs one argon2 hash.
    pub async fn add_user(
        &self,
        email: &str,
        password: Option<&str>,
        name: Option<&str>,
        roles: &[&str],
    ) -> User {
        self.state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_user(tessera_server::admin::AddUser {
                email: (email).to_string(),
                name: name.map(str::to_owned),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                password: password.map(|p| p.to_owned().into()),
            })
            .await
            .expect("user created")
    }

    /// Changes a user directly in the store (for attributes with no operator action yet).
    pub async fn update_user(&self, user: &User, change: impl FnOnce(&mut User)) -> User {
        let mut user = self
            .state
            .services
            .store
            .find_user(&user.id)
            .await
            .expect("store")
            .expect("user exists");
        change(&mut user);
        user.updated_at = self.clock.now();
        self.state
            .services
            .store
            .update_user(&user)
            .await
            .expect("user updated");
        user
    }

    /// Registers a web client with [`REDIRECT_URI`] and [`OTHER_REDIRECT_URI`]. Empty
    /// `grant_types` means the default (`authorization_code` and `refresh_token`).
    pub async fn add_web_client(
        &self,
        id: &str,
        is_public: bool,
        scopes: &[&str],
        grant_types: &[&str],
    ) -> WebClient {
        self.register_client(NewClient {
            id: id.to_owned(),
            redirect_uris: vec![REDIRECT_URI.into(), OTHER_REDIRECT_URI.into()],
            is_public,
            grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            is_first_party: true,
            ..NewClient::default()
        })
        .await
    }

    /// Registers `new` as an operator would (`cli:test`); panics if it is refused.
    pub async fn register_client(&self, new: NewClient) -> WebClient {
        let (client, secret) = self
            .state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_client(new)
            .await
            .expect("client registered");
        WebClient {
            client,
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }

    /// A browser session for `user`, authenticated now.
    pub async fn create_session(&self, user: &User, amr: &[String]) -> BrowserSession {
        let now = self.clock.now();
        let session = BrowserSession {
            sid: SessionId::generate(),
            secret_hash: BearerSecret::generate(32).hash(),
            user_id: user.id.clone(),
            auth_time: now,
            amr: amr.to_vec(),
            created_at: now,
            expires_at: now + self.state.settings.session_lifetime,
            user_agent: None,
            last_seen_at: now,
        };
        self.state
            .services
            .store
            .create_session(&session)
            .await
            .expect("session created");
        session
    }

    /// Issues an authorization code for `user` and `client` as the authorization endpoint would,
    /// valid for the usual 60 seconds from now.
    pub async fn issue_code(
        &self,
        client: &WebClient,
        user: &User,
        options: CodeOptions,
    ) -> IssuedCode {
        // As the authorization endpoint does: after a revocation of this user, wait for it.
        let now: OffsetDateTime = self
            .state
            .issuance_time(Some(&user.id))
            .await
            .expect("store");
        let session = match options.session {
            Some(session) => session,
            None => self.create_session(user, &options.amr).await,
        };
        let code = BearerSecret::generate(CODE_BYTES);
        let record = AuthorizationCode {
            code_hash: SecretHash::of(code.expose()),
            client_id: client.client.id.clone(),
            redirect_uri: options.redirect_uri,
            redirect_uri_in_request: options.redirect_uri_in_request,
            user_id: user.id.clone(),
            sid: session.sid.clone(),
            scope: ScopeSet::parse(&options.scope).expect("valid scope"),
            nonce: options.nonce,
            code_challenge: options
                .pkce_verifier
                .as_deref()
                .map(CodeChallenge::of_verifier),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: options.acr,
            family_id: tessera_core::random::token(16),
            access_token_jti: tessera_core::revocation::new_jti(),
            issued_at: now,
            expires_at: now + CODE_LIFETIME,
        };
        self.state
            .services
            .store
            .create_code(&record)
            .await
            .expect("code stored");
        IssuedCode {
            code: code.expose().to_owned(),
            session,
            record,
        }
    }

    /// POSTs `form` to the token endpoint, authenticating `client` with `auth`.
    pub async fn token_request(
        &self,
        client: &WebClient,
        auth: ClientAuth,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(self.url("/oauth/token"));
        match auth {
            ClientAuth::Basic => {
                request = request.basic_auth(client.id(), client.secret.as_deref());
            }
            ClientAuth::Post => {
                form.push(("client_id", client.id()));
                form.push((
                    "client_secret",
                    client.secret.as_deref().expect("a confidential client"),
                ));
            }
            ClientAuth::None => form.push(("client_id", client.id())),
        }
        request
            .form(&form)
            .send()
            .await
            .expect("token request sent")
    }

    /// The usual authentication of `client`: Basic when it has a secret, `none` otherwise.
    pub fn default_auth(client: &WebClient) -> ClientAuth {
        if client.secret.is_some() {
            ClientAuth::Basic
        } else {
            ClientAuth::None
        }
    }

    /// Exchanges `code` with `redirect_uri` = [`REDIRECT_URI`] and an optional verifier.
    pub async fn exchange_code(
        &self,
        client: &WebClient,
        code: &str,
        verifier: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_request(client, Self::default_auth(client), &form)
            .await
    }

    /// Uses `refresh_token`, optionally asking for `scope`.
    pub async fn refresh(
        &self,
        client: &WebClient,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token_request(client, Self::default_auth(client), &form)
            .await
    }

    /// Issues a code and exchanges it; panics unless the exchange succeeds. Returns the token
    /// response and the code.
    pub async fn sign_in(
        &self,
        client: &WebClient,
        user: &User,
        options: CodeOptions,
    ) -> (serde_json::Value, IssuedCode) {
        let verifier = options.pkce_verifier.clone();
        let issued = self.issue_code(client, user, options).await;
        let response = self
            .exchange_code(client, &issued.code, verifier.as_deref())
            .await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("a JSON token response");
        assert_eq!(status, 200, "code exchange failed: {body}");
        (body, issued)
    }
}
