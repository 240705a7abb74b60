//! A minimal OpenID Connect relying party for trying Tessera's browser sign-in, built on the
//! third-party [`openidconnect`] crate and nothing Tessera-specific.
//!
//! ```text
//! cargo run -p sample-client -- --issuer http://127.0.0.1:8080 --client-id web \
//!     --client-secret SECRET [--listen 127.0.0.1:8081] [--scope roles]
//! ```
//!
//! It discovers the provider, listens on `--listen` for the redirect back to
//! `http://<listen>/callback` (register exactly that URI with the client), and prints an
//! authorization URL (authorization code flow with PKCE S256, a nonce and a state) to open in a
//! browser. When the browser comes back it checks `state` and `iss` (RFC 9207), exchanges the
//! code, verifies the ID token (signature via the JWKS, issuer, audience, expiry, nonce,
//! `at_hash`), prints its claims and the UserInfo response, shows a short "signed in as" page and
//! exits. Without `--client-secret` (or `SAMPLE_CLIENT_SECRET`) it acts as a public client.
//! See README.md beside this file for a complete walk-through.

use anyhow::{bail, Context, Result};
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use openidconnect::core::{CoreClient, CoreGenderClaim, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    UserInfoClaims,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Sign in at an OpenID Connect provider and print what it says about you")]
struct Args {
    /// The provider's issuer URL (discovery is fetched from it).
    #[arg(long)]
    issuer: String,
    /// The client id registered at the provider.
    #[arg(long)]
    client_id: String,
    /// The client secret of a confidential client; omit for a public client.
    #[arg(long, env = "SAMPLE_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Where to listen for the redirect back; the redirect URI is `http://<listen>/callback`.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Scopes to ask for besides `openid` (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", default_values = ["profile", "email"])]
    scopes: Vec<String>,
}

/// The query of the redirect back, and where to send the page the browser will show.
type Callback = (HashMap<String, String>, oneshot::Sender<String>);

/// What the authorization request left to check the response against.
struct Pending {
    state: CsrfToken,
    nonce: Nonce,
    pkce_verifier: PkceCodeVerifier,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // openidconnect's documentation asks for redirects to be off: following them opens the
    // client to server-side request forgery.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let issuer = IssuerUrl::new(args.issuer.clone()).context("--issuer is not a URL")?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .context("discovery failed")?;
    let redirect_uri = format!("http://{}/callback", args.listen);
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(args.client_id.clone()),
        args.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.clone())?);

    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(args.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(pkce_challenge)
        .url();

    // Listen before printing the URL, so the redirect back cannot arrive too early.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let (callbacks, mut received) = mpsc::channel::<Callback>(1);
    let app = Router::new().route(
        "/callback",
        get(
            move |Query(query): Query<HashMap<String, String>>| async move {
                let (reply, page) = oneshot::channel();
                if callbacks.send((query, reply)).await.is_err() {
                    return Html("This sign-in has already been handled.".to_owned());
                }
                Html(page.await.unwrap_or_default())
            },
        ),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    println!("Redirect URI (register it with the client): {redirect_uri}");
    println!("Open this URL in a browser to sign in:\n\n{authorize_url}\n");

    let (query, reply) = received
        .recv()
        .await
        .context("the callback listener stopped")?;
    let pending = Pending {
        state,
        nonce,
        pkce_verifier,
    };
    let outcome = finish(&client, &metadata, &http, query, pending).await;
    let page = match &outcome {
        Ok(who) => format!("Signed in as {}. You can close this tab.", escape(who)),
        Err(err) => format!("Sign-in failed: {}", escape(&format!("{err:#}"))),
    };
    let _ = reply.send(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Sample client</title><p>{page}</p>"
    ));
    let _ = stop.send(());
    // Give the browser its page; a connection that lingers must not keep the process alive.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    outcome.map(|who| println!("\nSigned in as {who}."))
}

/// Checks the redirect back, redeems the code and verifies the tokens; returns who signed in.
async fn finish(
    client: &SampleClient,
    metadata: &CoreProviderMetadata,
    http: &reqwest::Client,
    query: HashMap<String, String>,
    pending: Pending,
) -> Result<String> {
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").map_or("", String::as_str);
        bail!("the provider answered {error}: {description}");
    }
    if query.get("state") != Some(pending.state.secret()) {
        bail!("the state does not match this sign-in (a forged or stale redirect)");
    }
    // RFC 9207: the response names its issuer, so a response from another provider that the
    // client also uses cannot be mixed up with this one.
    if query.get("iss").map(String::as_str) != Some(metadata.issuer().as_str()) {
        bail!("the iss parameter is missing or names another issuer");
    }
    let code = query.get("code").context("no code in the redirect")?;

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))?
        .set_pkce_verifier(pending.pkce_verifier)
        .request_async(http)
        .await
        .context("the code exchange failed")?;
    let id_token = tokens.id_token().context("no ID token in the response")?;
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &pending.nonce)
        .context("the ID token did not verify")?;
    if let Some(expected) = claims.access_token_hash() {
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg()?,
            id_token.signing_key(&verifier)?,
        )?;
        if actual != *expected {
            bail!("at_hash does not match the access token");
        }
    }

    let email = claims.email().map(|e| e.as_str().to_owned());
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .into_iter()
        .flatten()
        .map(|a| a.as_str())
        .collect();
    println!("ID token (verified):");
    println!("  sub:       {}", claims.subject().as_str());
    println!(
        "  email:     {}",
        email.as_deref().unwrap_or("(not granted)")
    );
    match claims.auth_time() {
        Some(t) => println!("  auth_time: {} ({t})", t.timestamp()),
        None => println!("  auth_time: (absent)"),
    }
    println!("  amr:       {amr:?}");
    if let Some(refresh) = tokens.refresh_token() {
        println!(
            "  (a refresh token came too: {} characters)",
            refresh.secret().len()
        );
    }

    let userinfo: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )?
        .request_async(http)
        .await
        .context("the UserInfo request failed")?;
    println!("UserInfo:\n{}", serde_json::to_string_pretty(&userinfo)?);

    Ok(email.unwrap_or_else(|| claims.subject().to_string()))
}

/// The client type `from_provider_metadata` returns (authorization URL known; token and
/// UserInfo endpoints as discovery says).
type SampleClient = CoreClient<
    EndpointSet,      // authorization
    EndpointNotSet,   // device authorization
    EndpointNotSet,   // introspection
    EndpointNotSet,   // revocation
    EndpointMaybeSet, // token
    EndpointMaybeSet, // UserInfo
>;

/// Escapes text for an HTML page.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
