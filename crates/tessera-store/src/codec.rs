//! Backend-independent encodings of domain values as stored: timestamps as whole unix seconds,
//! lists as JSON arrays of strings. Every backend stores them the same way, so these helpers are
//! shared; each backend's own `convert` module adds what depends on its database.

use crate::{StoreError, StoreResult};
use sqlx::migrate::MigrateError;
use tessera_core::ScopeSet;
use time::OffsetDateTime;

/// A timestamp as stored: unix seconds (sub-second parts are dropped).
pub(crate) fn to_secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// A stored timestamp back as a UTC `OffsetDateTime`.
pub(crate) fn from_secs(secs: i64, what: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| StoreError::Backend(format!("{what}: timestamp {secs} is out of range")))
}

/// An optional stored timestamp back as an optional `OffsetDateTime`.
pub(crate) fn from_opt_secs(secs: Option<i64>, what: &str) -> StoreResult<Option<OffsetDateTime>> {
    secs.map(|secs| from_secs(secs, what)).transpose()
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

/// A login-throttle count from its stored columns; `what` names the row in errors.
pub(crate) fn throttle_state(
    attempts: i64,
    last_attempt_at: i64,
    locked_until: Option<i64>,
    what: &str,
) -> StoreResult<tessera_core::ThrottleState> {
    Ok(tessera_core::ThrottleState {
        attempts: u32::try_from(attempts).map_err(|_| {
            StoreError::Backend(format!("{what}: attempts {attempts} is out of range"))
        })?,
        last_attempt_at: from_secs(last_attempt_at, what)?,
        locked_until: from_opt_secs(locked_until, what)?,
    })
}

/// The methods a pending sign-in has proven, as a JSON array of `{"method", "at"}` objects.
pub(crate) fn proofs_to_json(proofs: &[tessera_core::sign_in::Proof]) -> StoreResult<String> {
    serde_json::to_string(proofs)
        .map_err(|e| StoreError::Backend(format!("cannot encode proofs as JSON: {e}")))
}

/// Stored proofs back.
pub(crate) fn proofs_from_json(
    text: &str,
    what: &str,
) -> StoreResult<Vec<tessera_core::sign_in::Proof>> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("{what}: not a JSON array of proofs: {e}")))
}

/// Maps a migration failure; `db_err` is the backend's mapping of a failed statement. An
/// applied migration this binary does not know means a newer Tessera has migrated the
/// database, and running on would risk corrupting it.
pub(crate) fn migrate_err(e: MigrateError, db_err: fn(sqlx::Error) -> StoreError) -> StoreError {
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

/// Defines `get(row, col)`, which reads column `col` of the backend's row type `$row`, mapping
/// decode failures to [`StoreError::Backend`]. A macro rather than one generic function because
/// callers name the decoded type (`get::<Option<String>>(row, "sid")`), and a generic row type
/// would have to be named too.
macro_rules! impl_get {
    ($row:ty, $db:ty) => {
        /// Reads column `col`, mapping decode failures to [`StoreError::Backend`].
        pub(crate) fn get<'r, T>(row: &'r $row, col: &str) -> $crate::StoreResult<T>
        where
            T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            sqlx::Row::try_get(row, col).map_err(|e| {
                $crate::StoreError::Backend(format!("cannot decode column {col}: {e}"))
            })
        }
    };
}

pub(crate) use impl_get;

/// The error a unique or foreign-key violation maps to on every backend: a conflict, or
/// [`StoreError::NotFound`] (every foreign key in the schema names a row the caller said
/// exists). `None` for other database errors, which each backend maps by its own codes.
pub(crate) fn constraint_error(db: &dyn sqlx::error::DatabaseError) -> Option<StoreError> {
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => Some(StoreError::Conflict(
            "a record with the same key already exists".into(),
        )),
        sqlx::error::ErrorKind::ForeignKeyViolation => Some(StoreError::NotFound),
        _ => None,
    }
}
