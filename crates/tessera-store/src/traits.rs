//! The store contract: one trait per aggregate, plus [`Store`] which bundles them.
//!
//! Every backend implements these traits and must pass the contract suite in
//! `tests/contract/`. Nothing here assumes a particular database: orderings are stated
//! explicitly (string orderings are byte-wise, as for ASCII identifiers), timestamps are kept at
//! whole-second precision, and failures arrive as [`StoreError`](crate::StoreError).

use crate::StoreResult;
use tessera_core::client::SecretHash;
use tessera_core::{
    AuthorizationCode, BrowserSession, Client, ClientId, CodeRedemption, Consent, Email,
    LoginRequest, RefreshRotation, RefreshToken, SessionId, SigningKeyRecord, StoredRefreshToken,
    User, UserId,
};
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

/// Browser sessions (a user signed in on one device), found by their public sid or by the hash
/// of their cookie secret.
///
/// Sessions belong to a user: deleting the user deletes them.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session. [`StoreError::Conflict`](crate::StoreError::Conflict) if the sid
    /// or the secret hash is already in use; [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// if the user does not exist.
    async fn create_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// The session with `sid`, if there is one, live or not (the caller judges expiry).
    async fn find_session(&self, sid: &SessionId) -> StoreResult<Option<BrowserSession>>;

    /// The session whose cookie secret hashes to `secret_hash`, if there is one, live or not.
    async fn find_session_by_secret(
        &self,
        secret_hash: &SecretHash,
    ) -> StoreResult<Option<BrowserSession>>;

    /// Re-authentication in the same browser: one atomic update replacing the secret hash,
    /// `auth_time` and `amr` of session `sid`; the sid, user, `created_at` and `expires_at` stay.
    /// The old secret no longer finds the session.
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if there is no such session,
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if another session has the new
    /// secret hash; on any error the session is unchanged.
    async fn reauthenticate_session(
        &self,
        sid: &SessionId,
        new_secret_hash: &SecretHash,
        auth_time: OffsetDateTime,
        amr: &[String],
    ) -> StoreResult<()>;

    /// Deletes the session with `sid`. [`StoreError::NotFound`](crate::StoreError::NotFound) if
    /// there is none. Codes and refresh tokens carrying the sid are not touched.
    async fn delete_session(&self, sid: &SessionId) -> StoreResult<()>;

    /// Deletes every session with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Authorization codes, stored by the hash of the code, each redeemable once.
///
/// A code belongs to a user and a client: deleting either deletes it.
#[async_trait::async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new, unredeemed code. [`StoreError::Conflict`](crate::StoreError::Conflict) if
    /// the hash exists; [`StoreError::NotFound`](crate::StoreError::NotFound) if the user or
    /// the client does not exist.
    async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()>;

    /// One atomic operation: if the code exists and was never redeemed, it is marked redeemed at
    /// `now` and the answer is [`CodeRedemption::First`]; if it was redeemed before, the answer
    /// is [`CodeRedemption::Replayed`] (it stays redeemed); otherwise
    /// [`CodeRedemption::Unknown`]. Expiry is not judged here: the caller compares
    /// `expires_at`. Of any number of concurrent calls for one code, exactly one gets `First`.
    async fn redeem_code(
        &self,
        code_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> StoreResult<CodeRedemption>;

    /// Deletes every code with `expires_at <= before`, redeemed or not; returns how many were
    /// deleted.
    async fn delete_expired_codes(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// Refresh tokens, stored by hash, grouped in families, rotated on every use with reuse
/// detection.
///
/// A token belongs to a user and a client: deleting either deletes it. A revoked family is
/// remembered (see [`revoke_refresh_family`](Self::revoke_refresh_family)), so a token of it
/// stored afterwards is born revoked: whichever of "revoke the family" and "store its first
/// token" comes second, the family ends revoked.
#[async_trait::async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token, not rotated. One atomic operation (one transaction): if its family
    /// has been revoked (and the record of that not yet deleted by
    /// [`delete_refresh_family_revocations`](Self::delete_refresh_family_revocations)), the
    /// token is stored already revoked, with the family's `revoked_at`, and the answer is
    /// `false`; otherwise it is stored current and the answer is `true`. A caller must hand out
    /// a token only on `true`.
    ///
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if the hash exists;
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if the user or the client does not
    /// exist. On error nothing is stored.
    async fn create_refresh_token(&self, token: &RefreshToken) -> StoreResult<bool>;

    /// The token with `token_hash` and its rotation and revocation state, if there is one.
    async fn find_refresh_token(
        &self,
        token_hash: &SecretHash,
    ) -> StoreResult<Option<StoredRefreshToken>>;

    /// One atomic operation (one transaction) deciding what presenting a token means:
    ///
    /// - unknown, or expired at `now` (`min(idle, absolute) <= now`, as
    ///   [`delete_expired_refresh_tokens`](Self::delete_expired_refresh_tokens) counts it):
    ///   [`RefreshRotation::Invalid`], nothing changes;
    /// - already rotated (whether or not its family is revoked yet): reuse. The family is
    ///   revoked as by [`revoke_refresh_family`](Self::revoke_refresh_family) (every token not
    ///   yet revoked gets `revoked_at = now`, including any successor someone else obtained, and
    ///   the family is recorded), and the answer is [`RefreshRotation::Reused`] with the
    ///   presented token;
    /// - revoked without having been rotated: [`RefreshRotation::Invalid`], nothing changes;
    /// - current: it gets `rotated_at = now`, `successor` is inserted, and the answer is
    ///   [`RefreshRotation::Rotated`] with the presented token.
    ///
    /// Of any number of concurrent rotations of one token exactly one gets `Rotated`; the others
    /// get `Reused`, and the family ends revoked. If inserting `successor` fails (a duplicate
    /// hash is a [`StoreError::Conflict`](crate::StoreError::Conflict)) nothing changes.
    async fn rotate_refresh_token(
        &self,
        presented: &SecretHash,
        successor: &RefreshToken,
        now: OffsetDateTime,
    ) -> StoreResult<RefreshRotation>;

    /// One atomic operation (one transaction): revokes every token of the family that is not
    /// revoked yet (`revoked_at = now`) and records the family as revoked at `now`, so that a
    /// token of it created later is stored revoked (see
    /// [`create_refresh_token`](Self::create_refresh_token)). Returns how many tokens changed.
    /// A family with no tokens (yet) is not an error: it is recorded all the same. Revoking a
    /// family again keeps the first revocation time, for its tokens and for the record.
    async fn revoke_refresh_family(&self, family_id: &str, now: OffsetDateTime)
        -> StoreResult<u64>;

    /// Deletes every token whose earlier limit has passed (`min(idle_expires_at,
    /// absolute_expires_at) <= now`), whatever its state; returns how many were deleted.
    async fn delete_expired_refresh_tokens(&self, now: OffsetDateTime) -> StoreResult<u64>;

    /// Forgets every family revocation recorded at or before `revoked_before` (`revoked_at <=
    /// revoked_before`); returns how many records were deleted. Tokens are not touched: those
    /// already stored stay revoked. The caller passes `now` minus the longest a token of a
    /// family can live (the absolute refresh lifetime), after which no token of a family revoked
    /// then can still be created and used.
    async fn delete_refresh_family_revocations(
        &self,
        revoked_before: OffsetDateTime,
    ) -> StoreResult<u64>;
}

/// Revoked access tokens, by `jti`: the "token" entries of the revocation model
/// (`tessera_core::revocation`). An entry is kept until the token's own `exp`, after which the
/// token is refused for being expired anyway.
#[async_trait::async_trait]
pub trait RevocationStore: Send + Sync {
    /// Records the access token `jti` as revoked until `expires_at`. Idempotent: revoking a
    /// revoked token again keeps the later of the two `expires_at`.
    async fn revoke_access_token(&self, jti: &str, expires_at: OffsetDateTime) -> StoreResult<()>;

    /// Whether the access token `jti` is revoked at `now`: `false` for an unknown `jti` and once
    /// the entry's `expires_at <= now`.
    async fn is_access_token_revoked(&self, jti: &str, now: OffsetDateTime) -> StoreResult<bool>;

    /// Deletes every entry with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_revocations(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Remembered consents, one per user and client.
///
/// Deleting the user or the client deletes the consent.
#[async_trait::async_trait]
pub trait ConsentStore: Send + Sync {
    /// The consent `user` gave `client`, if any.
    async fn find_consent(&self, user: &UserId, client: &ClientId) -> StoreResult<Option<Consent>>;

    /// Stores `consent`, replacing the scope and `granted_at` of an existing consent of the same
    /// user and client. [`StoreError::NotFound`](crate::StoreError::NotFound) if the user or the
    /// client does not exist.
    async fn save_consent(&self, consent: &Consent) -> StoreResult<()>;
}

/// Pending sign-ins, kept server-side under a random id until the login form is posted.
///
/// Deleting the client deletes its pending requests.
#[async_trait::async_trait]
pub trait LoginRequestStore: Send + Sync {
    /// Stores a new pending request. [`StoreError::Conflict`](crate::StoreError::Conflict) if
    /// the id exists; [`StoreError::NotFound`](crate::StoreError::NotFound) if the client does
    /// not exist.
    async fn create_login_request(&self, request: &LoginRequest) -> StoreResult<()>;

    /// The pending request with `id`, if there is one, lapsed or not (the caller judges expiry).
    async fn find_login_request(&self, id: &str) -> StoreResult<Option<LoginRequest>>;

    /// Deletes the request with `id` and returns it, in one atomic step: of any number of
    /// concurrent takers exactly one gets it, and a later call gets `None`.
    async fn take_login_request(&self, id: &str) -> StoreResult<Option<LoginRequest>>;

    /// Deletes every request with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_login_requests(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A complete store: every aggregate, plus health information for the server.
#[async_trait::async_trait]
pub trait Store:
    ClientStore
    + UserStore
    + KeyStore
    + SessionStore
    + CodeStore
    + RefreshTokenStore
    + ConsentStore
    + LoginRequestStore
    + RevocationStore
    + std::fmt::Debug
    + Send
    + Sync
{
    /// A cheap round trip to the database, for readiness probes.
    async fn ping(&self) -> StoreResult<()>;

    /// The backend's short name, e.g. `"sqlite"`.
    fn backend_name(&self) -> &'static str;
}
