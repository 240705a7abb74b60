//! The SQLite backend: one database file, opened in WAL mode so a server and the CLI can use it
//! at the same time.

pub(crate) mod convert;
mod locks;
mod revocations;

/// The aggregates written once in [`crate::shared`], expanded here for SQLite.
mod plain {
    use super::convert::{db_err, get, unique_violation};
    use super::SqliteStore as DbStore;
    use crate::sqlite as backend;
    use sqlx::sqlite::SqliteRow as Row;
    use sqlx::SqliteConnection as Conn;

    crate::shared::impl_all!();
}

/// Change notifications: SQLite has no other nodes to tell. Every process on the file finds
/// changes by reading (the feed, the key ring's periodic re-read), so queuing is a no-op.
mod notify {
    use crate::{StoreChange, StoreResult};
    use sqlx::SqliteConnection;

    /// Does nothing; the PostgreSQL backend's counterpart queues a `NOTIFY`.
    pub(crate) async fn queue(
        _conn: &mut SqliteConnection,
        _change: StoreChange,
    ) -> StoreResult<()> {
        Ok(())
    }
}

use crate::{Store, StoreError, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a statement waits for another connection (or process) to release a write lock
/// before failing with [`StoreError::Unavailable`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an operation waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pooled connections. SQLite serialises writers anyway; several connections let reads
/// proceed in parallel under WAL.
const MAX_CONNECTIONS: u32 = 8;

/// SQLite's page cache per pooled connection, in KiB (SQLite's default is 2,000). Every
/// connection keeps its own cache and fills it as the database grows, so the default let a
/// server's memory climb by up to 16 MB over its first quarter hour: the ten-minute soak
/// measured RSS flat at 45 MB for five minutes, then rising to 53.7 MB (max/min 1.21), and flat
/// (1.05) with the cache capped at 128 KiB. The cache saves little here: the operating system
/// caches the file too, and under WAL a connection that sees another's commit drops its cached
/// pages, which in Tessera (every sign-in writes) is most of the time. 512 KiB bounds the pool's
/// caches at 4 MB. See BENCHMARKS.md (soak).
const PAGE_CACHE_KIB: u32 = 512;

/// A store backed by one SQLite file. (Its `Debug` shows the pool's state and the path: a
/// SQLite store has no secret to hide, unlike a PostgreSQL URL.)
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    /// Taken by every `BEGIN IMMEDIATE` transaction of this process, so they queue here, in
    /// order, instead of in SQLite's busy handler (see [`SqliteStore::begin_immediate`]).
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// Creates the database file owner-only (0600) if it does not exist, before SQLite would create
/// it with the process's umask (typically 0644, readable by every local user: emails and
/// password hashes). SQLite gives the `-wal` and `-shm` files the database file's mode. An
/// existing file keeps its mode, with a warning if others may read it.
fn create_private_file(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or(0);
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{mode:04o}"),
                        "the SQLite database is readable by other users; run chmod 600 on it \
                         and its -wal and -shm files"
                    );
                }
            }
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot create SQLite database {}: {e}",
                    path.display()
                )))
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing (its parent directory must
    /// exist), and applies pending migrations.
    ///
    /// Fails with [`StoreError::SchemaTooNew`] if a newer Tessera has migrated the file, and
    /// with [`StoreError::Unavailable`] if the file cannot be opened.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(StoreError::Unavailable(format!(
                    "cannot open SQLite database {}: directory {} does not exist",
                    path.display(),
                    parent.display()
                )));
            }
        }
        create_private_file(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{PAGE_CACHE_KIB}"))
            // The shared SQL orders text with `COLLATE "C"` (bytes), PostgreSQL's name for it;
            // SQLite's own byte order is BINARY, so "C" is registered as the same comparison.
            .collation("C", |a: &str, b: &str| a.as_bytes().cmp(b.as_bytes()));
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| match convert::db_err(e) {
                StoreError::Backend(msg) | StoreError::Unavailable(msg) => StoreError::Unavailable(
                    format!("cannot open SQLite database {}: {msg}", path.display()),
                ),
                other => other,
            })?;
        if let Err(e) = crate::migrations::sqlite().await.run(&pool).await {
            pool.close().await;
            return Err(crate::codec::migrate_err(e, convert::db_err));
        }
        tracing::info!(path = %path.display(), "opened SQLite store");
        Ok(Self {
            pool,
            path: path.to_owned(),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Begins a transaction holding SQLite's write lock, after this process's earlier ones.
    ///
    /// Why the in-process queue: a connection that finds the write lock taken gets SQLITE_BUSY,
    /// and SQLite's busy handler retries after sleeping 1, 2, 5, 10, … ms. The lock is held for
    /// a fraction of a millisecond, so waiters mostly sleep past its release while the lock
    /// sits free: under the refresh benchmark this made the 99th percentile several hundred
    /// milliseconds. Queued here, each transaction starts as soon as the previous one ends.
    /// Other processes on the same file (the CLI) still meet the busy handler, as before.
    async fn begin_immediate(
        &self,
    ) -> StoreResult<(
        tokio::sync::OwnedMutexGuard<()>,
        sqlx::Transaction<'static, sqlx::Sqlite>,
    )> {
        let writer = self.writer.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(convert::db_err)?;
        Ok((writer, tx))
    }

    /// Begins a write transaction for the shared code (`crate::shared`): here
    /// [`begin_immediate`](Self::begin_immediate), which holds the database's write lock (and
    /// this process's writer queue) until the guard and transaction are dropped.
    pub(crate) async fn begin_write(
        &self,
    ) -> StoreResult<(
        tokio::sync::OwnedMutexGuard<()>,
        sqlx::Transaction<'static, sqlx::Sqlite>,
    )> {
        self.begin_immediate().await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Begins a read transaction for the shared code: SQLite gives every transaction one
    /// snapshot of the database, so a plain `BEGIN` suffices.
    pub(crate) async fn begin_read(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin().await.map_err(convert::db_err)
    }

    /// Closes every pooled connection, waiting for them to finish. Later operations fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        plain::ping(self).await
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}
