//! Conversions between SQLite values and domain values, and from sqlx errors to
//! [`StoreError`]. The backend-independent encodings come from [`crate::codec`].

use crate::StoreError;
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteRow;
use sqlx::Sqlite;

// Primary SQLite result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_CANTOPEN: i64 = 14;

crate::codec::impl_get!(SqliteRow, Sqlite);

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
            if let Some(error) = crate::codec::constraint_error(&*db) {
                return error;
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
