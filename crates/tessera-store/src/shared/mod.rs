//! The store code that is the same on every backend, written once.
//!
//! Both schemas store the same values the same way (unix seconds as BIGINT, lists as JSON
//! text, BOOLEAN, BYTEA/BLOB), and sqlx's SQLite driver accepts PostgreSQL's `$N` binds, so
//! most statements have one SQL text. Each file here defines a macro that expands, inside a
//! backend's `plain` module (`sqlite/mod.rs`, `postgres/mod.rs`), to one aggregate's code for
//! that backend. The backend dirs keep only what truly differs: locking and the atomic
//! operations built on it, change notifications, connection set-up and migrations.
//!
//! Why macros rather than functions generic over `sqlx::Database`: sqlx states every bind and
//! every decoded column as a separate higher-ranked bound (`for<'q> T: Encode<'q, DB>`,
//! `for<'r> T: Decode<'r, DB>`, the executor bound on `&mut DB::Connection`, …), and Rust does
//! not imply such bounds from a trait, so every generic function would repeat a dozen of them.
//! Expanded per backend, the code is monomorphic: exactly what a generic function would
//! compile to, with no `sqlx::Any`-style conversion layer and no extra round trip.
//!
//! Names inside the expansions resolve where they are expanded; each backend's `plain` module
//! provides them:
//!
//! - `DbStore`: the backend's store type (its `pool` field is reachable there);
//! - `Row`, `Conn`: the backend's row and connection types;
//! - `db_err`, `get`, `unique_violation`: the backend's error mapping and column reader
//!   (`convert.rs`); `unique_violation` yields text naming the violated column or constraint,
//!   which is all the shared code inspects;
//! - `backend`: the backend module itself, for the few hooks an aggregate calls into
//!   (its atomic operations and change notifications).
//!
//! Text ordering: PostgreSQL orders text by the database's collation unless told otherwise,
//! SQLite by bytes. Every `ORDER BY` on text says `COLLATE "C"` (bytes), and the SQLite
//! backend registers a collation of that name that compares bytes, so both order alike.

mod audit;
mod backchannel;
mod clients;
mod codes;
mod consents;
mod keys;
mod login_requests;
mod login_throttles;
mod outbox;
mod passkeys;
mod password_resets;
mod probe;
mod recovery_codes;
mod refresh_tokens;
mod revocations;
mod sent_codes;
mod sessions;
mod totp_factors;
mod users;

pub(crate) use audit::impl_audit;
pub(crate) use backchannel::impl_backchannel;
pub(crate) use clients::impl_clients;
pub(crate) use codes::impl_codes;
pub(crate) use consents::impl_consents;
pub(crate) use keys::impl_keys;
pub(crate) use login_requests::impl_login_requests;
pub(crate) use login_throttles::impl_login_throttles;
pub(crate) use outbox::impl_outbox;
pub(crate) use passkeys::impl_passkeys;
pub(crate) use password_resets::impl_password_resets;
pub(crate) use probe::impl_probe;
pub(crate) use recovery_codes::impl_recovery_codes;
pub(crate) use refresh_tokens::impl_refresh_tokens;
pub(crate) use revocations::impl_revocations;
pub(crate) use sent_codes::impl_sent_codes;
pub(crate) use sessions::impl_sessions;
pub(crate) use totp_factors::impl_totp_factors;
pub(crate) use users::impl_users;

/// Expands every aggregate above: what a backend's `plain` module invokes, so the list of what
/// is shared is kept in one place.
macro_rules! impl_all {
    () => {
        $crate::shared::impl_audit!();
        $crate::shared::impl_backchannel!();
        $crate::shared::impl_clients!();
        $crate::shared::impl_codes!();
        $crate::shared::impl_consents!();
        $crate::shared::impl_sent_codes!();
        $crate::shared::impl_keys!();
        $crate::shared::impl_login_requests!();
        $crate::shared::impl_login_throttles!();
        $crate::shared::impl_outbox!();
        $crate::shared::impl_passkeys!();
        $crate::shared::impl_password_resets!();
        $crate::shared::impl_probe!();
        $crate::shared::impl_recovery_codes!();
        $crate::shared::impl_refresh_tokens!();
        $crate::shared::impl_revocations!();
        $crate::shared::impl_sessions!();
        $crate::shared::impl_totp_factors!();
        $crate::shared::impl_users!();

        /// [`Store::ping`](crate::Store::ping): a round trip on a pooled connection.
        pub(crate) async fn ping(store: &DbStore) -> $crate::StoreResult<()> {
            let mut conn = store.pool.acquire().await.map_err(db_err)?;
            sqlx::Connection::ping(&mut *conn).await.map_err(db_err)
        }
    };
}

pub(crate) use impl_all;
