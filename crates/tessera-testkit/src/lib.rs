//! Dev-only helpers for flow tests: [`spawn_app`] starts a real Tessera server on
//! `127.0.0.1:0` with a fresh store and a [`ManualClock`], so tests talk real HTTP, share no
//! state and never sleep to cross a lifetime.
//!
//! The store is a fresh SQLite file in a temporary directory, or, when the environment says
//! `TESSERA_TEST_STORE=postgres`, a fresh schema of its own on the machine's PostgreSQL
//! (`TESSERA_TEST_POSTGRES_URL`, see `tessera-pgtest`): the same flow tests run on both
//! backends (`scripts/test.sh` runs them twice).
//!
//! [`spawn_cluster`] starts several servers (nodes) on one fresh PostgreSQL schema, whatever
//! `TESSERA_TEST_STORE` says, as a load-balanced deployment runs them.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::{ManualClock, NewClient};
use tessera_server::{AppState, Config, OpenOptions};
use tessera_store::ProbedStore;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use tessera_server;

/// A running server and the handles a test needs.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`. Also the issuer, except on the nodes of a cluster after the
    /// first, which share the first node's issuer (see [`spawn_cluster`]).
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The application state (store, key ring…), for setting things up directly.
    pub state: AppState,
    /// The same store as `state`'s, with the reads only tests need
    /// ([`StoreProbe`](tessera_store::StoreProbe)).
    pub probe: Arc<dyn ProbedStore>,
    /// The clock the server reads; move it to cross lifetimes.
    pub clock: ManualClock,
    /// An HTTP client without cookies or redirects.
    pub http: reqwest::Client,
    config: Config,
    options: OpenOptions,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    // Dropped last: the data directory and the PostgreSQL schema live as long as the app.
    dir: Arc<tempfile::TempDir>,
    schema: Option<Arc<tessera_pgtest::Schema>>,
}

/// Which backend test servers use: PostgreSQL when `TESSERA_TEST_STORE=postgres`, else SQLite.
/// Any other value is refused, so a typo cannot silently test SQLite twice.
pub fn test_store_is_postgres() -> bool {
    match std::env::var("TESSERA_TEST_STORE").as_deref() {
        Err(_) | Ok("" | "sqlite") => false,
        Ok("postgres") => true,
        Ok(other) => panic!("TESSERA_TEST_STORE={other:?}: expected sqlite or postgres"),
    }
}

/// The starting instant of every test clock: fixed, so tests are reproducible.
pub fn test_epoch() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid instant")
}

/// A configuration for tests: data in `dir`, listening on an ephemeral loopback port.
pub fn test_config(dir: &Path) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// Starts a server with a fresh store and the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after letting `customise` adjust the configuration.
pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
    let mut config = test_config(dir.path());
    let schema = if test_store_is_postgres() {
        let schema = tessera_pgtest::Schema::create().await;
        config.database_url = Some(schema.url());
        Some(Arc::new(schema))
    } else {
        None
    };
    customise(&mut config);
    start(
        config,
        OpenOptions::default(),
        dir,
        schema,
        ManualClock::new(test_epoch()),
    )
    .await
    .expect("the test server starts")
}

/// Stands for "`http://localhost:` and the port the server gets" in a test configuration's
/// `issuer` ([`spawn_app_on_localhost`]).
const LOCALHOST_ISSUER: &str = "http://localhost:{port}";

/// [`spawn_app_with`], with the issuer `http://localhost:PORT` instead of `127.0.0.1`: passkeys
/// need a domain name (browsers refuse WebAuthn for an IP address), and `localhost` is one that
/// browsers treat as a secure context without TLS.
pub async fn spawn_app_on_localhost(customise: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|config| {
        config.issuer = Some(LOCALHOST_ISSUER.into());
        customise(config);
    })
    .await
}

/// Starts `n` servers (nodes) on one fresh PostgreSQL schema, as a deployment behind a load
/// balancer runs them; see [`spawn_cluster_with`].
pub async fn spawn_cluster(n: usize) -> Vec<TestApp> {
    spawn_cluster_with(n, |_| {}).await
}

/// Starts `n` nodes on one fresh PostgreSQL schema (always PostgreSQL, whatever
/// `TESSERA_TEST_STORE` says), after letting `customise` adjust each node's configuration.
///
/// The nodes share what a real deployment shares: the database, the key-encryption key (one
/// data directory; the first node creates the KEK file and the signing keys, the others load
/// them), the issuer (the first node's URL, standing for the load balancer's) and one
/// [`ManualClock`]. Each listens on its own port: its `base_url` is where to send requests.
///
/// The periodic safety nets that would also carry changes between nodes (the key refresh and
/// the revocation feed's poll) run only hourly, so that what reaches another node within a
/// test has come by the store's change notifications. `customise` may set them back.
pub async fn spawn_cluster_with(n: usize, customise: impl Fn(&mut Config)) -> Vec<TestApp> {
    assert!(n > 0, "a cluster has at least one node");
    let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
    let schema = Arc::new(tessera_pgtest::Schema::create().await);
    let clock = ManualClock::new(test_epoch());
    let options = OpenOptions {
        feed_poll_interval: Some(Duration::from_secs(3600)),
        ..OpenOptions::default()
    };
    let mut nodes: Vec<TestApp> = Vec::with_capacity(n);
    for _ in 0..n {
        let mut config = test_config(dir.path());
        config.database_url = Some(schema.url());
        config.keys.refresh_interval_seconds = 3600;
        if let Some(first) = nodes.first() {
            config.issuer = Some(first.state.settings.issuer.clone());
        }
        customise(&mut config);
        let node = start(
            config,
            options.clone(),
            dir.clone(),
            Some(schema.clone()),
            clock.clone(),
        )
        .await
        .expect("the cluster node starts");
        nodes.push(node);
    }
    nodes
}

async fn start(
    config: Config,
    options: OpenOptions,
    dir: Arc<tempfile::TempDir>,
    schema: Option<Arc<tessera_pgtest::Schema>>,
    clock: ManualClock,
) -> anyhow::Result<TestApp> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let mut opened_config = config.clone();
    if opened_config.issuer.as_deref() == Some(LOCALHOST_ISSUER) {
        opened_config.issuer = Some(format!("http://localhost:{}", addr.port()));
    }
    // Opened here, and handed to the server, so the test can probe the very store it uses. A
    // restart opens it anew, as a restarted server would.
    let probe = tessera_store::connect_probed(&config.database_url())
        .await
        .context("opening the store")?;
    let opened = OpenOptions {
        store: Some(probe.clone()),
        ..options.clone()
    };
    let (state, _report) =
        tessera_server::app::open_with(&opened_config, addr, Arc::new(clock.clone()), opened)
            .await
            .context("opening the app")?;
    // Where this node answers; the issuer unless the configuration names another (a cluster's).
    let base_url = if config.issuer.as_deref() == Some(LOCALHOST_ISSUER) {
        state.settings.issuer.clone()
    } else if config.issuer.is_some() {
        format!("http://{addr}")
    } else {
        state.settings.issuer.clone()
    };
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(tessera_server::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Ok(TestApp {
        base_url,
        addr,
        state,
        probe,
        clock,
        http: tessera_server::http_client::https_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        config,
        options,
        shutdown: Some(tx),
        server: Some(server),
        dir,
        schema,
    })
}

impl TestApp {
    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown_inner().await;
    }

    async fn shutdown_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }

    /// Stops the server and starts a new one on the same data directory and clock, as a restart
    /// would (on a new port). (A cluster's first node gets a new issuer with its new port; the
    /// other nodes keep the old one.)
    pub async fn restart(mut self) -> TestApp {
        self.shutdown_inner().await;
        let config = self.config.clone();
        let options = self.options.clone();
        let dir = self.dir.clone();
        let schema = self.schema.clone();
        let clock = self.clock.clone();
        // Close the old store's pool before reopening the file.
        drop(self);
        start(config, options, dir, schema, clock)
            .await
            .expect("the restarted server starts")
    }

    /// GETs `path` and parses the JSON body (panics on a transport error or a non-JSON body).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Registers a confidential `client_credentials` client with `scopes`; returns its secret.
    pub async fn add_service_client(&self, id: &str, scopes: &[&str]) -> String {
        self.add_confidential_client(id, scopes, false).await
    }

    /// Registers a resource server (`client add --resource-server`): a confidential client that
    /// may read the revocation feed and introspect any token. Returns its secret.
    pub async fn add_resource_server(&self, id: &str, scopes: &[&str]) -> String {
        self.add_confidential_client(id, scopes, true).await
    }

    async fn add_confidential_client(
        &self,
        id: &str,
        scopes: &[&str],
        is_resource_server: bool,
    ) -> String {
        let new = NewClient {
            id: id.to_owned(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            is_resource_server,
            ..NewClient::default()
        };
        let (_, secret) = self
            .state
            .operator(tessera_core::Actor::cli("test").unwrap())
            .add_client(new)
            .await
            .expect("client registered");
        secret
            .expect("confidential clients have a secret")
            .expose()
            .to_owned()
    }

    /// Requests a `client_credentials` token with HTTP Basic; returns the raw response.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .form(&form)
            .send()
            .await
            .expect("token request sent")
    }

    /// Runs the key refresh a running server does periodically (after a rotation).
    pub async fn refresh_keys(&self) {
        self.state.refresh_keys().await.expect("keys refreshed");
    }
}

pub mod browser;
pub mod grants;
pub mod independent;
pub mod passkeys;
pub mod smtp;
pub mod verify;

#[cfg(test)]
mod tests {
    use super::*;

    /// The switch the README's test command relies on to run the flow tests on both backends.
    #[tokio::test]
    async fn the_environment_picks_the_backend() {
        let app = spawn_app().await;
        let expected = if test_store_is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        assert_eq!(app.state.services.store.backend_name(), expected);
        app.stop().await;
    }
}
