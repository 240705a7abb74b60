//! A minimal OpenID Connect relying party for trying Tessera's browser sign-in, built on the
//! third-party [`openidconnect`] crate and nothing Tessera-specific.
//!
//! ```text
//! cargo run -p sample-client -- --issuer http://127.0.0.1:8080 --client-id web \
//!     --client-secret SECRET [--listen 127.0.0.1:8081] [--scope roles] [--once]
//! ```
//!
//! It discovers the provider, listens on `--listen` and prints its own start URL,
//! `http://<listen>/`, to open in a browser. Each visit there starts a new sign-in: a fresh
//! `state`, `nonce` and PKCE (S256) verifier, and a redirect to the provider's authorization
//! endpoint; `?prompt=login` or `?max_age=SECONDS` on the start URL are passed on, to ask the
//! provider for the password again. When the browser comes back to `http://<listen>/callback`
//! (register exactly that URI with the client) it checks `state` and `iss` (RFC 9207),
//! exchanges the code, verifies the ID token (signature via the JWKS, issuer, audience, expiry,
//! nonce, `at_hash`, and `auth_time` against `max_age`), prints its claims, the access token and
//! the UserInfo response, and shows a short "signed in as" page. It keeps serving until Ctrl-C,
//! or exits after the first sign-in with `--once` (status 1 if it failed). Without
//! `--client-secret` (or `SAMPLE_CLIENT_SECRET`) it acts as a public client.
//! See README.md beside this file for a complete walk-through.

use anyhow::{bail, Context, Result};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use openidconnect::core::{
    CoreAuthPrompt, CoreClient, CoreGenderClaim, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    UserInfoClaims,
};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

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
    /// Where to listen; the redirect URI is `http://<listen>/callback`.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Scopes to ask for besides `openid` (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", default_values = ["profile", "email"])]
    scopes: Vec<String>,
    /// Exit after the first sign-in (status 1 if it failed) instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
}

/// A sign-in started and not yet come back, kept under its `state`.
struct Pending {
    nonce: Nonce,
    pkce_verifier: PkceCodeVerifier,
    /// The `max_age` asked for, which the ID token's `auth_time` must then satisfy.
    max_age: Option<Duration>,
    started: Instant,
}

/// How long a started sign-in may take to come back; older ones are forgotten.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// Tolerance for the provider's clock against ours when checking `auth_time` against `max_age`.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(10);

struct App {
    client: SampleClient,
    issuer: IssuerUrl,
    http: reqwest::Client,
    scopes: Vec<String>,
    pending: Mutex<HashMap<String, Pending>>,
    /// Numbers the sign-ins in the output.
    count: AtomicU64,
    /// With `--once`, where the first sign-in's outcome goes.
    finished: Option<mpsc::Sender<bool>>,
}

/// A reqwest client builder with TLS by rustls on aws-lc-rs, trusting the Mozilla roots of
/// `webpki-roots` (certificates and host names verified), offering `h2` then `http/1.1`. The
/// workspace's reqwest has no crypto provider of its own: its `rustls-tls` feature would bring
/// ring, and the project's one crypto stack is aws-lc-rs.
fn https_client_builder() -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs's default provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder().use_preconfigured_tls(tls)
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let args = Args::parse();
    // openidconnect's documentation asks for redirects to be off: following them opens the
    // client to server-side request forgery.
    let http = https_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let issuer = IssuerUrl::new(args.issuer.clone()).context("--issuer is not a URL")?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .context("discovery failed")?;

    // Listen before printing anything, so the browser cannot arrive too early, and take the
    // address actually bound (the port may be 0).
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let redirect_uri = format!("http://{local}/callback");
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(args.client_id.clone()),
        args.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.clone())?);

    let (finished, mut first_outcome) = mpsc::channel(1);
    let app = Arc::new(App {
        client,
        issuer: metadata.issuer().clone(),
        http,
        scopes: args.scopes,
        pending: Mutex::new(HashMap::new()),
        count: AtomicU64::new(0),
        finished: args.once.then_some(finished),
    });
    let router = Router::new()
        .route("/", get(start))
        .route("/callback", get(callback))
        .with_state(app);

    println!("Redirect URI (register it with the client): {redirect_uri}");
    println!(
        "Open this URL in a browser to sign in (each visit starts a new sign-in; add \
         ?prompt=login or ?max_age=SECONDS to have the provider ask for the password again):\n\n\
         http://{local}/\n"
    );
    if args.once {
        println!("Exiting after the first sign-in (--once).");
    } else {
        println!("Serving until Ctrl-C.");
    }

    // Ctrl-C always stops; with --once, so does the first sign-in, and its outcome is the
    // exit status.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let succeeded = tokio::select! {
        _ = tokio::signal::ctrl_c() => true,
        outcome = first_outcome.recv(), if args.once => outcome.unwrap_or(false),
    };
    let _ = stop.send(());
    // Give the browser its last page; a connection that lingers must not keep the process alive.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    // The failure itself has been printed already.
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `GET /`: starts a new sign-in and sends the browser to the provider.
async fn start(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut prompts = Vec::new();
    let mut max_age = None;
    for (name, value) in &query {
        match name.as_str() {
            "prompt" => {
                for prompt in value.split(' ').filter(|p| !p.is_empty()) {
                    prompts.push(match prompt {
                        "none" => CoreAuthPrompt::None,
                        "login" => CoreAuthPrompt::Login,
                        "consent" => CoreAuthPrompt::Consent,
                        "select_account" => CoreAuthPrompt::SelectAccount,
                        other => return bad_request(&format!("unknown prompt value {other:?}")),
                    });
                }
            }
            "max_age" => match value.parse() {
                Ok(seconds) => max_age = Some(Duration::from_secs(seconds)),
                Err(_) => return bad_request("max_age must be a number of seconds"),
            },
            other => {
                return bad_request(&format!(
                    "unknown parameter {other:?}: this page takes prompt and max_age"
                ))
            }
        }
    }

    // A new state, nonce and PKCE verifier for every sign-in: each is good for one response.
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = app
        .client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(app.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(pkce_challenge);
    for prompt in prompts {
        request = request.add_prompt(prompt);
    }
    if let Some(max_age) = max_age {
        request = request.set_max_age(max_age);
    }
    let (url, state, nonce) = request.url();

    let mut pending = app.pending.lock().expect("pending sign-ins");
    pending.retain(|_, p| p.started.elapsed() < PENDING_LIFETIME);
    pending.insert(
        state.secret().clone(),
        Pending {
            nonce,
            pkce_verifier,
            max_age,
            started: Instant::now(),
        },
    );
    Redirect::to(url.as_str()).into_response()
}

/// `GET /callback`: the provider's answer to a sign-in started at `/`.
async fn callback(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    let state = query.get("state").cloned().unwrap_or_default();
    let pending = app.pending.lock().expect("pending sign-ins").remove(&state);
    let Some(pending) = pending else {
        // Not counted as a sign-in: a reloaded callback page, or a forged redirect.
        eprintln!("A redirect back with an unknown or already used state was refused.");
        return page(
            "This sign-in is unknown or already finished (the state does not match one this \
             client started). <a href=\"/\">Sign in again</a>.",
        );
    };
    let number = app.count.fetch_add(1, Ordering::Relaxed) + 1;
    let outcome = finish(&app, query, pending).await;
    let html = match &outcome {
        Ok((who, report)) => {
            // One write, so that two sign-ins finishing together do not interleave.
            println!("Sign-in {number}:\n{report}\nSigned in as {who}.\n");
            format!(
                "Signed in as {}. Sign in again: <a href=\"/\">silently</a> or \
                 <a href=\"/?prompt=login\">with the password</a>.",
                escape(who)
            )
        }
        Err(err) => {
            eprintln!("Sign-in {number} failed: {err:#}\n");
            format!("Sign-in failed: {}", escape(&format!("{err:#}")))
        }
    };
    if let Some(finished) = &app.finished {
        let _ = finished.try_send(outcome.is_ok());
    }
    page(&html)
}

/// Checks the redirect back, redeems the code and verifies the tokens; returns who signed in
/// and what to print.
async fn finish(
    app: &App,
    query: HashMap<String, String>,
    pending: Pending,
) -> Result<(String, String)> {
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").map_or("", String::as_str);
        bail!("the provider answered {error}: {description}");
    }
    // RFC 9207: the response names its issuer, so a response from another provider that the
    // client also uses cannot be mixed up with this one.
    if query.get("iss").map(String::as_str) != Some(app.issuer.as_str()) {
        bail!("the iss parameter is missing or names another issuer");
    }
    let code = query.get("code").context("no code in the redirect")?;

    let tokens = app
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))?
        .set_pkce_verifier(pending.pkce_verifier)
        .request_async(&app.http)
        .await
        .context("the code exchange failed")?;
    let id_token = tokens.id_token().context("no ID token in the response")?;
    let verifier = app.client.id_token_verifier();
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
    // OIDC Core 3.1.3.7: having asked for max_age, the client checks that the sign-in is
    // recent enough itself rather than trusting the provider to have honoured it.
    if let Some(max_age) = pending.max_age {
        let auth_time = claims
            .auth_time()
            .context("max_age was asked for but the ID token has no auth_time")?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let age = now.saturating_sub(u64::try_from(auth_time.timestamp()).unwrap_or(0));
        if age > (max_age + CLOCK_TOLERANCE).as_secs() {
            bail!(
                "auth_time is {age} s ago, more than the max_age of {} s asked for",
                max_age.as_secs()
            );
        }
    }

    let email = claims.email().map(|e| e.as_str().to_owned());
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .into_iter()
        .flatten()
        .map(|a| a.as_str())
        .collect();
    let mut report = String::new();
    writeln!(report, "ID token (verified):")?;
    writeln!(report, "  sub:       {}", claims.subject().as_str())?;
    writeln!(
        report,
        "  email:     {}",
        email.as_deref().unwrap_or("(not granted)")
    )?;
    match claims.auth_time() {
        Some(t) => writeln!(report, "  auth_time: {} ({t})", t.timestamp())?,
        None => writeln!(report, "  auth_time: (absent)")?,
    }
    writeln!(report, "  amr:       {amr:?}")?;
    if let Some(refresh) = tokens.refresh_token() {
        writeln!(
            report,
            "  (a refresh token came too: {} characters)",
            refresh.secret().len()
        )?;
    }
    // Printed whole so that it can be tried against an API (docs/sensitive-api.md does); a real
    // application keeps its tokens out of logs.
    let lifetime = tokens
        .expires_in()
        .map(|d| format!(", valid for {} s", d.as_secs()))
        .unwrap_or_default();
    writeln!(
        report,
        "Access token (send it as `Authorization: Bearer ...` to an API that trusts this \
         issuer{lifetime}):"
    )?;
    writeln!(report, "access_token: {}", tokens.access_token().secret())?;

    let userinfo: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = app
        .client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )?
        .request_async(&app.http)
        .await
        .context("the UserInfo request failed")?;
    write!(
        report,
        "UserInfo:\n{}",
        serde_json::to_string_pretty(&userinfo)?
    )?;

    Ok((
        email.unwrap_or_else(|| claims.subject().to_string()),
        report,
    ))
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

/// A small HTML page around `body` (already escaped).
fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Sample client</title><p>{body}</p>"
    ))
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, page(&escape(message))).into_response()
}

/// Escapes text for an HTML page.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
