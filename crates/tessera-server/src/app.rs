//! Start-up: open the store, obtain the key-encryption key, load the key ring, and assemble the
//! shared state every request sees.

use crate::config::{Config, ConfigError};
use crate::connections::ConnectionLimits;
use crate::hashing::HashingPool;
use crate::kek_source::{self, KekOrigin, KekSourceError};
use crate::keys::{KeyRing, KeyRingError};
use axum::body::Bytes;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tessera_core::{
    Clock, LoginThrottlePolicy, PasswordHash, PasswordHasher, RefreshLifetimes, TokenLifetimes,
};
use tessera_jose::Algorithm;
use tessera_store::{Store, StoreError};
use time::Duration;

/// Why Tessera could not start. Each message says what is wrong and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// An operator command found no store where the configuration points.
    #[error("{0}")]
    NoStore(String),
    /// The key-encryption key is missing, malformed or unreadable.
    #[error(transparent)]
    Kek(#[from] KekSourceError),
    /// The signing keys could not be loaded.
    #[error("{0}; if the key-encryption key was replaced, restore the original one")]
    Keys(#[from] KeyRingError),
}

/// What start-up did, for the log.
#[derive(Debug)]
pub struct StartupReport {
    /// Where the KEK came from.
    pub kek_origin: KekOrigin,
    /// Signing keys generated during this start.
    pub created_kids: Vec<String>,
    /// Registered clients.
    pub client_count: usize,
    /// What an operator should fix, such as a data directory others can enter.
    pub warnings: Vec<String>,
}

/// Everything a request handler can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`], in three groups: what the configuration decided
/// ([`Settings`]), what the server works with ([`Services`]), and how its parts wake each other
/// ([`Signals`]).
#[derive(Debug)]
pub struct Inner {
    /// What the configuration decided, fixed for the life of the server.
    pub settings: Settings,
    /// The store, the keys, the clock and password hashing.
    pub services: Services,
    /// The in-process wake-ups.
    pub signals: Signals,
}

/// The server's settings, read from the configuration at start-up.
#[derive(Debug)]
pub struct Settings {
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    /// Token lifetimes.
    pub lifetimes: TokenLifetimes,
    /// Algorithm of access tokens.
    pub access_token_alg: Algorithm,
    /// Algorithm of ID tokens.
    pub id_token_alg: Algorithm,
    /// `aud` of access tokens.
    pub access_token_audience: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Time limit per request.
    pub request_timeout: StdDuration,
    /// Connection limits of the accept loop (connections.rs).
    pub connections: ConnectionLimits,
    /// How often the key ring is re-read from the store. With a store that reports changes
    /// (PostgreSQL) the ring is also re-read as soon as another node changes the keys; this
    /// periodic refresh is then the safety net.
    pub key_refresh_interval: StdDuration,
    /// How often [`watch_store`](crate::workers::feed_watcher::watch_store) polls the store; `None` for
    /// its default, which depends on whether the store reports changes.
    pub feed_poll_interval: Option<StdDuration>,
    /// Caps on open revocation-feed streams (`[feed]` in the configuration).
    pub feed_streams: crate::feed::StreamLimits,
    /// Extra publication time of rotated-out keys.
    pub key_retirement_grace: Duration,
    /// The discovery document, serialised once.
    pub discovery_json: Bytes,
    /// Refresh-token lifetimes.
    pub refresh_lifetimes: RefreshLifetimes,
    /// The resources (APIs) token requests may name (RFC 8707).
    pub resources: Vec<String>,
    /// How long a replaced refresh token may be presented again without counting as reuse
    /// (`refresh_tokens.insecure_reuse_grace_seconds`; zero by default).
    pub refresh_reuse_grace: Duration,
    /// Browser-session lifetime.
    pub session_lifetime: Duration,
    /// Brute-force limits on password sign-in, per account.
    pub login_throttle: LoginThrottlePolicy,
    /// Limits on password sign-in per network source (spraying).
    pub source_throttle: tessera_core::SourceThrottlePolicy,
    /// Where a request's client address is read from (trusted proxies).
    pub client_ip: crate::client_ip::ClientIpSource,
    /// Prefix of Tessera's own claims.
    pub claims_namespace: String,
    /// The server's second-factor policy (`[mfa]`).
    pub mfa: crate::config::MfaConfig,
    /// Whether self-service sign-up is on (`signup.enabled`).
    pub sign_up_enabled: bool,
    /// This server as a WebAuthn relying party; `None` when passkeys are not offered.
    pub passkeys: Option<crate::authn::passkeys::PasskeySettings>,
}

impl Settings {
    /// The algorithms the server signs with.
    pub fn signing_algs(&self) -> Vec<Algorithm> {
        let mut algs = vec![self.access_token_alg, self.id_token_alg];
        algs.dedup();
        algs
    }
}

/// What request handlers, workers and operators work with.
#[derive(Debug)]
pub struct Services {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Signing keys (shared with operators made by [`AppState::operator`], which reload them
    /// after a rotation).
    pub keys: Arc<KeyRing>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Password hashing, off the runtime.
    pub passwords: HashingPool,
    /// A hash no password matches, with the real parameters, verified when a login names an
    /// unknown user so that the response takes as long as for a known one.
    pub dummy_password_hash: PasswordHash,
    /// The SMTP sender the outbox worker uses; `None` without `email.smtp_url`.
    pub mailer: Option<Arc<crate::mailer::Mailer>>,
    /// The SMS webhook the outbox worker uses; `None` without `sms.webhook_url`.
    pub sms: Option<Arc<crate::sms::SmsSender>>,
}

/// The in-process wake-ups of one server. Whatever changes state inside the server (a request
/// handler through [`AppState`], an [`Operator`](crate::admin::Operator) made by
/// [`AppState::operator`]) announces through these, so that open feed streams and the
/// back-channel logout worker act at once rather than at their next poll. Cheap to clone; the
/// clones share the channels.
#[derive(Clone, Debug)]
pub struct Signals {
    /// The newest revocation-feed cursor this process knows of. Revocations made here announce
    /// their cursor at once; [`watch_store`](crate::workers::feed_watcher::watch_store) picks up
    /// those made elsewhere (the CLI, other nodes), on the store's change notification or by
    /// polling. Feed streams wait on it.
    pub feed_cursor: tokio::sync::watch::Sender<i64>,
    /// Wakes the back-channel logout worker when a revocation here queued deliveries.
    pub backchannel_wake: Arc<tokio::sync::Notify>,
    /// Wakes the outbox worker when a request here queued mail.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Set when the server begins a graceful shutdown, so that responses that never end on
    /// their own (revocation feed streams) end and let it finish.
    pub shutting_down: tokio::sync::watch::Sender<bool>,
    /// The revocation feed's fan-out: the one reader's broadcast of new entries to the open
    /// streams, and the streams' slots under the caps.
    pub feed: crate::feed::FeedHub,
}

impl Signals {
    /// Fresh channels: cursor 0, not shutting down.
    pub fn new() -> Self {
        Self {
            feed_cursor: tokio::sync::watch::Sender::new(0),
            backchannel_wake: Arc::new(tokio::sync::Notify::new()),
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            shutting_down: tokio::sync::watch::Sender::new(false),
            feed: crate::feed::FeedHub::new(),
        }
    }

    /// Announces a feed entry made in this process to its feed streams, and wakes the
    /// back-channel logout worker if the revocation queued deliveries.
    pub fn announce(&self, done: &tessera_store::RevocationOutcome) {
        self.announce_cursor(done.entry.cursor);
        if done.logout_notifications > 0 {
            self.backchannel_wake.notify_one();
        }
    }

    /// Announces feed entries made in this process up to `cursor` to its feed streams.
    pub fn announce_cursor(&self, cursor: i64) {
        self.feed_cursor.send_if_modified(|latest| {
            let newer = cursor > *latest;
            if newer {
                *latest = cursor;
            }
            newer
        });
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Deletes records nothing can use any more: lapsed sign-in pages, TOTP enrolments never
    /// confirmed, forgotten sign-in attempt counts, sessions and refresh
    /// tokens past their lifetime, codes a day after they expired (kept that long so a late
    /// replay still finds the code and revokes what it issued), access-token revocations past
    /// the token's expiry, and records of revoked refresh families once the absolute refresh
    /// lifetime has passed (no token of such a family can still be created and used).
    pub async fn purge_expired(&self) -> Result<(), StoreError> {
        let Services { store, clock, .. } = &self.services;
        let now = clock.now();
        store.delete_expired_login_requests(now).await?;
        store.delete_expired_sent_codes(now).await?;
        store.delete_expired_password_resets(now).await?;
        store.delete_expired_passkey_challenges(now).await?;
        store
            .delete_stale_totp_enrolments(now - tessera_core::totp::ENROLMENT_LIFETIME)
            .await?;
        store.delete_forgotten_login_throttles(now).await?;
        store.delete_expired_codes(now - Duration::days(1)).await?;
        store.delete_expired_sessions(now).await?;
        store.delete_expired_refresh_tokens(now).await?;
        store
            .delete_refresh_family_revocations(now - self.settings.refresh_lifetimes.absolute)
            .await?;
        store.delete_expired_revocations(now).await?;
        Ok(())
    }

    /// Re-reads the key ring from the store and drops keys past their retirement.
    pub async fn refresh_keys(&self) -> Result<(), KeyRingError> {
        let Services {
            store, clock, keys, ..
        } = &self.services;
        let now = clock.now();
        store.delete_expired_signing_keys(now).await?;
        keys.reload(store.as_ref(), now).await
    }
}

/// Token lifetimes from the configuration.
pub fn lifetimes(config: &Config) -> TokenLifetimes {
    TokenLifetimes {
        access_token: Duration::seconds(config.tokens.access_token_lifetime_seconds.into()),
        id_token: Duration::seconds(config.tokens.id_token_lifetime_seconds.into()),
    }
}

/// Refresh-token lifetimes from the configuration.
pub fn refresh_lifetimes(config: &Config) -> RefreshLifetimes {
    RefreshLifetimes {
        idle: Duration::seconds(config.refresh_tokens.idle_lifetime_seconds.into()),
        absolute: Duration::seconds(config.refresh_tokens.absolute_lifetime_seconds.into()),
    }
}

/// Opens the store named by the configuration, creating the data directory for the default
/// SQLite database.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    if config.database_url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    Ok(tessera_store::connect(&config.database_url()).await?)
}

/// The KEK, the key ring, and a signing key per configured algorithm where there is none yet
/// (their kids are returned).
async fn set_up_keys(
    config: &Config,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<(KeyRing, KekOrigin, Vec<String>), StartupError> {
    let (keys, kek_origin) = open_key_ring(config, store, clock).await?;
    let mut algs = vec![config.tokens.access_token_alg, config.tokens.id_token_alg];
    algs.dedup();
    let grace = Duration::seconds(config.keys.retirement_grace_seconds.into());
    let created_kids = keys
        .ensure_signing_keys(store, &algs, &lifetimes(config), grace, clock)
        .await?;
    Ok((keys, kek_origin, created_kids))
}

/// What `tessera init` did.
#[derive(Debug)]
pub struct InitReport {
    /// Where the store is: the SQLite path, or which backend `database_url` names (never the
    /// URL, which may carry a password).
    pub store: String,
    /// Where the KEK came from.
    pub kek_origin: KekOrigin,
    /// Signing keys generated.
    pub created_kids: Vec<String>,
}

/// Creates what the first `tessera serve` would — the store, the key-encryption key and the
/// signing keys — without serving, so that clients and users can be registered first. Running
/// it again changes nothing.
pub async fn init(config: &Config, clock: &dyn Clock) -> Result<InitReport, StartupError> {
    config.validate()?;
    let store = open_store(config).await?;
    let (_, kek_origin, created_kids) = set_up_keys(config, store.as_ref(), clock).await?;
    let location = match &config.database_url {
        None => config.data_dir.join("tessera.db").display().to_string(),
        Some(_) => format!("the {} database of database_url", store.backend_name()),
    };
    Ok(InitReport {
        store: location,
        kek_origin,
        created_kids,
    })
}

/// Opens the store named by the configuration for an operator command: it must exist already
/// (`tessera serve` or `tessera init` creates it). The error says where it looked and how to
/// point at the right store, because the usual cause is running the command from another
/// directory than the server's, with the default relative `data_dir`.
pub async fn open_existing_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    match tessera_store::connect_existing(&config.database_url()).await {
        Ok(store) => Ok(store),
        Err(StoreError::Missing(what)) => {
            let whence = if config.database_url.is_some() {
                "database_url".to_owned()
            } else {
                let dir = &config.data_dir;
                let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                format!("data_dir {} ({})", dir.display(), absolute.display())
            };
            Err(StartupError::NoStore(format!(
                "{what} (looked there because of {whence}). Commands other than `serve` and \
                 `init` never create a store: run this one where the server runs, or point it \
                 at the server's store with --data-dir DIR or --database-url URL (or \
                 TESSERA_DATA_DIR / TESSERA_DATABASE_URL, or the configuration file)"
            )))
        }
        Err(other) => Err(other.into()),
    }
}

/// Obtains the KEK and loads every published signing key.
pub async fn open_key_ring(
    config: &Config,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<(KeyRing, KekOrigin), StartupError> {
    let sealed = store.list_signing_keys().await?.len();
    if config.key_encryption_key.is_none() && config.key_encryption_key_file.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    let (kek, origin) = kek_source::obtain(
        config.key_encryption_key.as_deref(),
        &config.key_encryption_key_file(),
        sealed,
    )?;
    Ok((KeyRing::load(store, kek, clock.now()).await?, origin))
}

/// Start-up settings that are not in the configuration file, for tests and embedders.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// How often the revocation feed polls the store for entries written elsewhere (see
    /// [`watch_store`](crate::workers::feed_watcher::watch_store)); `None` (the default) for
    /// [`POLL_INTERVAL`](crate::workers::feed_watcher::POLL_INTERVAL), or
    /// [`SAFETY_POLL_INTERVAL`](crate::workers::feed_watcher::SAFETY_POLL_INTERVAL) with a store that
    /// reports changes.
    pub feed_poll_interval: Option<StdDuration>,
    /// A store already open, used instead of opening the configured database (tests keep a
    /// [`ProbedStore`](tessera_store::ProbedStore) handle on the same store).
    pub store: Option<Arc<dyn Store>>,
}

/// Builds the application state for a server bound at `bound`.
pub async fn open(
    config: &Config,
    bound: SocketAddr,
    clock: Arc<dyn Clock>,
) -> Result<(AppState, StartupReport), StartupError> {
    open_with(config, bound, clock, OpenOptions::default()).await
}

/// [`open`], with settings the configuration file does not have.
pub async fn open_with(
    config: &Config,
    bound: SocketAddr,
    clock: Arc<dyn Clock>,
    options: OpenOptions,
) -> Result<(AppState, StartupReport), StartupError> {
    config.validate()?;
    let issuer = config.resolve_issuer(bound)?;
    let store = match options.store.clone() {
        Some(store) => store,
        None => open_store(config).await?,
    };
    let (keys, kek_origin, created_kids) =
        set_up_keys(config, store.as_ref(), clock.as_ref()).await?;
    let lifetimes = lifetimes(config);
    let grace = Duration::seconds(config.keys.retirement_grace_seconds.into());
    let mut algs = vec![config.tokens.access_token_alg, config.tokens.id_token_alg];
    algs.dedup();
    let client_count = store.list_clients().await?.len();
    let max_hashes = config
        .passwords
        .max_concurrent_hashes
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let discovery_json = crate::oidc::discovery::document(&issuer, &algs);
    let hasher = PasswordHasher::owasp();
    let dummy_password_hash = hasher.unmatchable_hash();
    let passwords = HashingPool::new(hasher, max_hashes);
    let mut connections = ConnectionLimits {
        header_read_timeout: StdDuration::from_secs(config.http.header_read_timeout_seconds),
        idle_timeout: StdDuration::from_secs(config.http.idle_timeout_seconds),
        max_connections: config.http.max_connections,
        max_header_bytes: config.http.max_header_bytes,
    };
    let mut warnings: Vec<String> = data_dir_warning(&config.data_dir).into_iter().collect();
    warnings.extend(connections.fit_to_open_file_limit());
    let passkeys = crate::authn::passkeys::relying_party(&config.passkeys, &issuer)
        .map_err(|message| StartupError::Config(crate::config::ConfigError::Invalid(message)))?;
    let settings = Settings {
        access_token_audience: config
            .tokens
            .access_token_audience
            .clone()
            .unwrap_or_else(|| issuer.clone()),
        issuer,
        lifetimes,
        access_token_alg: config.tokens.access_token_alg,
        id_token_alg: config.tokens.id_token_alg,
        max_body_bytes: config.http.max_body_bytes,
        request_timeout: StdDuration::from_secs(config.http.request_timeout_seconds),
        connections,
        key_refresh_interval: StdDuration::from_secs(config.keys.refresh_interval_seconds),
        feed_poll_interval: options.feed_poll_interval,
        feed_streams: crate::feed::StreamLimits {
            max_streams_per_client: config.feed.max_streams_per_client,
            max_streams: config.feed.max_streams,
        },
        key_retirement_grace: grace,
        discovery_json,
        refresh_lifetimes: refresh_lifetimes(config),
        resources: config.tokens.resources.clone(),
        refresh_reuse_grace: Duration::seconds(
            config.refresh_tokens.insecure_reuse_grace_seconds.into(),
        ),
        session_lifetime: Duration::seconds(config.sessions.lifetime_seconds.into()),
        login_throttle: config.login_throttle.policy(),
        source_throttle: config.login_throttle.source_policy(),
        client_ip: config.http.client_ip_source().map_err(|message| {
            StartupError::Config(crate::config::ConfigError::Invalid(message))
        })?,
        claims_namespace: config.claims.namespace.clone(),
        mfa: config.mfa.clone(),
        sign_up_enabled: config.signup.enabled,
        passkeys,
    };
    let services = Services {
        store,
        keys: Arc::new(keys),
        clock,
        passwords,
        dummy_password_hash,
        mailer: crate::mailer::Mailer::from_config(&config.email)
            .map_err(|message| {
                StartupError::Config(crate::config::ConfigError::Invalid(format!(
                    "email: {message}"
                )))
            })?
            .map(Arc::new),
        sms: crate::sms::SmsSender::from_config(&config.sms)
            .map_err(|message| StartupError::Config(crate::config::ConfigError::Invalid(message)))?
            .map(Arc::new),
    };
    let state = AppState(Arc::new(Inner {
        settings,
        services,
        signals: Signals::new(),
    }));
    // The feed's one reader broadcasts what is made from now on; streams read older entries
    // from the store themselves. Known before any request is served, so that no entry made
    // meanwhile falls between the two.
    let newest = crate::feed::hub::newest_cursor(&state).await?;
    state.signals.feed.start_at(newest);
    state.signals.announce_cursor(newest);
    Ok((
        state,
        StartupReport {
            kek_origin,
            created_kids,
            client_count,
            warnings,
        },
    ))
}

/// A warning if the data directory (the SQLite files, the KEK) lets anyone but its owner in:
/// Tessera creates its files there owner-only, but files copied in, or made by an older
/// version, keep their own modes.
pub fn data_dir_warning(dir: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "the data directory {} has mode {mode:04o}: other users can reach what is in it; \
                 run `chmod 700 {}`",
                dir.display(),
                dir.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Creates `dir` (and parents) if missing; a new data directory is private to its owner.
fn create_private_dir(dir: &std::path::Path) -> Result<(), StartupError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StartupError::DataDir {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_data_directory_others_can_enter_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let set = |mode| {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap()
        };
        set(0o755);
        let warning = data_dir_warning(dir.path()).expect("0755 is reported");
        assert!(
            warning.contains("0755") && warning.contains("chmod 700"),
            "{warning}"
        );
        set(0o750);
        assert!(data_dir_warning(dir.path()).is_some());
        set(0o700);
        assert_eq!(data_dir_warning(dir.path()), None);
    }
}
