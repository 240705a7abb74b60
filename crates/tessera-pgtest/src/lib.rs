//! Dev-only: a PostgreSQL schema of its own for each test, on the machine's server, so tests
//! that use PostgreSQL run in parallel without sharing state.
//!
//! The server comes from `TESSERA_TEST_POSTGRES_URL` (default [`DEFAULT_URL`]); that role must be
//! able to create schemas. A [`Schema`] is dropped with its guard; schemas a crashed run left
//! behind are dropped by a later run once they are an hour old. An unreachable server panics
//! with instructions to start it: tests that need PostgreSQL fail, they never skip.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The server the tests use unless `TESSERA_TEST_POSTGRES_URL` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Test schemas are named `PREFIX<unix seconds>_<hex>`.
pub const PREFIX: &str = "tessera_test_";

/// Schemas left behind this long ago by a run that crashed are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3600);

pub fn server_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A connection for creating and dropping schemas; panics, saying how to start the server, if
/// there is none.
pub async fn admin() -> PgConnection {
    let url = server_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "PostgreSQL is not reachable for the tests at {} ({e}).\n\
             Start the local server with:\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point TESSERA_TEST_POSTGRES_URL at another server (default {DEFAULT_URL}).",
            where_(&url)
        ),
    }
}

/// Host, port and database of a server URL, without its password.
fn where_(url: &str) -> String {
    match PgConnectOptions::from_str(url) {
        Ok(o) => format!(
            "{}:{}/{}",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or("")
        ),
        Err(_) => "TESSERA_TEST_POSTGRES_URL (malformed)".into(),
    }
}

/// A schema of its own for one test, dropped when the guard is.
#[derive(Debug)]
pub struct Schema {
    name: String,
}

impl Schema {
    /// Creates a new, empty schema (and, once per process, drops stale ones).
    pub async fn create() -> Self {
        static SWEPT: AtomicBool = AtomicBool::new(false);
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut conn = admin().await;
        if !SWEPT.swap(true, Ordering::SeqCst) {
            drop_stale_schemas(&mut conn).await;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let salt = u64::from(now.subsec_nanos())
            ^ (u64::from(std::process::id()) << 32)
            ^ COUNTER
                .fetch_add(1, Ordering::SeqCst)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let name = format!("{PREFIX}{}_{salt:016x}", now.as_secs());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self { name }
    }

    /// Connect options for the test server with this schema as the search path, and its name
    /// as the application name (so that the guard can find the test's connections).
    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&server_url())
            .unwrap()
            .application_name(&self.name)
            .options([("search_path", &self.name)])
    }

    /// A URL for the test server with this schema as the search path and its name as the
    /// application name (as [`options`](Self::options)).
    pub fn url(&self) -> String {
        let base = server_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}options=-c%20search_path%3D{name}&application_name={name}",
            name = self.name
        )
    }

    /// A plain connection to this schema, for looking at what a store API does not show.
    ///
    /// # Panics
    ///
    /// If the server cannot be reached.
    pub async fn raw(&self) -> PgConnection {
        PgConnection::connect_with(&self.options())
            .await
            .expect("a connection to the test schema")
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a
        // runtime of its own does the work. Failing here only leaves the schema for the next
        // run's sweep.
        //
        // The test's connections are ended first. One may still be inside a transaction: sqlx
        // rolls back a dropped transaction when the connection goes back to its pool, in a task
        // of the test's runtime, which is blocked right here; its locks would hold up the drop.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let mut conn = match PgConnection::connect(&server_url()).await {
                        Ok(conn) => conn,
                        Err(e) => {
                            eprintln!("left schema {name} for a later run to drop: {e}");
                            return;
                        }
                    };
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1",
                    )
                    .bind(&name)
                    .execute(&mut conn)
                    .await;
                    let _ = sqlx::query("SET lock_timeout = '10s'")
                        .execute(&mut conn)
                        .await;
                    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut conn)
                        .await;
                    if let Err(e) = dropped {
                        eprintln!("left schema {name} for a later run to drop: {e}");
                    }
                    let _ = conn.close().await;
                })
        });
        let _ = dropped.join();
    }
}

/// Drops test schemas older than [`STALE_AFTER`] (their name says when they were made).
async fn drop_stale_schemas(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for name in names {
        let made = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<u64>().ok());
        if made.is_some_and(|made| made + STALE_AFTER.as_secs() < now) {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}
