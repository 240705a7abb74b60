//! Fixtures for the sign-in aggregates. Every identifier and hash comes from the domain's own
//! constructors, so the store sees the values the server will give it.

use super::{public, strings, t, user};
use tessera_core::client::SecretHash;
use tessera_core::code::CODE_BYTES;
use tessera_core::refresh::REFRESH_TOKEN_BYTES;
use tessera_core::{
    AuthorizationCode, AuthorizationRequest, BearerSecret, BrowserSession, Client, CodeChallenge,
    Continuation, IssuedAccessToken, PendingSignIn, RefreshLifetimes, RefreshToken, ScopeSet,
    SessionId, Stage, User,
};
use tessera_store::ProbedStore;

/// RFC 7636 Appendix B's verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A stored user and a stored client, for the sign-in aggregates to belong to.
pub(super) async fn user_and_client(
    store: &dyn ProbedStore,
    email: &str,
    client: &str,
) -> (User, Client) {
    let user = user(email);
    store.create_user(&user).await.unwrap();
    let client = public(client);
    store.create_client(&client).await.unwrap();
    (user, client)
}

pub(super) fn scope(tokens: &str) -> ScopeSet {
    ScopeSet::parse(tokens).unwrap()
}

/// A random identifier, as the server makes login-request and family ids.
pub(super) fn random_id() -> String {
    tessera_core::random::token(16)
}

/// The hash of a fresh 256-bit bearer secret.
pub(super) fn fresh_hash() -> SecretHash {
    BearerSecret::generate(32).hash()
}

/// A session of `user` begun at `t(0)`, authenticated with two methods, ending at
/// `t(expires)`, with the cookie secret it was issued for.
pub(super) fn session(user: &User, expires: i64) -> (BrowserSession, BearerSecret) {
    let secret = BearerSecret::generate(32);
    let session = BrowserSession {
        sid: SessionId::generate(),
        secret_hash: secret.hash(),
        user_id: user.id.clone(),
        auth_time: t(0),
        amr: strings(&["pwd", "otp"]),
        created_at: t(0),
        expires_at: t(expires),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0".into()),
        last_seen_at: t(0),
    };
    (session, secret)
}

/// A code issued at `t(0)` and redeemable until `t(expires)`, with every optional field set
/// (awkward characters included).
pub(super) fn code(user: &User, client: &Client, expires: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: BearerSecret::generate(CODE_BYTES).hash(),
        client_id: client.id.clone(),
        redirect_uri: "http://127.0.0.1:8080/cb?x=1&y=%20".into(),
        redirect_uri_in_request: true,
        user_id: user.id.clone(),
        sid: SessionId::generate(),
        scope: scope("openid profile api:write email"),
        nonce: Some("n-0S6 \"quoted\" 'nonce'; 👋".into()),
        code_challenge: Some(CodeChallenge::of_verifier(VERIFIER)),
        auth_time: t(-30),
        amr: strings(&["pwd", "otp"]),
        acr: Some("urn:example:loa:2".into()),
        family_id: random_id(),
        access_token_jti: tessera_core::revocation::new_jti(),
        issued_at: t(0),
        expires_at: t(expires),
    }
}

/// The same with every optional field empty: no nonce, PKCE or acr, no amr, empty scope.
pub(super) fn bare_code(user: &User, client: &Client, expires: i64) -> AuthorizationCode {
    AuthorizationCode {
        redirect_uri_in_request: false,
        scope: scope(""),
        nonce: None,
        code_challenge: None,
        amr: vec![],
        acr: None,
        ..code(user, client, expires)
    }
}

/// A current refresh token of `family` issued at `t(0)` with the default lifetimes.
pub(super) fn refresh(user: &User, client: &Client, family: &str) -> RefreshToken {
    let lifetimes = RefreshLifetimes::default();
    RefreshToken {
        token_hash: BearerSecret::generate(REFRESH_TOKEN_BYTES).hash(),
        family_id: family.into(),
        client_id: client.id.clone(),
        user_id: user.id.clone(),
        sid: SessionId::generate(),
        scope: scope("openid offline_access api:read"),
        auth_time: t(-30),
        amr: strings(&["pwd", "hwk"]),
        acr: Some("urn:example:loa:2".into()),
        issued_at: t(0),
        idle_expires_at: t(0) + lifetimes.idle,
        absolute_expires_at: t(0) + lifetimes.absolute,
        access_token: None,
    }
}

/// A refresh token whose idle and absolute limits are `t(idle)` and `t(absolute)`.
pub(super) fn refresh_until(
    user: &User,
    client: &Client,
    idle: i64,
    absolute: i64,
) -> RefreshToken {
    RefreshToken {
        idle_expires_at: t(idle),
        absolute_expires_at: t(absolute),
        ..refresh(user, client, &random_id())
    }
}

/// The successor the server would issue for `token` at `t(now)`, with its access token
/// ([`access_token_at`]).
pub(super) fn successor(token: &RefreshToken, now: i64) -> RefreshToken {
    token.successor(
        BearerSecret::generate(REFRESH_TOKEN_BYTES).hash(),
        t(now),
        RefreshLifetimes::default().idle,
        access_token_at(now),
    )
}

/// An access token issued at `t(now)` for 15 minutes, with a fresh `jti`.
pub(super) fn access_token_at(now: i64) -> IssuedAccessToken {
    IssuedAccessToken {
        jti: random_id(),
        expires_at: t(now + 900),
    }
}

/// A pending request for `client`, created at `t(0)` and lapsing at `t(expires)`, with every
/// optional field set.
pub(super) fn login_request(client: &Client, expires: i64) -> PendingSignIn {
    PendingSignIn {
        id: random_id(),
        csrf_hash: fresh_hash(),
        stage: Stage::FirstFactor,
        user_id: None,
        proofs: Vec::new(),
        continuation: Continuation::Oidc(AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri: client.redirect_uris[0].as_str().into(),
            redirect_uri_in_request: true,
            scope: scope("openid profile email api:write urn:x/y!#"),
            state: Some("st@te with spaces & \"quotes\" 👋".into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: Some(CodeChallenge::of_verifier(VERIFIER)),
            prompt_login: true,
            prompt_consent: false,
            max_age: Some(0),
            // Order of preference, with a repeat: a list, not a set.
            acr_values: strings(&[
                "urn:example:loa:3",
                "urn:example:loa:2",
                "urn:example:loa:3",
            ]),
            acr_essential: true,
            login_hint: Some("ada@example.com".into()),
        }),
        created_at: t(0),
        expires_at: t(expires),
    }
}

/// The same with every optional field empty and the other prompt flag set.
pub(super) fn bare_login_request(client: &Client, expires: i64) -> PendingSignIn {
    let full = login_request(client, expires);
    let request = oidc(&full).clone();
    PendingSignIn {
        continuation: Continuation::Oidc(AuthorizationRequest {
            redirect_uri_in_request: false,
            scope: scope(""),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt_login: false,
            prompt_consent: true,
            max_age: None,
            acr_values: vec![],
            acr_essential: false,
            login_hint: None,
            ..request
        }),
        ..full
    }
}

/// The authorization request a pending sign-in serves.
pub(super) fn oidc(pending: &PendingSignIn) -> &AuthorizationRequest {
    let Continuation::Oidc(request) = &pending.continuation;
    request
}

/// The same as [`oidc`], mutable.
pub(super) fn oidc_mut(pending: &mut PendingSignIn) -> &mut AuthorizationRequest {
    let Continuation::Oidc(request) = &mut pending.continuation;
    request
}
