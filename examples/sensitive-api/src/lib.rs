//! A resource server built with `tessera-verify`, as an API team would write one:
//!
//! - `GET /me`: any valid access token for this API; answers `{"sub": …}`;
//! - `POST /sensitive`: additionally demands that the user signed in within the last
//!   5 minutes ([`SENSITIVE_MAX_AGE`], or [`Options::sensitive_max_age`]), answering the
//!   RFC 9470 step-up challenge otherwise.
//!
//! Every request is checked in memory: the keys come from Tessera's JWKS (fetched at start-up,
//! refreshed in the background), and revocations from a mirror of Tessera's revocation feed
//! kept current by a background task. Nothing on the request path talks to Tessera, and a
//! token whose session (or user, or the whole installation) was revoked is refused as soon as
//! the feed delivers the entry. If the mirror falls behind by more than
//! [`Options::max_staleness`], requests are refused with `503` (fail closed).
//!
//! `src/main.rs` is the command line; `docs/sensitive-api.md` walks through it.

use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tessera_verify::axum::{Bearer, BearerAuth};
use tessera_verify::feed_sync::FeedSync;
use tessera_verify::remote::{RemoteError, RemoteOptions, RemoteVerifier};
use tessera_verify::revocation::RevocationMirror;
use tessera_verify::{Clock, StepUpRequired, SystemClock, VerifierOptions};
use tokio::task::JoinHandle;

/// How recent a sign-in `POST /sensitive` demands by default ([`Options::sensitive_max_age`]).
pub const SENSITIVE_MAX_AGE: Duration = Duration::from_secs(300);

/// What the API needs to know about its issuer.
#[derive(Clone, Debug)]
pub struct Options {
    /// Tessera's issuer URL (discovery and the feed are found under it).
    pub issuer: String,
    /// This API's audience: access tokens must name it in `aud`.
    pub audience: String,
    /// The API's confidential client at Tessera, for reading the revocation feed.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: String,
    /// How old the revocation mirror may get before every request is refused (default 30 s;
    /// Tessera's feed sends a keep-alive every 15 s).
    pub max_staleness: Duration,
    /// How recent a sign-in `POST /sensitive` demands (default [`SENSITIVE_MAX_AGE`], 5 minutes;
    /// whole seconds count, as in `auth_time`).
    pub sensitive_max_age: Duration,
    /// The clock for token lifetimes, freshness and staleness (tests inject theirs).
    pub clock: Arc<dyn Clock>,
}

impl Options {
    /// Options with the default staleness bound, the default [`SENSITIVE_MAX_AGE`] and the
    /// system clock.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            max_staleness: Duration::from_secs(30),
            sensitive_max_age: SENSITIVE_MAX_AGE,
            clock: Arc::new(SystemClock),
        }
    }
}

/// The running API: its router and the background tasks that keep keys and revocations
/// current (stopped when this is dropped).
#[derive(Debug)]
pub struct SensitiveApi {
    router: Router,
    mirror: Arc<RevocationMirror>,
    verifier: Arc<RemoteVerifier>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SensitiveApi {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SensitiveApi {
    /// Discovers the issuer, fetches its keys, and starts following its revocation feed (on
    /// the current tokio runtime). Requests are refused with `503` until the feed's first
    /// snapshot has arrived ([`wait_until_synced`](Self::wait_until_synced)).
    ///
    /// # Errors
    ///
    /// [`RemoteError`] when discovery or the first JWKS fetch fails.
    pub async fn start(options: Options) -> Result<Self, RemoteError> {
        let verifier = Arc::new(
            RemoteVerifier::discover_with(
                VerifierOptions::new(&options.issuer, &options.audience),
                RemoteOptions::default().clock(options.clock.clone()),
            )
            .await?,
        );
        let refresher = verifier.spawn_refresh();
        let mirror = Arc::new(RevocationMirror::new());
        let sync = FeedSync::new(
            &options.issuer,
            &options.client_id,
            &options.client_secret,
            mirror.clone(),
        )
        .with_clock(options.clock.clone())
        .on_error(|err| tracing::warn!(%err, "revocation feed"))
        .spawn();
        let auth = BearerAuth::remote(verifier.clone())
            .with_revocation(mirror.clone(), options.max_staleness)
            .on_rejection(|rejection| tracing::info!(%rejection, "request refused"));
        Ok(Self {
            router: router(ApiState {
                auth,
                sensitive_max_age: options.sensitive_max_age,
            }),
            mirror,
            verifier,
            tasks: vec![refresher, sync],
        })
    }

    /// The routes, ready to serve.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The revocation mirror the requests are checked against.
    pub fn mirror(&self) -> &RevocationMirror {
        &self.mirror
    }

    /// How many times the JWKS was fetched (at start-up, on expiry, on an unknown `kid`).
    pub fn jwks_fetches(&self) -> u64 {
        self.verifier.fetch_count()
    }

    /// Waits until the revocation mirror has loaded its first snapshot, or `limit` passes.
    /// Returns whether it did.
    pub async fn wait_until_synced(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.mirror.last_synced_at().is_none() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// What the handlers share: the token checks, and how recent a sign-in `POST /sensitive` demands.
#[derive(Clone)]
struct ApiState {
    auth: BearerAuth,
    sensitive_max_age: Duration,
}

/// [`Bearer`] finds the token checks in the state.
impl FromRef<ApiState> for BearerAuth {
    fn from_ref(state: &ApiState) -> Self {
        state.auth.clone()
    }
}

fn router(state: ApiState) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/sensitive", post(sensitive))
        .with_state(state)
}

/// Any valid, unrevoked access token for this API.
async fn me(Bearer(token): Bearer) -> Json<Value> {
    Json(json!({ "sub": token.sub }))
}

/// A sensitive operation: the user must have signed in within [`Options::sensitive_max_age`]
/// ([`SENSITIVE_MAX_AGE`] by default). (That the session was not revoked is already checked,
/// for every request, by the extractor.)
async fn sensitive(
    State(state): State<ApiState>,
    Bearer(token): Bearer,
) -> Result<Json<Value>, StepUpRequired> {
    state
        .auth
        .require_auth_within(&token, state.sensitive_max_age)?;
    tracing::info!(sub = %token.sub, "sensitive operation performed");
    Ok(Json(json!({
        "done": true,
        "sub": token.sub,
        "auth_time": token.auth_time,
    })))
}
