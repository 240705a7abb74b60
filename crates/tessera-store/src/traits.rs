//! The store contract: one trait per aggregate, plus [`Store`] which bundles them.
//!
//! Every backend implements these traits and must pass the contract suite in
//! `tests/contract/`. Nothing here assumes a particular database: orderings are stated
//! explicitly (string orderings are byte-wise, as for ASCII identifiers), timestamps are kept at
//! whole-second precision, and failures arrive as [`StoreError`](crate::StoreError).

use crate::StoreResult;
use tessera_core::{Client, ClientId, Email, SigningKeyRecord, User, UserId};
use time::OffsetDateTime;

/// Registered OAuth clients.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client. [`StoreError::Conflict`](crate::StoreError::Conflict) if a client
    /// with the same id exists.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;

    /// The client with `id`, if there is one.
    async fn find_client(&self, id: &ClientId) -> StoreResult<Option<Client>>;

    /// Every client, ordered by id (byte-wise).
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;

    /// Deletes the client with `id`. [`StoreError::NotFound`](crate::StoreError::NotFound) if
    /// there is none.
    async fn delete_client(&self, id: &ClientId) -> StoreResult<()>;
}

/// User accounts.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user. [`StoreError::Conflict`](crate::StoreError::Conflict) if the id or the
    /// email is already taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;

    /// The user with `id`, if there is one.
    async fn find_user(&self, id: &UserId) -> StoreResult<Option<User>>;

    /// The user with exactly this (normalised) email, if there is one.
    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;

    /// Every user, ordered by email (byte-wise).
    async fn list_users(&self) -> StoreResult<Vec<User>>;

    /// Replaces the mutable fields of the user with `user.id`: email, name, roles,
    /// password_hash, is_disabled and updated_at. `created_at` is never changed.
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if there is no such user,
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if the new email belongs to another
    /// user; on any error the stored user is unchanged.
    async fn update_user(&self, user: &User) -> StoreResult<()>;

    /// Deletes the user with `id`. [`StoreError::NotFound`](crate::StoreError::NotFound) if
    /// there is none.
    async fn delete_user(&self, id: &UserId) -> StoreResult<()>;
}

/// Signing keys (sealed private keys plus their life-cycle timestamps).
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key, whatever its state, ordered by `created_at` then `kid`.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;

    /// Stores a new key as given. [`StoreError::Conflict`](crate::StoreError::Conflict) if the
    /// kid exists.
    async fn create_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;

    /// One atomic operation (one transaction): every key with the same `alg` as `new` that is
    /// still active (`rotated_at` is `None`) gets `rotated_at = now` and
    /// `expires_at = expires_at`; then `new` is inserted. Keys of other algorithms and keys
    /// already rotated are untouched. If anything fails (for example a duplicate kid, which is a
    /// [`StoreError::Conflict`](crate::StoreError::Conflict)) nothing changes.
    async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Deletes every key whose `expires_at` is set and `<= now` (a key expiring exactly at
    /// `now` is deleted; keys without `expires_at` never are). Returns how many were deleted.
    async fn delete_expired_signing_keys(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A complete store: every aggregate, plus health information for the server.
#[async_trait::async_trait]
pub trait Store: ClientStore + UserStore + KeyStore + std::fmt::Debug + Send + Sync {
    /// A cheap round trip to the database, for readiness probes.
    async fn ping(&self) -> StoreResult<()>;

    /// The backend's short name, e.g. `"sqlite"`.
    fn backend_name(&self) -> &'static str;
}
