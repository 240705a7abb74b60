//! The one error type every store operation returns, whatever the backend.

/// Why a store operation failed.
///
/// Backends map their own errors onto these variants, so callers never see `sqlx` types or SQL
/// text. The string payloads are meant for logs and operator messages, not for HTTP responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// The operation would break a uniqueness rule; the payload says what conflicted.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached right now (cannot connect, pool timeout, locked for too
    /// long). Retrying later may succeed; the server answers 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database was migrated by a newer version of Tessera than this one.
    #[error("{0}")]
    SchemaTooNew(String),
    /// The database's schema is older than this version of Tessera and the operation will not
    /// migrate it (the copy to PostgreSQL never writes to its source).
    #[error("{0}")]
    SchemaTooOld(String),
    /// Any other backend failure, including rows that cannot be decoded.
    #[error("store backend error: {0}")]
    Backend(String),
    /// There is no store where the URL points (no SQLite file, or a PostgreSQL database without
    /// Tessera's tables), and the caller asked not to create one ([`crate::connect_existing`]).
    #[error("{0}")]
    Missing(String),
    /// The database URL is malformed or names a backend this build does not support.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
