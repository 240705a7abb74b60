//! The token endpoint's `authorization_code` and `refresh_token` grants, over real HTTP on a real
//! SQLite file with a manual clock. Sign-ins are set up directly in the store (see
//! `tessera_testkit::grants`); every ID and access token is verified by `jsonwebtoken` through
//! discovery → JWKS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use tessera_core::client::SecretHash;
use tessera_core::refresh::REFRESH_TOKEN_BYTES;
use tessera_core::{
    BearerSecret, Clock, CodeChallenge, CodeRedemption, RefreshToken, RevocationReason, User,
};
use tessera_testkit::grants::{
    ClientAuth, CodeOptions, WebClient, OTHER_REDIRECT_URI, PKCE_VERIFIER, REDIRECT_URI,
    TEST_PASSWORD,
};
use tessera_testkit::independent::verify_via_discovery;
use tessera_testkit::{spawn_app, spawn_app_with, TestApp};
use time::Duration;

const ALL_SCOPES: &[&str] = &["openid", "profile", "email", "roles", "api:read"];
const NAMESPACED: &str = "https://tessera.dev/claims/can_reauthenticate";

async fn json(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.expect("a JSON body");
    (status, headers, body)
}

/// The status and `error` of a failed token request.
async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let (status, _, body) = json(response).await;
    (
        status,
        body["error"].as_str().unwrap_or("<none>").to_owned(),
    )
}

async fn assert_error(response: reqwest::Response, status: StatusCode, error: &str) {
    assert_eq!(error_of(response).await, (status, error.to_owned()));
}

async fn assert_invalid_grant(response: reqwest::Response) {
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

async fn id_claims(app: &TestApp, client: &WebClient, token: &Value) -> Value {
    let token = token.as_str().expect("an id_token");
    verify_via_discovery(&app.http, &app.base_url, token, client.id(), "JWT")
        .await
        .expect("jsonwebtoken verifies the ID token")
        .claims
}

async fn access_claims(app: &TestApp, token: &Value) -> Value {
    let token = token.as_str().expect("an access_token");
    verify_via_discovery(
        &app.http,
        &app.base_url,
        token,
        &app.state.settings.access_token_audience,
        "at+jwt",
    )
    .await
    .expect("jsonwebtoken verifies the access token")
    .claims
}

/// `at_hash` for RS256 computed without `tessera_core::at_hash`: SHA-256 through the PKCE S256
/// transform (itself checked against RFC 7636's known answer), then the left half.
fn expected_at_hash(access_token: &Value) -> String {
    let challenge = CodeChallenge::of_verifier(access_token.as_str().unwrap());
    let digest = URL_SAFE_NO_PAD.decode(challenge.as_str()).unwrap();
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

struct Setup {
    app: TestApp,
    client: WebClient,
    user: User,
}

/// An app with a confidential client allowed every test scope and a user without a password
/// (so no argon2 hash is spent unless a test needs one).
async fn setup() -> Setup {
    let app = spawn_app().await;
    let client = app.add_web_client("web", false, ALL_SCOPES, &[]).await;
    let user = app
        .add_user(
            "alice@example.com",
            None,
            Some("Alice"),
            &["admin", "staff"],
        )
        .await;
    Setup { app, client, user }
}

fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {body}"))
}

// ---------------------------------------------------------------------------------------------
// authorization_code

#[tokio::test]
async fn confidential_client_with_basic_gets_every_token_and_claim() {
    let app = spawn_app().await;
    let client = app.add_web_client("web", false, ALL_SCOPES, &[]).await;
    let user = app
        .add_user(
            "Alice@Example.com",
            Some(TEST_PASSWORD),
            Some("Alice Liddell"),
            &["staff", "admin"],
        )
        .await;
    let signed_in_at = app.clock.now_unix();
    let issued = app
        .issue_code(
            &client,
            &user,
            CodeOptions {
                acr: Some("urn:tessera:acr:pwd".into()),
                ..CodeOptions::scope("openid profile email roles").with_nonce("n-0S6_WzA2Mj")
            },
        )
        .await;
    // The exchange happens a little after the sign-in, so iat and auth_time differ.
    app.clock.advance(Duration::seconds(20));
    let now = app.clock.now_unix();
    let (status, headers, body) = json(
        app.token_request(
            &client,
            ClientAuth::Basic,
            &[
                ("grant_type", "authorization_code"),
                ("code", &issued.code),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "email openid profile roles");
    let refresh_token = str_of(&body, "refresh_token");
    assert_eq!(refresh_token.len(), 43, "256-bit refresh token");
    // Stored only as a hash.
    let stored = app
        .state
        .services
        .store
        .find_refresh_token(&SecretHash::of(refresh_token))
        .await
        .unwrap()
        .expect("refresh token stored by hash");
    assert_eq!(stored.token.family_id, issued.record.family_id);
    assert_eq!(stored.token.sid, issued.session.sid);

    let id = id_claims(&app, &client, &body["id_token"]).await;
    assert_eq!(id["iss"], app.base_url);
    assert_eq!(id["aud"], "web");
    assert_eq!(id["sub"], user.id.as_str());
    assert_ne!(id["sub"], "alice@example.com", "sub is never the email");
    assert_eq!(id["iat"], now);
    assert_eq!(id["exp"], now + 900);
    assert_eq!(id["auth_time"], signed_in_at);
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["sid"], issued.session.sid.as_str());
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["acr"], "urn:tessera:acr:pwd");
    assert_eq!(id["at_hash"], expected_at_hash(&body["access_token"]));
    assert_eq!(id[NAMESPACED], true, "the user has a password");
    assert_eq!(id["name"], "Alice Liddell");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], false);
    assert_eq!(id["roles"], serde_json::json!(["admin", "staff"]));

    let at = access_claims(&app, &body["access_token"]).await;
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["aud"], app.state.settings.access_token_audience);
    assert_eq!(at["client_id"], "web");
    assert_eq!(at["scope"], "email openid profile roles");
    assert_eq!(at["sid"], issued.session.sid.as_str());
    assert_eq!(at["auth_time"], signed_in_at);
    assert_eq!(at["roles"], serde_json::json!(["admin", "staff"]));
    assert_eq!(at["iat"], now);
    assert_eq!(at["exp"], now + 900);
    assert_eq!(at["jti"].as_str().unwrap().len(), 22);
}

#[tokio::test]
async fn client_secret_post_works_and_claims_follow_the_granted_scope() {
    let Setup { app, client, user } = setup().await;
    let issued = app
        .issue_code(&client, &user, CodeOptions::scope("openid api:read"))
        .await;
    let (status, _, body) = json(
        app.token_request(
            &client,
            ClientAuth::Post,
            &[
                ("grant_type", "authorization_code"),
                ("code", &issued.code),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "api:read openid");
    let id = id_claims(&app, &client, &body["id_token"]).await;
    for absent in ["name", "email", "email_verified", "roles", "nonce", "acr"] {
        assert!(id.get(absent).is_none(), "{absent} in {id}");
    }
    assert_eq!(id[NAMESPACED], false, "the user has no password");
    assert_eq!(id["at_hash"], expected_at_hash(&body["access_token"]));
    let at = access_claims(&app, &body["access_token"]).await;
    assert!(at.get("roles").is_none(), "{at}");
    assert_eq!(at["sid"], issued.session.sid.as_str());
}

#[tokio::test]
async fn eddsa_id_tokens_hash_the_access_token_with_sha512() {
    let app = tessera_testkit::spawn_app_with(|config| {
        config.tokens.id_token_alg = tessera_jose::Algorithm::EdDSA;
    })
    .await;
    let client = app.add_web_client("web", false, ALL_SCOPES, &[]).await;
    let user = app.add_user("dave@example.com", None, None, &[]).await;
    let (body, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let token = body["id_token"].as_str().unwrap();
    let verified = verify_via_discovery(&app.http, &app.base_url, token, "web", "JWT")
        .await
        .expect("jsonwebtoken verifies the EdDSA ID token");
    assert_eq!(verified.header.alg, jsonwebtoken::Algorithm::EdDSA);
    let at_hash = verified.claims["at_hash"].as_str().unwrap();
    assert_eq!(at_hash.len(), 43, "half of a SHA-512 digest is 32 bytes");
    let access_token = body["access_token"].as_str().unwrap();
    assert_eq!(
        Some(at_hash),
        tessera_core::at_hash(access_token, "EdDSA").as_deref()
    );
    // The access token keeps its own algorithm.
    let at = access_claims(&app, &body["access_token"]).await;
    assert_eq!(at["sub"], user.id.as_str());
}

#[tokio::test]
async fn without_openid_there_is_no_id_token() {
    let Setup { app, client, user } = setup().await;
    let (body, _) = app
        .sign_in(&client, &user, CodeOptions::scope("api:read"))
        .await;
    assert!(body.get("id_token").is_none(), "{body}");
    assert_eq!(body["scope"], "api:read");
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn public_client_authenticates_with_its_id_and_pkce() {
    let app = spawn_app().await;
    let client = app.add_web_client("spa", true, ALL_SCOPES, &[]).await;
    let user = app.add_user("bob@example.com", None, None, &[]).await;
    let (body, issued) = app
        .sign_in(&client, &user, CodeOptions::scope("openid").with_pkce())
        .await;
    let id = id_claims(&app, &client, &body["id_token"]).await;
    assert_eq!(id["aud"], "spa");
    assert_eq!(id["sid"], issued.session.sid.as_str());
    assert!(body["refresh_token"].is_string());

    // A public client's code without a challenge is never valid.
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
    // A public client has no secret to present.
    let issued = app
        .issue_code(&client, &user, CodeOptions::default().with_pkce())
        .await;
    let with_secret = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("spa", Some("guess"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &issued.code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", PKCE_VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_error(with_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn confidential_clients_must_use_their_secret() {
    let Setup { app, client, user } = setup().await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", issued.code.as_str()),
        ("redirect_uri", REDIRECT_URI),
    ];
    let id_only = app.token_request(&client, ClientAuth::None, &form).await;
    assert_error(id_only, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let mut wrong = client.clone();
    wrong.secret = Some("not-the-secret".into());
    let wrong_secret = app.token_request(&wrong, ClientAuth::Basic, &form).await;
    assert_error(wrong_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // Failed client authentication does not spend the code.
    let ok = app.token_request(&client, ClientAuth::Basic, &form).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

/// The status and `WWW-Authenticate` challenge of `GET /userinfo` with `access_token`.
async fn userinfo(app: &TestApp, access_token: &str) -> (StatusCode, Option<String>) {
    let response = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), challenge)
}

const REFUSED_AS_INVALID: (StatusCode, Option<&str>) = (
    StatusCode::UNAUTHORIZED,
    Some(r#"Bearer realm="tessera", error="invalid_token""#),
);

async fn assert_userinfo_refuses(app: &TestApp, access_token: &str) {
    let (status, challenge) = userinfo(app, access_token).await;
    assert_eq!((status, challenge.as_deref()), REFUSED_AS_INVALID);
}

async fn assert_userinfo_accepts(app: &TestApp, access_token: &str) {
    let (status, challenge) = userinfo(app, access_token).await;
    assert_eq!((status, challenge), (StatusCode::OK, None));
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_the_tokens_issued_from_it() {
    let Setup { app, client, user } = setup().await;
    let (first, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let access_token = str_of(&first, "access_token").to_owned();
    let refresh_token = str_of(&first, "refresh_token").to_owned();
    // Another sign-in of the same user and client, which the replay must leave alone.
    let (other, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let other_access = str_of(&other, "access_token").to_owned();
    let other_refresh = str_of(&other, "refresh_token").to_owned();
    assert_userinfo_accepts(&app, &access_token).await;

    app.clock.advance(Duration::seconds(5));
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;

    // The access token from the first redemption is refused from now on...
    assert_userinfo_refuses(&app, &access_token).await;
    let jti = access_claims(&app, &first["access_token"]).await["jti"].clone();
    assert!(app
        .state
        .services
        .store
        .is_access_token_revoked(&by_jti(jti.as_str().unwrap()), app.clock.now())
        .await
        .unwrap());
    // ...and so is its refresh token, whose family is revoked.
    let stored = app
        .state
        .services
        .store
        .find_refresh_token(&SecretHash::of(&refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some(), "the family is revoked");
    assert_invalid_grant(app.refresh(&client, &refresh_token, None).await).await;

    // The other sign-in is untouched.
    assert_userinfo_accepts(&app, &other_access).await;
    let (status, _, body) = json(app.refresh(&client, &other_refresh, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The revocation lasts as long as the token: just before it expires it is still refused.
    app.clock
        .advance(app.state.settings.lifetimes.access_token - Duration::seconds(6));
    assert_userinfo_refuses(&app, &access_token).await;
    assert!(app
        .state
        .services
        .store
        .is_access_token_revoked(&by_jti(jti.as_str().unwrap()), app.clock.now())
        .await
        .unwrap());
}

/// Found by the attack pass: replaying one spent code (of a public client: no secret needed)
/// 200 times wrote 201 audit rows. The first replay is audited; the rest are refused the same
/// way and only counted.
#[tokio::test]
async fn replaying_a_spent_code_again_and_again_is_audited_once() {
    let Setup { app, client, user } = setup().await;
    let (_, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let replay_audits = |events: Vec<tessera_core::AuditEvent>| {
        events
            .iter()
            .filter(|e| e.action == tessera_core::audit::action::CODE_REPLAY)
            .count()
    };
    let before = app.state.services.store.recent_audit(1000).await.unwrap();
    assert_eq!(replay_audits(before.clone()), 0);
    for _ in 0..20 {
        assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
    }
    let after = app.state.services.store.recent_audit(1000).await.unwrap();
    assert_eq!(
        replay_audits(after.clone()),
        1,
        "one record for twenty replays"
    );
    assert!(
        after.len() <= before.len() + 2,
        "the replays added {} audit records",
        after.len() - before.len()
    );
}

#[tokio::test]
async fn the_access_token_of_a_code_carries_the_jti_fixed_at_code_issuance() {
    let Setup { app, client, user } = setup().await;
    let (first, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let claims = access_claims(&app, &first["access_token"]).await;
    assert_eq!(claims["jti"], issued.record.access_token_jti.as_str());

    // A refresh draws a fresh jti each time.
    let (status, _, refreshed) = json(
        app.refresh(&client, str_of(&first, "refresh_token"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let refreshed_claims = access_claims(&app, &refreshed["access_token"]).await;
    assert_ne!(refreshed_claims["jti"], claims["jti"]);
    assert_eq!(refreshed_claims["jti"].as_str().unwrap().len(), 22);
}

/// The race the other way round: the replay lands after the first redemption won the code but
/// before that redemption stored its refresh token. The token stored afterwards is born revoked
/// and never works; the access token is revoked by its pre-assigned jti.
#[tokio::test]
async fn a_replay_before_the_first_redemption_stores_its_refresh_token_still_revokes_it() {
    let Setup { app, client, user } = setup().await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    let store = &app.state.services.store;
    // The first redemption wins the code...
    let won = store
        .redeem_code(&issued.record.code_hash, app.clock.now())
        .await
        .unwrap();
    assert!(matches!(won, CodeRedemption::First(_)), "{won:?}");
    // ...a replay arrives over HTTP and revokes what the code issued...
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
    assert!(store
        .is_access_token_revoked(&by_jti(&issued.record.access_token_jti), app.clock.now())
        .await
        .unwrap());
    // ...and only then does the first redemption store its refresh token.
    let secret = BearerSecret::generate(REFRESH_TOKEN_BYTES);
    let now = app.clock.now();
    let lifetimes = app.state.settings.refresh_lifetimes;
    let record = RefreshToken {
        token_hash: secret.hash(),
        family_id: issued.record.family_id.clone(),
        client_id: client.client.id.clone(),
        user_id: user.id.clone(),
        sid: issued.session.sid.clone(),
        scope: issued.record.scope.clone(),
        auth_time: issued.record.auth_time,
        amr: issued.record.amr.clone(),
        acr: None,
        issued_at: now,
        idle_expires_at: now + lifetimes.idle,
        absolute_expires_at: now + lifetimes.absolute,
        access_token: None,
    };
    assert!(
        !store.create_refresh_token(&record).await.unwrap(),
        "the family was revoked first, so the token is not live"
    );
    let stored = store
        .find_refresh_token(&record.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    assert_invalid_grant(app.refresh(&client, secret.expose(), None).await).await;
}

/// When the family is already revoked by the time the first redemption stores its refresh
/// token, the exchange hands out nothing.
#[tokio::test]
async fn a_first_redemption_overtaken_by_a_replay_hands_out_nothing() {
    let Setup { app, client, user } = setup().await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    // The revocation a replay would make, landing before the redemption's insert (here it lands
    // before the redemption itself; the grant cannot tell the difference).
    app.state
        .services
        .store
        .revoke_refresh_family(
            &issued.record.family_id,
            app.clock.now(),
            RevocationReason::ClientRequest,
            "test",
        )
        .await
        .unwrap();
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
    // The code is spent: a later attempt is a replay.
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
}

/// Revocation records are swept once they can no longer matter: an access-token revocation once
/// the token has expired, a family's record once the absolute refresh lifetime has passed.
#[tokio::test]
async fn purging_forgets_revocations_only_once_they_cannot_matter() {
    let Setup { app, client, user } = setup().await;
    let (_, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let signed_in_at = app.clock.now();
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
    let jti = issued.record.access_token_jti.as_str();
    let store = &app.state.services.store;
    let family_token = |n: i64| {
        let now = app.clock.now();
        RefreshToken {
            token_hash: BearerSecret::generate(REFRESH_TOKEN_BYTES).hash(),
            family_id: issued.record.family_id.clone(),
            client_id: client.client.id.clone(),
            user_id: user.id.clone(),
            sid: issued.session.sid.clone(),
            scope: issued.record.scope.clone(),
            auth_time: issued.record.auth_time,
            amr: vec![format!("pwd-{n}")],
            acr: None,
            issued_at: now,
            idle_expires_at: now + app.state.settings.refresh_lifetimes.idle,
            absolute_expires_at: now + app.state.settings.refresh_lifetimes.absolute,
            access_token: None,
        }
    };

    // While the token could still be valid, purging keeps both records.
    app.state.purge_expired().await.unwrap();
    assert!(store
        .is_access_token_revoked(&by_jti(jti), signed_in_at)
        .await
        .unwrap());
    assert!(!store.create_refresh_token(&family_token(1)).await.unwrap());

    // Past the access token's expiry its revocation is swept (asked about an earlier instant, the
    // store no longer knows it); the family is still remembered.
    app.clock
        .advance(app.state.settings.lifetimes.access_token + Duration::minutes(2));
    app.state.purge_expired().await.unwrap();
    assert!(!store
        .is_access_token_revoked(&by_jti(jti), signed_in_at)
        .await
        .unwrap());
    assert!(!store.create_refresh_token(&family_token(2)).await.unwrap());

    // Past the absolute refresh lifetime the family's record goes too.
    app.clock
        .advance(app.state.settings.refresh_lifetimes.absolute);
    app.state.purge_expired().await.unwrap();
    assert!(store.create_refresh_token(&family_token(3)).await.unwrap());
}

#[tokio::test]
async fn codes_of_another_client_unknown_codes_and_missing_codes_are_refused() {
    let Setup { app, client, user } = setup().await;
    let other = app.add_web_client("other", false, ALL_SCOPES, &[]).await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    assert_invalid_grant(app.exchange_code(&other, &issued.code, None).await).await;
    assert_invalid_grant(app.exchange_code(&client, "no-such-code", None).await).await;
    let missing = app
        .token_request(
            &client,
            ClientAuth::Basic,
            &[("grant_type", "authorization_code")],
        )
        .await;
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn pkce_verifiers_are_checked() {
    let Setup { app, client, user } = setup().await;
    let pkce = || CodeOptions::default().with_pkce();
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";

    let issued = app.issue_code(&client, &user, pkce()).await;
    assert_invalid_grant(app.exchange_code(&client, &issued.code, Some(wrong)).await).await;

    let issued = app.issue_code(&client, &user, pkce()).await;
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;

    let issued = app.issue_code(&client, &user, pkce()).await;
    let malformed = app
        .exchange_code(&client, &issued.code, Some("too-short"))
        .await;
    assert_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;

    // A verifier without a challenge is a PKCE downgrade attempt.
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    let downgrade = app
        .exchange_code(&client, &issued.code, Some(PKCE_VERIFIER))
        .await;
    assert_invalid_grant(downgrade).await;

    // Confidential clients may use PKCE too.
    let issued = app.issue_code(&client, &user, pkce()).await;
    let ok = app
        .exchange_code(&client, &issued.code, Some(PKCE_VERIFIER))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_request() {
    let Setup { app, client, user } = setup().await;
    let exchange = |code: String, redirect_uri: Option<&'static str>| {
        let app = &app;
        let client = &client;
        async move {
            let mut form = vec![("grant_type", "authorization_code"), ("code", &*code)];
            if let Some(uri) = redirect_uri {
                form.push(("redirect_uri", uri));
            }
            app.token_request(client, ClientAuth::Basic, &form).await
        }
    };
    let code = app.issue_code(&client, &user, CodeOptions::default()).await;
    assert_invalid_grant(exchange(code.code, Some(OTHER_REDIRECT_URI)).await).await;
    let code = app.issue_code(&client, &user, CodeOptions::default()).await;
    let trailing = "https://app.example/callback/";
    assert_invalid_grant(exchange(code.code, Some(trailing)).await).await;
    let code = app.issue_code(&client, &user, CodeOptions::default()).await;
    assert_invalid_grant(exchange(code.code, None).await).await;

    // When the authorization request omitted it, the token request may too, but a value sent
    // anyway must still match.
    let implicit = || CodeOptions {
        redirect_uri_in_request: false,
        ..CodeOptions::default()
    };
    let code = app.issue_code(&client, &user, implicit()).await;
    assert_eq!(exchange(code.code, None).await.status(), StatusCode::OK);
    let code = app.issue_code(&client, &user, implicit()).await;
    assert_invalid_grant(exchange(code.code, Some(OTHER_REDIRECT_URI)).await).await;
    let code = app.issue_code(&client, &user, implicit()).await;
    let same = exchange(code.code, Some(REDIRECT_URI)).await;
    assert_eq!(same.status(), StatusCode::OK);
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let Setup { app, client, user } = setup().await;
    let fresh = app.issue_code(&client, &user, CodeOptions::default()).await;
    let stale = app.issue_code(&client, &user, CodeOptions::default()).await;
    app.clock.advance(Duration::seconds(59));
    let ok = app.exchange_code(&client, &fresh.code, None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    assert_invalid_grant(app.exchange_code(&client, &stale.code, None).await).await;
}

#[tokio::test]
async fn codes_of_disabled_or_removed_users_are_refused() {
    let Setup { app, client, user } = setup().await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    app.update_user(&user, |u| u.is_disabled = true).await;
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;

    let bob = app.add_user("bob@example.com", None, None, &[]).await;
    let issued = app.issue_code(&client, &bob, CodeOptions::default()).await;
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .remove_user("bob@example.com")
        .await
        .unwrap();
    assert_invalid_grant(app.exchange_code(&client, &issued.code, None).await).await;
}

#[tokio::test]
async fn refresh_tokens_follow_the_clients_grant_types() {
    let Setup { app, user, .. } = setup().await;
    let code_only = app
        .add_web_client("code-only", false, ALL_SCOPES, &["authorization_code"])
        .await;
    // offline_access is not needed, and not enough: the registration decides.
    let (body, _) = app
        .sign_in(
            &code_only,
            &user,
            CodeOptions::scope("openid offline_access"),
        )
        .await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["id_token"].is_string());
    let refresh = app.refresh(&code_only, "anything", None).await;
    assert_error(refresh, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

// ---------------------------------------------------------------------------------------------
// refresh_token

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let Setup { app, client, user } = setup().await;
    let (first, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let rt1 = str_of(&first, "refresh_token").to_owned();

    app.clock.advance(Duration::minutes(5));
    let (status, headers, second) = json(app.refresh(&client, &rt1, None).await).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(headers["cache-control"], "no-store");
    let rt2 = str_of(&second, "refresh_token").to_owned();
    assert_ne!(rt1, rt2, "a new refresh token on every use");
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid");
    let id = id_claims(&app, &client, &second["id_token"]).await;
    assert_eq!(id["sid"], issued.session.sid.as_str());
    assert_eq!(id["at_hash"], expected_at_hash(&second["access_token"]));
    let stored = app
        .state
        .services
        .store
        .find_refresh_token(&SecretHash::of(&rt2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.token.family_id, issued.record.family_id);

    // The replaced token is reuse: refused, and the whole family (rt2 too) is revoked.
    assert_invalid_grant(app.refresh(&client, &rt1, None).await).await;
    assert_invalid_grant(app.refresh(&client, &rt2, None).await).await;
    assert_invalid_grant(app.refresh(&client, "never-issued", None).await).await;
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let Setup { app, client, user } = setup().await;
    let (body, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let idle = app.state.settings.refresh_lifetimes.idle;
    let mut token = str_of(&body, "refresh_token").to_owned();
    // Used just within the idle window, it opens a new window...
    app.clock.advance(idle - Duration::seconds(1));
    let (status, _, body) = json(app.refresh(&client, &token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token = str_of(&body, "refresh_token").to_owned();
    // ...which then lapses, well before the absolute limit.
    app.clock.advance(idle);
    assert!(idle * 2 < app.state.settings.refresh_lifetimes.absolute);
    assert_invalid_grant(app.refresh(&client, &token, None).await).await;
}

#[tokio::test]
async fn rotation_never_extends_the_absolute_lifetime() {
    let Setup { app, client, user } = setup().await;
    let (body, issued) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let signed_in_at = app.clock.now_unix();
    let lifetimes = app.state.settings.refresh_lifetimes;
    assert!(lifetimes.absolute > lifetimes.idle);
    let mut token = str_of(&body, "refresh_token").to_owned();
    let step = lifetimes.idle - Duration::days(1);
    let mut elapsed = Duration::ZERO;
    while elapsed + step < lifetimes.absolute {
        app.clock.advance(step);
        elapsed += step;
        let (status, _, body) = json(app.refresh(&client, &token, None).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        token = str_of(&body, "refresh_token").to_owned();
        let id = id_claims(&app, &client, &body["id_token"]).await;
        assert_eq!(id["auth_time"], signed_in_at);
        assert_eq!(id["sid"], issued.session.sid.as_str());
    }
    // One second before the absolute limit it still works; at the limit nothing does, however
    // recently the token was rotated.
    app.clock
        .advance(lifetimes.absolute - elapsed - Duration::seconds(1));
    let (status, _, body) = json(app.refresh(&client, &token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token = str_of(&body, "refresh_token").to_owned();
    app.clock.advance(Duration::seconds(1));
    assert_invalid_grant(app.refresh(&client, &token, None).await).await;
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let Setup { app, client, user } = setup().await;
    let (body, _) = app
        .sign_in(&client, &user, CodeOptions::scope("openid profile email"))
        .await;
    let token = str_of(&body, "refresh_token").to_owned();

    let widened = app
        .refresh(&client, &token, Some("openid profile roles"))
        .await;
    assert_error(widened, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let malformed = app.refresh(&client, &token, Some("bad\"scope")).await;
    assert_error(malformed, StatusCode::BAD_REQUEST, "invalid_scope").await;

    // The refused requests did not consume the token.
    let (status, _, narrowed) = json(app.refresh(&client, &token, Some("openid")).await).await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid");
    let id = id_claims(&app, &client, &narrowed["id_token"]).await;
    assert!(
        id.get("name").is_none() && id.get("email").is_none(),
        "{id}"
    );
    let at = access_claims(&app, &narrowed["access_token"]).await;
    assert_eq!(at["scope"], "openid");

    // Narrowing applied to those tokens only: the family keeps its scope.
    let token = str_of(&narrowed, "refresh_token");
    let (status, _, full) = json(app.refresh(&client, token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(full["scope"], "email openid profile");
    let id = id_claims(&app, &client, &full["id_token"]).await;
    assert_eq!(id["name"], "Alice");
    assert_eq!(id["email"], "alice@example.com");

    // Narrowing to drop openid drops the ID token.
    let token = str_of(&full, "refresh_token");
    let (status, _, no_openid) = json(app.refresh(&client, token, Some("profile")).await).await;
    assert_eq!(status, StatusCode::OK, "{no_openid}");
    assert!(no_openid.get("id_token").is_none());
}

#[tokio::test]
async fn a_refresh_token_of_another_client_is_refused_and_left_alone() {
    let Setup { app, client, user } = setup().await;
    let other = app.add_web_client("other", false, ALL_SCOPES, &[]).await;
    let spa = app.add_web_client("spa", true, ALL_SCOPES, &[]).await;
    let (body, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let token = str_of(&body, "refresh_token").to_owned();
    assert_invalid_grant(app.refresh(&other, &token, None).await).await;
    assert_invalid_grant(app.refresh(&spa, &token, None).await).await;
    // Neither rotated nor revoked: its owner can still use it.
    let ok = app.refresh(&client, &token, None).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_fails_for_disabled_and_removed_users() {
    let Setup { app, client, user } = setup().await;
    let (body, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let token = str_of(&body, "refresh_token").to_owned();
    app.update_user(&user, |u| u.is_disabled = true).await;
    assert_invalid_grant(app.refresh(&client, &token, None).await).await;
    // Re-enabled, the (untouched) token works again.
    app.update_user(&user, |u| u.is_disabled = false).await;
    let (status, _, body) = json(app.refresh(&client, &token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = str_of(&body, "refresh_token").to_owned();

    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .remove_user("alice@example.com")
        .await
        .unwrap();
    assert_invalid_grant(app.refresh(&client, &token, None).await).await;
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_auth_time_and_shows_the_current_profile() {
    let Setup { app, client, user } = setup().await;
    let signed_in_at = app.clock.now_unix();
    let (body, issued) = app
        .sign_in(
            &client,
            &user,
            CodeOptions::scope("openid profile email roles").with_nonce("abc"),
        )
        .await;
    let first = id_claims(&app, &client, &body["id_token"]).await;
    assert_eq!(first["nonce"], "abc");
    assert_eq!(first["roles"], serde_json::json!(["admin", "staff"]));

    app.clock.advance(Duration::hours(2));
    app.update_user(&user, |u| {
        u.name = Some("Alice Cooper".into());
        u.roles = vec!["auditor".into()];
    })
    .await;
    let token = str_of(&body, "refresh_token");
    let (status, _, body) = json(app.refresh(&client, token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = id_claims(&app, &client, &body["id_token"]).await;
    assert_eq!(
        id["auth_time"], signed_in_at,
        "the original authentication time"
    );
    assert_eq!(id["iat"], app.clock.now_unix());
    assert_eq!(id["sub"], first["sub"]);
    assert_eq!(id["sid"], issued.session.sid.as_str());
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["name"], "Alice Cooper");
    assert_eq!(id["roles"], serde_json::json!(["auditor"]));
    assert!(id.get("nonce").is_none(), "no nonce on a refresh");
    assert_eq!(id["at_hash"], expected_at_hash(&body["access_token"]));
    let at = access_claims(&app, &body["access_token"]).await;
    assert_eq!(at["roles"], serde_json::json!(["auditor"]));
    assert_eq!(at["auth_time"], signed_in_at);

    // A password set meanwhile shows in can_reauthenticate. (Set in the store directly: the
    // operator action also revokes every token of the user, as revocation_triggers.rs shows.)
    let hash = app
        .state
        .services
        .passwords
        .hash(TEST_PASSWORD.to_owned().into())
        .await;
    app.update_user(&user, |u| u.password_hash = Some(hash))
        .await;
    let token = str_of(&body, "refresh_token");
    let (_, _, body) = json(app.refresh(&client, token, None).await).await;
    let id = id_claims(&app, &client, &body["id_token"]).await;
    assert_eq!(id[NAMESPACED], true);
}

/// Of several concurrent uses of one refresh token exactly one succeeds. Repeated 5 times by
/// default and 50 times with `TESSERA_SLOW_TESTS=1` (as CI runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_refreshes_exactly_one_wins() {
    const CONCURRENCY: usize = 10;
    let iterations = if std::env::var("TESSERA_SLOW_TESTS").as_deref() == Ok("1") {
        50
    } else {
        5
    };
    let Setup { app, client, user } = setup().await;
    let secret = client.secret.clone().unwrap();
    for iteration in 0..iterations {
        let (body, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
        let token = str_of(&body, "refresh_token").to_owned();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CONCURRENCY {
            let request = app
                .http
                .post(app.url("/oauth/token"))
                .basic_auth("web", Some(&secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)]);
            tasks.spawn(async move {
                let response = request.send().await.expect("request sent");
                error_of_or_ok(response).await
            });
        }
        let mut wins = 0;
        while let Some(outcome) = tasks.join_next().await {
            match outcome.unwrap() {
                Ok(()) => wins += 1,
                Err((status, error)) => {
                    assert_eq!(
                        (status, error.as_str()),
                        (StatusCode::BAD_REQUEST, "invalid_grant"),
                        "iteration {iteration}"
                    );
                }
            }
        }
        assert_eq!(wins, 1, "iteration {iteration}: exactly one refresh wins");
    }
}

async fn error_of_or_ok(response: reqwest::Response) -> Result<(), (StatusCode, String)> {
    if response.status() == StatusCode::OK {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

/// Describes a token by its jti alone, for asking whether a token entry revokes it.
fn by_jti(jti: &str) -> tessera_core::TokenFacts<'_> {
    tessera_core::TokenFacts {
        jti,
        sid: None,
        sub: "-",
        iat: i64::MAX,
    }
}

/// With the optional reuse grace, two tabs refreshing with one token both get tokens, and
/// neither branch is revoked; once the grace has passed, presenting the replaced token is reuse
/// again and revokes the family, branches included.
#[tokio::test]
async fn within_the_reuse_grace_a_replaced_token_refreshes_again() {
    let app = spawn_app_with(|config| {
        config.refresh_tokens.insecure_reuse_grace_seconds = 10;
    })
    .await;
    let client = app.add_web_client("web", false, ALL_SCOPES, &[]).await;
    let user = app
        .add_user("alice@example.com", None, Some("Alice"), &[])
        .await;
    let (first, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let rt1 = str_of(&first, "refresh_token").to_owned();

    let (status, _, tab_a) = json(app.refresh(&client, &rt1, None).await).await;
    assert_eq!(status, StatusCode::OK, "{tab_a}");
    app.clock.advance(Duration::seconds(9));
    let (status, _, tab_b) = json(app.refresh(&client, &rt1, None).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the second tab within the grace: {tab_b}"
    );
    let (rt_a, rt_b) = (
        str_of(&tab_a, "refresh_token"),
        str_of(&tab_b, "refresh_token"),
    );
    assert_ne!(rt_a, rt_b);
    assert_userinfo_accepts(&app, str_of(&tab_a, "access_token")).await;
    assert_userinfo_accepts(&app, str_of(&tab_b, "access_token")).await;

    // The grace counts from the first replacement: at 10 s it is over, and this is reuse.
    app.clock.advance(Duration::seconds(1));
    assert_invalid_grant(app.refresh(&client, &rt1, None).await).await;
    assert_invalid_grant(app.refresh(&client, rt_a, None).await).await;
    assert_invalid_grant(app.refresh(&client, rt_b, None).await).await;
    assert_userinfo_refuses(&app, str_of(&tab_b, "access_token")).await;
}

/// The grace is off unless configured: the same second refresh, at once, is reuse.
#[tokio::test]
async fn without_a_reuse_grace_an_immediate_second_refresh_is_reuse() {
    let Setup { app, client, user } = setup().await;
    let (first, _) = app.sign_in(&client, &user, CodeOptions::default()).await;
    let rt1 = str_of(&first, "refresh_token").to_owned();
    let (status, _, tab_a) = json(app.refresh(&client, &rt1, None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_invalid_grant(app.refresh(&client, &rt1, None).await).await;
    assert_invalid_grant(
        app.refresh(&client, str_of(&tab_a, "refresh_token"), None)
            .await,
    )
    .await;
}

const API: &str = "https://api.example.com/";

async fn app_with_resources() -> (TestApp, WebClient, User) {
    let app = spawn_app_with(|config| {
        config.tokens.resources = vec![API.into(), "https://billing.example.com/".into()];
    })
    .await;
    let client = app
        .add_web_client(
            "web",
            false,
            ALL_SCOPES,
            &["authorization_code", "refresh_token", "client_credentials"],
        )
        .await;
    let user = app
        .add_user("alice@example.com", None, Some("Alice"), &[])
        .await;
    (app, client, user)
}

/// The audience of a token, verified by jsonwebtoken against the JWKS for exactly `audience`.
async fn access_claims_for(app: &TestApp, token: &str, audience: &str) -> Value {
    verify_via_discovery(&app.http, &app.base_url, token, audience, "at+jwt")
        .await
        .expect("jsonwebtoken verifies the access token for that audience")
        .claims
}

/// RFC 8707: a token request naming a configured resource gets an access token whose only
/// audience is that API, on every grant; UserInfo (the issuer's audience) refuses it, and a
/// request without `resource` still gets the server-wide audience.
#[tokio::test]
async fn a_token_requested_for_a_resource_names_only_that_api() {
    let (app, client, user) = app_with_resources().await;
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", issued.code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("resource", API),
    ];
    let (status, _, body) = json(app.token_request(&client, ClientAuth::Basic, &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = str_of(&body, "access_token");
    assert_eq!(access_claims_for(&app, access, API).await["aud"], API);
    assert!(
        verify_via_discovery(
            &app.http,
            &app.base_url,
            access,
            &app.state.settings.access_token_audience,
            "at+jwt"
        )
        .await
        .is_err(),
        "not a token for the issuer's audience"
    );
    assert_userinfo_refuses(&app, access).await;

    // A refresh may name a resource too, or none for the server-wide audience.
    let rt = str_of(&body, "refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("resource", "https://billing.example.com/"),
    ];
    let (status, _, body) = json(app.token_request(&client, ClientAuth::Basic, &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let billing = "https://billing.example.com/";
    access_claims_for(&app, str_of(&body, "access_token"), billing).await;
    let (status, _, body) = json(
        app.refresh(&client, str_of(&body, "refresh_token"), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    access_claims(&app, &body["access_token"]).await;
    assert_userinfo_accepts(&app, str_of(&body, "access_token")).await;

    // client_credentials.
    let form = [("grant_type", "client_credentials"), ("resource", API)];
    let (status, _, body) = json(app.token_request(&client, ClientAuth::Basic, &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        access_claims_for(&app, str_of(&body, "access_token"), API).await["sub"],
        "web"
    );
}

/// An unknown, relative or fragment-bearing resource is `invalid_target` on every grant, and
/// the refusal spends nothing: the code is still redeemable, the refresh token not rotated.
#[tokio::test]
async fn unknown_or_malformed_resources_are_invalid_target_and_spend_nothing() {
    let (app, client, user) = app_with_resources().await;
    let bad = [
        "https://elsewhere.example/",
        "https://api.example.com/#frag",
        "api.example.com",
        "/relative",
    ];
    let issued = app.issue_code(&client, &user, CodeOptions::default()).await;
    for resource in bad {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", issued.code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("resource", resource),
        ];
        assert_error(
            app.token_request(&client, ClientAuth::Basic, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
    }
    let (status, _, body) = json(app.exchange_code(&client, &issued.code, None).await).await;
    assert_eq!(status, StatusCode::OK, "the code was not spent: {body}");
    let rt = str_of(&body, "refresh_token");
    for resource in bad {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("resource", resource),
        ];
        assert_error(
            app.token_request(&client, ClientAuth::Basic, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
        let form = [("grant_type", "client_credentials"), ("resource", resource)];
        assert_error(
            app.token_request(&client, ClientAuth::Basic, &form).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        )
        .await;
    }
    let (status, _, _) = json(app.refresh(&client, rt, None).await).await;
    assert_eq!(status, StatusCode::OK, "the refresh token was not rotated");
}
