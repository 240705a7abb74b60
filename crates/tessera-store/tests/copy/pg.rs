//! A PostgreSQL schema of its own for each test, as in `tests/postgres.rs` (same server
//! variable, same name prefix, so either file's sweep drops what a crashed run of the other
//! left behind).

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tessera_store::postgres::PostgresStore;

/// The server the tests use unless `TESSERA_TEST_POSTGRES_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Test schemas are named `PREFIX<unix seconds>_<hex>`.
const PREFIX: &str = "tessera_test_";

pub fn server_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

async fn admin() -> PgConnection {
    PgConnection::connect(&server_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable for the tests ({e}); start it with\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point TESSERA_TEST_POSTGRES_URL at another server (default {DEFAULT_URL})"
            )
        })
}

/// A schema of its own for one test, dropped (with whatever the test left in it) when the
/// guard is.
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub async fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let salt = u64::from(now.subsec_nanos())
            ^ (u64::from(std::process::id()) << 32)
            ^ COUNTER
                .fetch_add(1, Ordering::SeqCst)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let name = format!("{PREFIX}{}_{salt:016x}", now.as_secs());
        let mut conn = admin().await;
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self { name }
    }

    /// Connect options with this schema as the search path, and its name as the application
    /// name (so that the guard can end the test's connections before dropping it).
    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&server_url())
            .unwrap()
            .application_name(&self.name)
            .options([("search_path", &self.name)])
    }

    /// The store on this schema, as a node would open it.
    pub async fn open(&self) -> PostgresStore {
        PostgresStore::connect_with(self.options()).await.unwrap()
    }

    /// A raw connection to this schema, for looking at what the store API does not show.
    pub async fn raw(&self) -> PgConnection {
        PgConnection::connect_with(&self.options()).await.unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // The test's runtime cannot be blocked on: a thread with a runtime of its own drops the
        // schema, after ending the test's connections (one may hold locks).
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let Ok(mut conn) = PgConnection::connect(&server_url()).await else {
                        eprintln!("left schema {name} for a later run to drop");
                        return;
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
                    if let Err(e) = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut conn)
                        .await
                    {
                        eprintln!("left schema {name} for a later run to drop: {e}");
                    }
                    let _ = conn.close().await;
                })
        });
        let _ = dropped.join();
    }
}
