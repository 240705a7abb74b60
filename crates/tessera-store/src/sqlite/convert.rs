//! Conversions between SQLite values and domain values, and from sqlx errors to
//! [`StoreError`].

use crate::{StoreError, StoreResult};
use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};
use tessera_core::ScopeSet;
use time::OffsetDateTime;

// Primary SQLite result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_CANTOPEN: i64 = 14;

/// Maps a sqlx error to a [`StoreError`]. Call sites that know what a unique violation means
/// check [`unique_violation`] first and build a better [`StoreError::Conflict`].
///
/// A foreign-key violation becomes [`StoreError::NotFound`]: every foreign key in the schema
/// cascades on delete, so the only way to break one is to insert a row naming a user or client
/// that does not exist, which is exactly "the record the operation needs does not exist".
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store has been closed".into()),
        sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable("a SQLite connection worker crashed".into())
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(format!("I/O error: {e}")),
        sqlx::Error::Database(db) => {
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(
                        "a record with the same key already exists".into(),
                    );
                }
                ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
                _ => {}
            }
            let primary = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::Unavailable(format!(
                    "the database stayed locked longer than {}s: {}",
                    super::BUSY_TIMEOUT.as_secs(),
                    db.message()
                )),
                Some(SQLITE_CANTOPEN) => StoreError::Unavailable(db.message().to_owned()),
                _ => StoreError::Backend(db.to_string()),
            }
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// Whether `e` is a unique or primary-key violation; the message names the column
/// (`UNIQUE constraint failed: users.email`).
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => Some(db.message()),
        _ => None,
    }
}

/// Maps a migration failure. An applied migration this binary does not know means a newer
/// Tessera has migrated the file, and running on would risk corrupting it.
pub(crate) fn migrate_err(e: MigrateError) -> StoreError {
    match e {
        MigrateError::VersionMissing(version) => StoreError::SchemaTooNew(format!(
            "the database was migrated by a newer version of tessera (migration {version}); \
             upgrade tessera"
        )),
        MigrateError::Execute(e) => match db_err(e) {
            StoreError::Backend(msg) => {
                StoreError::Backend(format!("while running migrations: {msg}"))
            }
            other => other,
        },
        other => StoreError::Backend(format!("database migration failed: {other}")),
    }
}

/// Reads column `col`, mapping decode failures to [`StoreError::Backend`].
pub(crate) fn get<'r, T>(row: &'r SqliteRow, col: &str) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(col)
        .map_err(|e| StoreError::Backend(format!("cannot decode column {col}: {e}")))
}

/// A timestamp as stored: unix seconds (sub-second parts are dropped).
pub(crate) fn to_secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// A stored timestamp back as a UTC `OffsetDateTime`.
pub(crate) fn from_secs(secs: i64, what: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| StoreError::Backend(format!("{what}: timestamp {secs} is out of range")))
}

/// A list of strings as a JSON array.
pub(crate) fn to_json<'a>(items: impl IntoIterator<Item = &'a str>) -> StoreResult<String> {
    let items: Vec<&str> = items.into_iter().collect();
    serde_json::to_string(&items)
        .map_err(|e| StoreError::Backend(format!("cannot encode a list as JSON: {e}")))
}

/// A JSON array of strings back as a list.
pub(crate) fn from_json(text: &str, what: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("{what}: not a JSON array of strings: {e}")))
}

/// An optional stored timestamp back as an optional `OffsetDateTime`.
pub(crate) fn from_opt_secs(secs: Option<i64>, what: &str) -> StoreResult<Option<OffsetDateTime>> {
    secs.map(|secs| from_secs(secs, what)).transpose()
}

/// A scope set as a JSON array of its tokens (sorted, as the set keeps them). JSON rather than
/// the space-separated form because `ScopeSet::parse` caps the length of a request's scope
/// string, and a stored set must always read back.
pub(crate) fn scope_to_json(scope: &ScopeSet) -> StoreResult<String> {
    to_json(scope.iter())
}

/// A stored JSON array of scope tokens back as a [`ScopeSet`]; a token the domain would refuse
/// is a [`StoreError::Backend`].
pub(crate) fn scope_from_json(text: &str, what: &str) -> StoreResult<ScopeSet> {
    ScopeSet::from_tokens(from_json(text, what)?)
        .map_err(|e| StoreError::Backend(format!("{what}: {e}")))
}
