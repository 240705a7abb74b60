//! Conversions between PostgreSQL values and domain values, and from sqlx errors to
//! [`StoreError`]. The backend-independent encodings come from [`crate::codec`].

use crate::StoreError;
use sqlx::error::ErrorKind;
use sqlx::postgres::{PgRow, Postgres};

crate::codec::impl_get!(PgRow, Postgres);

/// Maps a sqlx error to a [`StoreError`]. Call sites that know what a unique violation means
/// check [`unique_violation`] first and build a better [`StoreError::Conflict`].
///
/// A foreign-key violation becomes [`StoreError::NotFound`], as in the SQLite backend: every
/// foreign key cascades on delete, so the only way to break one is to insert a row naming a
/// user or client that does not exist. Anything that says the server cannot be reached or
/// cannot serve right now is [`StoreError::Unavailable`] (the server answers 503).
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut => StoreError::Unavailable(
            "timed out waiting for a PostgreSQL connection (is the server up?)".into(),
        ),
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store has been closed".into()),
        sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable("a PostgreSQL connection worker crashed".into())
        }
        sqlx::Error::Io(e) => {
            StoreError::Unavailable(format!("lost the connection to PostgreSQL: {e}"))
        }
        sqlx::Error::Tls(e) => StoreError::Unavailable(format!("PostgreSQL TLS error: {e}")),
        // A connection that breaks mid-message shows up as a protocol error.
        sqlx::Error::Protocol(msg) => {
            StoreError::Unavailable(format!("PostgreSQL protocol error: {msg}"))
        }
        sqlx::Error::Database(db) => {
            if let Some(error) = crate::codec::constraint_error(&*db) {
                return error;
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if is_transient(&code) {
                StoreError::Unavailable(format!("{} (SQLSTATE {code})", db.message()))
            } else {
                StoreError::Backend(db.to_string())
            }
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// Whether a SQLSTATE means "the database cannot serve this right now; retrying later may
/// succeed", as opposed to a bug or bad data.
pub(crate) fn is_transient(sqlstate: &str) -> bool {
    // 08: connection exceptions. 53: insufficient resources (too many connections, out of
    // memory, disk full). 57P: the server is shutting down, restarting or not yet accepting
    // connections.
    ["08", "53", "57P"]
        .iter()
        .any(|class| sqlstate.starts_with(class))
        || matches!(
            sqlstate,
            // statement_timeout (or a cancel) fired: the database is overloaded or locked.
            "57014"
            // lock_not_available (lock_timeout).
            | "55P03"
            // serialization_failure, deadlock_detected: the transaction lost a race.
            | "40001" | "40P01"
            // read_only_sql_transaction: a standby after a failover, before promotion.
            | "25006"
        )
}

/// The name of the violated constraint if `e` is a unique or primary-key violation (for example
/// `users_email_key`); an empty name if the server did not say.
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            Some(db.constraint().unwrap_or(""))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_level_failures_are_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Io(refused),
            sqlx::Error::Protocol("unexpected end of stream".into()),
        ] {
            let mapped = db_err(err);
            assert!(matches!(mapped, StoreError::Unavailable(_)), "{mapped:?}");
        }
        assert!(matches!(
            db_err(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        assert!(matches!(
            db_err(sqlx::Error::ColumnNotFound("x".into())),
            StoreError::Backend(_)
        ));
    }

    #[test]
    fn transient_sqlstates() {
        for code in [
            "08006", "08001", "53300", "53100", "57P01", "57P03", "57014", "55P03", "40001",
            "40P01", "25006",
        ] {
            assert!(is_transient(code), "{code}");
        }
        // Bugs and bad data are not worth a retry: syntax error, undefined table, check
        // violation, not-null violation, invalid text representation.
        for code in ["42601", "42P01", "23514", "23502", "22P02", ""] {
            assert!(!is_transient(code), "{code}");
        }
    }
}
