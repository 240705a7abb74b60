//! Interoperability with a third-party OpenID Connect client library: the `openidconnect` crate
//! runs the whole authorization code flow against a real Tessera server, with nothing on the
//! client side that knows it is talking to Tessera — discovery, the authorization request with
//! PKCE (S256), nonce and state, the code exchange, ID token verification (signature through the
//! JWKS, `iss`, `aud`, `exp`, `nonce`, `at_hash`), refresh token rotation and UserInfo.
//!
//! Only the person's part (typing a password into the hosted login page, allowing access) is
//! played by the test browser from `tessera-testkit`, as a real browser would.
//!
//! The library checks `exp` against its own clock; the server runs on a manual clock that starts
//! at a fixed instant, so the verifier is given that clock's time (`set_time_fn`).

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthenticationFlow, AuthorizationCode, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdTokenClaims, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tessera_core::{Clock, ManualClock, NewClient};
use tessera_testkit::browser::Browser;
use tessera_testkit::{spawn_app, TestApp};
use url::Url;

/// Never contacted: the test browser stops at the redirect back to the client.
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The non-standard claims this application reads, declared the way the library intends
/// (`AdditionalClaims`): roles, the session id (OpenID Connect session management) and the
/// reauthentication hint under its default namespace.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct AppClaims {
    #[serde(default)]
    roles: Vec<String>,
    sid: Option<String>,
    #[serde(rename = "https://tessera.dev/claims/can_reauthenticate")]
    can_reauthenticate: Option<bool>,
}

impl AdditionalClaims for AppClaims {}

type AppTokenResponse = StandardTokenResponse<
    IdTokenFields<
        AppClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// `CoreClient` with [`AppClaims`], as built by `from_provider_metadata`.
type AppClient = Client<
    AppClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    AppTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

type AppIdTokenClaims = IdTokenClaims<AppClaims, CoreGenderClaim>;

/// The client's HTTP client. The library's documentation asks for redirects to be off (SSRF).
fn http_client() -> reqwest::Client {
    tessera_server::http_client::https_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn chrono_now(clock: &ManualClock) -> DateTime<Utc> {
    DateTime::from_timestamp(clock.now().unix_timestamp(), 0).expect("a representable instant")
}

/// Registers a client with [`REDIRECT_URI`] and the user; returns the secret of a confidential
/// client.
async fn register(app: &TestApp, client_id: &str, public: bool) -> Option<ClientSecret> {
    let (_, secret) = app
        .state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_client(NewClient {
            id: client_id.into(),
            name: Some("Interop App".into()),
            redirect_uris: vec![REDIRECT_URI.into()],
            is_public: public,
            // The confidential client is first party (no consent page); the public one is not,
            // so the consent page is part of its flow.
            is_first_party: !public,
            ..Default::default()
        })
        .await
        .expect("client registered");
    app.state
        .operator(tessera_core::Actor::cli("test").unwrap())
        .add_user(tessera_server::admin::AddUser {
            email: (EMAIL).to_string(),
            name: Some("Ada Lovelace".into()),
            roles: vec!["admin".into(), "auditor".into()],
            password: Some(PASSWORD.to_owned().into()),
        })
        .await
        .expect("user added");
    secret.map(|s| ClientSecret::new(s.expose().to_owned()))
}

/// Discovery and client construction, exactly as any application would do them.
async fn discover(
    app: &TestApp,
    http: &reqwest::Client,
    client_id: &str,
    secret: Option<ClientSecret>,
) -> (CoreProviderMetadata, AppClient) {
    let issuer = IssuerUrl::new(app.base_url.clone()).expect("issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .expect("openidconnect accepts the discovery document");
    let client = Client::from_provider_metadata(
        metadata.clone(),
        ClientId::new(client_id.to_owned()),
        secret,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("redirect URL"));
    (metadata, client)
}

/// The ID token verifier on the server's clock, strict about `iat` and `auth_time` as well.
fn verify_id_token<'t>(
    client: &AppClient,
    clock: &ManualClock,
    response: &'t AppTokenResponse,
    nonce: Option<&Nonce>,
) -> &'t AppIdTokenClaims {
    let now = chrono_now(clock);
    let verifier = client
        .id_token_verifier()
        .set_time_fn(move || now)
        .set_issue_time_verifier_fn(move |iat| {
            (iat == now)
                .then_some(())
                .ok_or(format!("iat {iat} is not now ({now})"))
        })
        .set_auth_time_verifier_fn(move |auth_time| match auth_time {
            Some(t) if t <= now => Ok(()),
            other => Err(format!("auth_time {other:?} missing or in the future")),
        });
    let id_token = response
        .id_token()
        .expect("the token response has an ID token");
    let claims = match nonce {
        Some(nonce) => id_token.claims(&verifier, nonce),
        // A refreshed ID token answers no authorization request, so it carries no nonce.
        None => id_token.claims(&verifier, |n: Option<&Nonce>| {
            n.is_none()
                .then_some(())
                .ok_or("a refreshed ID token has a nonce".to_owned())
        }),
    }
    .expect("openidconnect verifies the ID token");

    // at_hash binds the access token to the ID token (OpenID Connect Core §3.1.3.6).
    let alg = id_token.signing_alg().expect("a signing algorithm");
    let key = id_token
        .signing_key(&verifier)
        .expect("the signing key is in the JWKS");
    let expected =
        AccessTokenHash::from_token(response.access_token(), alg, key).expect("at_hash computable");
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    claims
}

/// The person's part: the hosted login page, then the consent page when the client is not first
/// party, through a browser that keeps cookies. Returns the redirect back to the client.
async fn sign_in_as_a_person(app: &TestApp, authorize_url: &Url, expect_consent: bool) -> Url {
    let browser = Browser::new(&app.base_url);
    let login = browser.get(authorize_url.as_str()).await.page();
    assert_eq!(login.status, 200, "{}", login.html);
    let form = login.form();
    assert!(form.fields.contains_key("username") && form.fields.contains_key("password"));
    let landing = browser
        .submit(&form, &[("username", EMAIL), ("password", PASSWORD)])
        .await;
    if !expect_consent {
        return landing.client();
    }
    let consent = landing.page();
    assert!(
        consent.contains("wants to access your account"),
        "{}",
        consent.html
    );
    browser
        .submit(&consent.form(), &[("decision", "allow")])
        .await
        .client()
}

/// Runs the whole flow for a confidential (first-party) or a public (third-party) client; every
/// check is an assertion.
async fn whole_flow(public: bool) {
    let app = spawn_app().await;
    let client_id = if public { "interop-spa" } else { "interop-web" };
    let secret = register(&app, client_id, public).await;
    let http = http_client();
    let (metadata, client) = discover(&app, &http, client_id, secret).await;

    // The authorization request: PKCE S256, nonce, state, and the scopes an app asks for.
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf_state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(
            ["profile", "email", "roles", "offline_access"].map(|s| Scope::new(s.to_owned())),
        )
        .set_pkce_challenge(pkce_challenge)
        .url();

    let callback = sign_in_as_a_person(&app, &authorize_url, public).await;
    assert!(
        callback.as_str().starts_with(REDIRECT_URI),
        "redirected to {callback}"
    );
    let params: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    assert!(!params.contains_key("error"), "{params:?}");
    assert_eq!(params.get("state"), Some(csrf_state.secret()), "state");
    // RFC 9207: the response names its issuer, which must be the discovered one.
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(metadata.issuer().as_str()),
        "iss"
    );
    let code = AuthorizationCode::new(params["code"].clone());

    // The code exchange, with the PKCE verifier.
    let tokens = client
        .exchange_code(code)
        .expect("token endpoint discovered")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .expect("openidconnect accepts the token response");
    assert_eq!(*tokens.token_type(), CoreTokenType::Bearer);
    assert!(tokens.expires_in().is_some());
    let claims = verify_id_token(&client, &app.clock, &tokens, Some(&nonce));
    let sub = claims.subject().clone();
    assert_ne!(sub.as_str(), EMAIL, "sub is stable, not the email address");
    assert_eq!(claims.issuer().as_str(), app.base_url);
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [client_id]
    );
    // The nonce was checked by `claims(&verifier, &nonce)`: a missing or different one fails.
    let auth_time = claims.auth_time().expect("auth_time");
    assert_eq!(auth_time, chrono_now(&app.clock));
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(false));
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Ada Lovelace")
    );
    let extra = claims.additional_claims();
    assert_eq!(extra.roles, ["admin", "auditor"]);
    assert!(extra.sid.is_some(), "sid");
    assert_eq!(extra.can_reauthenticate, Some(true));
    let sid = extra.sid.clone();

    // A refresh rotates the refresh token and returns a new ID token with the original auth_time.
    let first_refresh = tokens
        .refresh_token()
        .expect("a refresh token (offline_access)")
        .clone();
    app.clock.advance(time::Duration::minutes(5));
    // Confidential clients refresh with client_secret_post this time (client_secret_basic above).
    let refresher = if public {
        client.clone()
    } else {
        client.clone().set_auth_type(AuthType::RequestBody)
    };
    let refreshed = refresher
        .exchange_refresh_token(&first_refresh)
        .expect("token endpoint discovered")
        .request_async(&http)
        .await
        .expect("openidconnect accepts the refresh response");
    let second_refresh = refreshed
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let claims = verify_id_token(&client, &app.clock, &refreshed, None);
    assert_eq!(claims.subject(), &sub);
    assert_eq!(claims.auth_time(), Some(auth_time), "auth_time is kept");
    assert_eq!(claims.additional_claims().sid, sid);

    // UserInfo with the refreshed access token: the same subject (the library checks it too).
    let userinfo: UserInfoClaims<AppClaims, CoreGenderClaim> = client
        .user_info(refreshed.access_token().clone(), Some(sub.clone()))
        .expect("userinfo endpoint discovered")
        .request_async(&http)
        .await
        .expect("openidconnect accepts the UserInfo response");
    assert_eq!(userinfo.subject(), &sub);
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(userinfo.additional_claims().roles, ["admin", "auditor"]);

    // The replaced refresh token is dead: its reuse is refused with invalid_grant...
    assert_invalid_grant(&client, &http, &first_refresh).await;
    // ...and, reuse meaning theft, the whole family went with it.
    assert_invalid_grant(&client, &http, &second_refresh).await;
}

async fn assert_invalid_grant(client: &AppClient, http: &reqwest::Client, token: &RefreshToken) {
    match client
        .exchange_refresh_token(token)
        .expect("token endpoint discovered")
        .request_async(http)
        .await
    {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(
                *error.error(),
                CoreErrorResponseType::InvalidGrant,
                "{error:?}"
            );
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn a_confidential_client_signs_in_refreshes_and_reads_userinfo_with_openidconnect() {
    whole_flow(false).await;
}

#[tokio::test]
async fn a_public_client_with_pkce_signs_in_refreshes_and_reads_userinfo_with_openidconnect() {
    whole_flow(true).await;
}
