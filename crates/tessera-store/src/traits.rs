//! The store contract: one trait per aggregate, plus [`Store`] which bundles them.
//!
//! Every backend implements these traits and must pass the contract suite in
//! `tests/contract/`. Nothing here assumes a particular database: orderings are stated
//! explicitly (string orderings are byte-wise, as for ASCII identifiers), timestamps are kept at
//! whole-second precision, and failures arrive as [`StoreError`](crate::StoreError).

use crate::StoreResult;
use tessera_core::client::SecretHash;
use tessera_core::{
    Admission, AuditEvent, AuthorizationCode, BackchannelDelivery, BrowserSession,
    ChallengePurpose, Client, ClientId, CodeCheck, CodePurpose, CodeRedemption, Consent, Email,
    OutgoingMessage, Passkey, PasskeyChallenge, PasswordReset, PendingSignIn, RefreshRotation,
    RefreshToken, Revocation, RevocationEntry, RevocationReason, SentCode, SessionId,
    SigningKeyRecord, StoredRefreshToken, ThrottleKey, ThrottleRule, ThrottleState, TokenFacts,
    TotpFactor, User, UserId,
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

    /// Sets whether every sign-in to client `id` needs a second factor.
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if there is no such client.
    async fn update_client_require_mfa(&self, id: &ClientId, require_mfa: bool) -> StoreResult<()>;
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
    /// password_hash, is_disabled, email_verified, email_codes_enabled and updated_at. `created_at` is never changed.
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
    /// `expires_at = expires_at`; then `new` is inserted. Keys of other algorithms are
    /// untouched, and so are keys already rotated, except in an emergency rotation
    /// (`expires_at <= now`: the active key leaves the JWKS at once, as after a leak), where
    /// every key of the algorithm still published expires at `expires_at` too: a leaked key
    /// rotated out a few minutes earlier must not stay trusted. If anything fails (for example a duplicate kid, which is a
    /// [`StoreError::Conflict`](crate::StoreError::Conflict)) nothing changes. Concurrent
    /// rotations (from several nodes too) take effect one after the other, so exactly one key
    /// of the algorithm ends active.
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
    /// `auth_time` and `amr` of session `sid`, and setting `last_seen_at` to the new
    /// `auth_time`; the sid, user, `created_at`, `expires_at` and user agent stay.
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

    /// Records that session `sid` was used at `now`: `last_seen_at` becomes `now` unless it is
    /// already as late. Nothing happens for an unknown sid (the session may have just ended).
    async fn record_session_seen(&self, sid: &SessionId, now: OffsetDateTime) -> StoreResult<()>;

    /// The sessions of `user`, newest first, each with the clients that took part in it
    /// (received a code in it), in client-id order.
    async fn list_user_sessions(&self, user: &UserId) -> StoreResult<Vec<SessionSummary>>;

    /// Deletes every session with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A browser session and the clients that took part in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session.
    pub session: BrowserSession,
    /// Clients that received a code in it.
    pub clients: Vec<ClientId>,
}

/// Authorization codes, stored by the hash of the code, each redeemable once.
///
/// A code belongs to a user and a client: deleting either deletes it.
#[async_trait::async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new, unredeemed code, and records its client as taking part in the code's
    /// session (when the session exists), for back-channel logout.
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if the hash exists; [`StoreError::NotFound`](crate::StoreError::NotFound) if the user or
    /// the client does not exist.
    async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()>;

    /// One atomic operation: if the code exists and was never redeemed, it is marked redeemed at
    /// `now` and the answer is [`CodeRedemption::First`]; if it was redeemed before, the answer
    /// is [`CodeRedemption::Replayed`] with the replay's number (it stays redeemed, and its
    /// replay count goes up by one); otherwise
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
    /// [`delete_refresh_family_revocations`](Self::delete_refresh_family_revocations)), or a
    /// revocation entry covers it (a session entry for its sid, a user or global entry whose
    /// `not_before` is after its `issued_at`; see [`RevocationStore::revoke`]), the token is
    /// stored already revoked, with that `revoked_at`, and the answer is `false`; otherwise it
    /// is stored current and the answer is `true`. A caller must hand out
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
    /// - already rotated (whether or not its family is revoked yet): reuse. The grant is
    ///   revoked as by [`revoke_refresh_family`](Self::revoke_refresh_family) with
    ///   [`RevocationReason::RefreshReuse`] by `client:<its client>` (every token not yet
    ///   revoked gets `revoked_at = now`, including any successor someone else obtained, the
    ///   family is recorded, and the access tokens issued with them get feed entries), and the
    ///   answer is [`RefreshRotation::Reused`] with the presented token. That revocation is a
    ///   transaction of its own, committed before the answer;
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
    ) -> StoreResult<RefreshRotation> {
        self.rotate_refresh_token_with_grace(presented, successor, now, time::Duration::ZERO)
            .await
    }

    /// [`rotate_refresh_token`](Self::rotate_refresh_token) with a reuse grace
    /// ([`StoredRefreshToken::presented_with_grace`]): a token replaced less than
    /// `reuse_grace` ago, whose family is not revoked, gets `successor` inserted beside its
    /// first successor (it keeps its `rotated_at`) and the answer [`RefreshRotation::Rotated`];
    /// nothing is revoked. Everything else is as without a grace.
    async fn rotate_refresh_token_with_grace(
        &self,
        presented: &SecretHash,
        successor: &RefreshToken,
        now: OffsetDateTime,
        reuse_grace: time::Duration,
    ) -> StoreResult<RefreshRotation>;

    /// Revokes a grant, in one atomic operation (one transaction): every token of the family
    /// that is not revoked yet (`revoked_at = now`), with the family recorded as revoked at
    /// `now` so that a token of it created later is stored revoked (see
    /// [`create_refresh_token`](Self::create_refresh_token)); and every access token issued
    /// with one of its tokens ([`RefreshToken::access_token`]) that has not expired, each by a
    /// token entry in the feed as [`RevocationStore::revoke`] records it (`reason`, `actor`;
    /// an access token that already has an entry gets no second one).
    ///
    /// A family with no tokens (yet) is not an error: it is recorded all the same. Revoking a
    /// family again keeps the first revocation time, for its tokens and for the record.
    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        now: OffsetDateTime,
        reason: RevocationReason,
        actor: &str,
    ) -> StoreResult<FamilyRevocation>;

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

/// What [`RefreshTokenStore::revoke_refresh_family`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FamilyRevocation {
    /// Refresh tokens newly revoked.
    pub refresh_tokens_revoked: u64,
    /// The entries recorded for the family's access tokens, in the feed's order.
    pub access_tokens_revoked: Vec<RevocationEntry>,
}

/// What [`RevocationStore::revoke`] did besides recording the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationOutcome {
    /// The stored entry, with its feed cursor.
    pub entry: RevocationEntry,
    /// Browser sessions deleted (session and user entries).
    pub sessions_ended: Vec<SessionId>,
    /// Refresh tokens newly revoked.
    pub refresh_tokens_revoked: u64,
    /// Back-channel logout deliveries queued.
    pub logout_notifications: u64,
}

/// An answer of [`RevocationStore::revocations_after`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedRead {
    /// The entries after the cursor, oldest first (possibly none).
    Entries(Vec<RevocationEntry>),
    /// An entry after the cursor has been deleted: the reader must resync from a snapshot.
    Behind,
    /// The cursor is beyond the newest entry this store ever had.
    Ahead,
}

/// Every live entry and the cursor to continue from, read consistently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSnapshot {
    /// Entries with `expires_at > now`, oldest first.
    pub entries: Vec<RevocationEntry>,
    /// The newest cursor the store has handed out (entries after it are new).
    pub cursor: i64,
}

/// One page of a snapshot of the feed, an answer of
/// [`RevocationStore::revocation_snapshot_page`]. A snapshot taken at `cursor` is the set of
/// live entries with a cursor up to `cursor`; its pages hand them out in cursor order, so a
/// reader following `next` gets each of them once however many pages it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSnapshotPage {
    /// Live entries (`expires_at > now`) of this page, oldest first.
    pub entries: Vec<RevocationEntry>,
    /// The snapshot's cursor: the newest cursor handed out when the snapshot began. Entries
    /// after it are new and come from [`RevocationStore::revocations_after`].
    pub cursor: i64,
    /// Where the next page begins (the last entry's cursor), when live entries up to `cursor`
    /// remain; `None` on the last page.
    pub next: Option<i64>,
}

/// The revocation model (`tessera_core::revocation`): entries, the effects they have on stored
/// sessions and refresh tokens, and the feed that resource servers mirror.
#[async_trait::async_trait]
pub trait RevocationStore: Send + Sync {
    /// Applies `revocation` in one transaction:
    ///
    /// - records it as a feed entry with the next cursor, and an audit record;
    /// - a session entry deletes that browser session and revokes every refresh token carrying
    ///   the sid;
    /// - a user entry deletes every browser session of the user and revokes their refresh
    ///   tokens issued before `not_before`;
    /// - a global entry revokes every refresh token issued before `not_before`;
    /// - for a session or user entry, for every session deleted and every sid whose refresh
    ///   tokens were revoked, each client that took part in it and has a back-channel logout URI
    ///   gets a delivery queued (a global entry queues none: it ends no session).
    ///
    /// Returns `None`, changing nothing, when a token or session entry for the same jti or sid
    /// exists already (revoking twice). [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// for a session entry when neither the session nor an unrevoked refresh token with its sid
    /// exists, and for a user or claims entry when the user does not exist.
    async fn revoke(&self, revocation: &Revocation) -> StoreResult<Option<RevocationOutcome>>;

    /// Whether a live entry covers the access token described by `token` at `now` (see
    /// `Revocation::covers`).
    async fn is_access_token_revoked(
        &self,
        token: &TokenFacts<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// The latest `not_before` among live user, claims and global entries that concern
    /// `user` (global ones only when `user` is `None`), if any: tokens for that user issued
    /// before it would be born revoked.
    async fn latest_not_before(
        &self,
        user: Option<&UserId>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>>;

    /// Up to `limit` entries with a cursor greater than `after`, oldest first, whether expired
    /// or not (until swept); [`FeedRead::Behind`] if an entry after `after` was deleted,
    /// [`FeedRead::Ahead`] if `after` is beyond every cursor handed out.
    ///
    /// Entries become visible in cursor order, however many are made at once: once a reader
    /// has been handed a cursor, no entry with a smaller one appears later, so a follower that
    /// continues from the last cursor it read misses nothing.
    async fn revocations_after(&self, after: i64, limit: u32) -> StoreResult<FeedRead>;

    /// Every live entry and the newest cursor, from one consistent read. Unbounded: for tools
    /// and tests; the feed reads snapshots page by page with
    /// [`revocation_snapshot_page`](Self::revocation_snapshot_page).
    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<FeedSnapshot>;

    /// One page of a snapshot: at most `limit` (at least 1) live entries (`expires_at > now`)
    /// with `after < cursor <= snapshot`, oldest first. With `snapshot` `None` a new snapshot
    /// begins at the newest cursor handed out, read in the same transaction as the page;
    /// otherwise the page continues the snapshot taken at `snapshot`. `None` when `snapshot`
    /// is beyond every cursor handed out (the store was replaced).
    ///
    /// Because entries become visible in cursor order, every entry up to the snapshot's cursor
    /// is visible from the first page on: the pages together hold every entry live at the
    /// time of its page, each once. An entry swept between two pages is simply absent (it had
    /// expired).
    async fn revocation_snapshot_page(
        &self,
        now: OffsetDateTime,
        snapshot: Option<i64>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Option<FeedSnapshotPage>>;

    /// Deletes every entry with `expires_at <= now`, remembering the highest deleted cursor (so
    /// that readers behind it are told to resync); returns how many were deleted.
    async fn delete_expired_revocations(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// The audit trail (`tessera_core::audit`).
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends a record; returns its id. Revocations append their own record inside
    /// [`RevocationStore::revoke`]; this is for events that change nothing else.
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<i64>;

    /// The newest `limit` records, oldest first.
    async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditEvent>>;

    /// Up to `limit` records with an id greater than `after`, oldest first. Records become
    /// visible in id order, as revocation entries do in cursor order, so a follower that
    /// continues from the last id it read (`audit tail --follow`) misses nothing.
    async fn audit_after(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEvent>>;
}

/// The back-channel logout queue (`tessera_core::backchannel`). Deliveries are queued by
/// [`RevocationStore::revoke`]; a worker claims, sends and settles them.
#[async_trait::async_trait]
pub trait BackchannelStore: Send + Sync {
    /// Claims up to `limit` deliveries due at `now` (oldest first): each gets its attempt count
    /// raised and is hidden from other claimers until `lease_until`, so several workers (or
    /// nodes) never send one delivery twice at once. Deliveries whose client no longer has a
    /// back-channel logout URI are dropped instead.
    async fn claim_backchannel_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<BackchannelDelivery>>;

    /// Removes a delivery that was sent (or given up on).
    async fn finish_backchannel_delivery(&self, id: i64) -> StoreResult<()>;

    /// Schedules the next attempt of a failed delivery, keeping the error for operators.
    async fn retry_backchannel_delivery(
        &self,
        id: i64,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()>;
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
    async fn create_login_request(&self, request: &PendingSignIn) -> StoreResult<()>;

    /// The pending request with `id`, if there is one, lapsed or not (the caller judges expiry).
    async fn find_login_request(&self, id: &str) -> StoreResult<Option<PendingSignIn>>;

    /// Deletes the request with `id` and returns it, in one atomic step: of any number of
    /// concurrent takers exactly one gets it, and a later call gets `None`.
    async fn take_login_request(&self, id: &str) -> StoreResult<Option<PendingSignIn>>;

    /// Deletes every request with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_login_requests(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Per-account sign-in attempt counts: the brute-force limit, shared by every node on the
/// database. The policy (how many attempts, how long a lock) is the caller's; the store makes
/// each decision atomic.
#[async_trait::async_trait]
pub trait LoginThrottleStore: Send + Sync {
    /// Decides an attempt at `key` made at `now` with [`ThrottleRule::admit`] (the per-account
    /// [`tessera_core::LoginThrottlePolicy`] or the per-source
    /// [`tessera_core::SourceThrottlePolicy`]) on the stored count and stores the count it
    /// returns, in one atomic step: concurrent attempts (through any number of stores on the
    /// same database) are decided one after the other, each on the count the previous one
    /// stored, so no more attempts are admitted than the rule allows however many arrive at
    /// once.
    async fn admit_login_attempt(
        &self,
        key: &ThrottleKey,
        rule: &dyn ThrottleRule,
        now: OffsetDateTime,
    ) -> StoreResult<Admission>;

    /// Forgets the count of `key` (after a successful sign-in). Forgetting a key without a count
    /// is not an error.
    async fn clear_login_attempts(&self, key: &ThrottleKey) -> StoreResult<()>;

    /// Deletes every count whose [`ThrottleState::forgettable_at`] (under the policy it was
    /// stored with) is at or before `now`; returns how many were deleted.
    async fn delete_forgotten_login_throttles(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A change made through some store on the same database (by this process, another node or the
/// CLI), as reported by [`Store::subscribe_changes`]. Each one means "re-read this"; it carries
/// no data, so a missed or repeated one costs at most a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreChange {
    /// Revocation feed entries were recorded, or swept
    /// ([`RevocationStore::delete_expired_revocations`] deleted some).
    Revocations,
    /// Signing keys were created, rotated or deleted.
    SigningKeys,
    /// Changes may have gone unreported (the backend's listener has just started or
    /// reconnected, or a newer Tessera reported a change this one cannot name): re-read
    /// everything you follow.
    Resync,
}

/// A user as a finished sign-in leaves them: the account, a browser session and a refresh
/// token of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    /// The account.
    pub user: User,
    /// Its browser session; `session.user_id` is `user.id`.
    pub session: BrowserSession,
    /// Its refresh token, of the session `session.sid` and the user `user.id`, the first of a
    /// new family.
    pub refresh_token: RefreshToken,
}

/// Many signed-in users at once: benchmark and load-test data (`tessera seed`), where one
/// committed transaction per row would take hours for a million users.
#[async_trait::async_trait]
pub trait SeedStore: Send + Sync {
    /// Creates every user with its session and refresh token, in one transaction: all of them,
    /// or on any error (an email already taken, say) none. Returns how many of the refresh
    /// tokens were created live; a token is created revoked, as by
    /// [`RefreshTokenStore::create_refresh_token`], when a revocation already covers it.
    async fn create_signed_in_users(&self, users: &[SignedInUser]) -> StoreResult<u64>;
}

/// TOTP authenticators (second factors). A user has at most one confirmed factor and at most
/// one enrolment waiting for its confirming code. Factors belong to a user: deleting the user
/// deletes them.
#[async_trait::async_trait]
pub trait TotpStore: Send + Sync {
    /// Stores a new, unconfirmed enrolment, replacing any other unconfirmed enrolment of the
    /// same user (the confirmed factor, if any, stays until this one is confirmed).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if the user does not exist.
    async fn create_totp_enrolment(&self, enrolment: &TotpFactor) -> StoreResult<()>;

    /// The unconfirmed enrolment `id` of `user`, if it exists (the caller judges its age).
    async fn find_totp_enrolment(&self, user: &UserId, id: &str)
        -> StoreResult<Option<TotpFactor>>;

    /// Confirms enrolment `id` of `user` with the step of its confirming code, in one atomic
    /// operation that also removes the user's previous factor. `false` if there is no such
    /// unconfirmed enrolment (already confirmed by a racing request, replaced, or forgotten).
    async fn confirm_totp_enrolment(
        &self,
        user: &UserId,
        id: &str,
        step: i64,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// The confirmed factor of `user`, if any.
    async fn find_totp_factor(&self, user: &UserId) -> StoreResult<Option<TotpFactor>>;

    /// Records that the code of `step` was used on factor `id`: a compare-and-swap that
    /// succeeds only if `step` is later than the factor's last used step. `false` means another
    /// request used this step (or a later one) first, or the factor is gone: the code must be
    /// refused.
    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool>;

    /// Deletes every TOTP factor and enrolment of `user`; returns how many rows went.
    async fn delete_totp_factors(&self, user: &UserId) -> StoreResult<u64>;

    /// Deletes unconfirmed enrolments created at or before `before`; returns how many.
    async fn delete_stale_totp_enrolments(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// Recovery codes: the keyed hashes of a user's current set, each usable once.
#[async_trait::async_trait]
pub trait RecoveryCodeStore: Send + Sync {
    /// Replaces `user`'s set with `hashes` (used and unused codes of the old set alike stop
    /// working), in one transaction. [`StoreError::NotFound`](crate::StoreError::NotFound) if
    /// the user does not exist; then nothing changes.
    async fn replace_recovery_codes(
        &self,
        user: &UserId,
        hashes: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Marks the unused code `hash` of `user` used: `true` once, `false` for an unknown,
    /// another user's, or an already used code (of two racing uses, one wins).
    async fn use_recovery_code(
        &self,
        user: &UserId,
        hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// How many codes of `user`'s set are still unused.
    async fn count_unused_recovery_codes(&self, user: &UserId) -> StoreResult<u64>;

    /// Deletes `user`'s set; returns how many codes went.
    async fn delete_recovery_codes(&self, user: &UserId) -> StoreResult<u64>;
}

/// Codes sent by email ([`tessera_core::sent_code`]): one live code per user and purpose.
#[async_trait::async_trait]
pub trait SentCodeStore: Send + Sync {
    /// Stores `code`, replacing the user's code for the same purpose (used or not).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if the user does not exist.
    async fn create_sent_code(&self, code: &SentCode) -> StoreResult<()>;

    /// Presents the code whose hash is `code_hash` for `user` and `purpose` at `now`: accepted
    /// and used up if it is the live code (not used, not expired, fewer than
    /// `max_wrong_attempts` wrong tries); otherwise, if a live code exists, one wrong try is
    /// counted. Each outcome is one conditional statement, so racing presentations of one code
    /// accept it once.
    async fn check_sent_code(
        &self,
        user: &UserId,
        purpose: CodePurpose,
        code_hash: &str,
        now: OffsetDateTime,
        max_wrong_attempts: u32,
    ) -> StoreResult<CodeCheck>;

    /// Deletes codes that expired at or before `now`; returns how many.
    async fn delete_expired_sent_codes(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// The mail outbox ([`tessera_core::mail`]): messages queued by requests, sent by a worker on
/// any node.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues `mail`, due at once.
    async fn enqueue_message(&self, mail: &OutgoingMessage) -> StoreResult<()>;

    /// Claims up to `limit` messages due at `now` (oldest first): each gets its attempt count
    /// raised and is hidden from other claimers until `lease_until`.
    async fn claim_messages(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingMessage>>;

    /// Removes a message that was sent or given up on.
    async fn finish_message(&self, id: &str) -> StoreResult<()>;

    /// Schedules the next attempt of a message that failed, keeping the error for operators.
    async fn retry_message(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()>;
}

/// Forgotten-password links ([`tessera_core::password_reset`]): one live link per user.
#[async_trait::async_trait]
pub trait PasswordResetStore: Send + Sync {
    /// Stores `reset`, replacing the user's earlier link (used or not).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if the user does not exist.
    async fn create_password_reset(&self, reset: &PasswordReset) -> StoreResult<()>;

    /// The live (unused, unexpired at `now`) link whose token hashes to `token_hash`.
    async fn find_password_reset(
        &self,
        token_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<PasswordReset>>;

    /// Uses the live link `token_hash` up: its user, once; `None` if it is unknown, used,
    /// replaced or expired (of racing uses, one gets the user).
    async fn use_password_reset(
        &self,
        token_hash: &SecretHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserId>>;

    /// Deletes links that expired at or before `now`; returns how many.
    async fn delete_expired_password_resets(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Passkeys ([`tessera_core::passkey`]): the WebAuthn credentials users register, and the
/// single-use challenges of the ceremonies that register and use them. Both belong to a user:
/// deleting the user deletes their passkeys and the challenges issued for them.
#[async_trait::async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a newly registered passkey.
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) if a passkey with the same
    /// credential ID exists, whoever it belongs to (the same credential registered twice, or
    /// another user's: WebAuthn §7.1 step 25); [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// if the user does not exist. On either error nothing is stored. A credential ID outside
    /// 1 to 1023 bytes breaks the schema's check and is refused as
    /// [`StoreError::Backend`](crate::StoreError::Backend) (the WebAuthn verifier never yields
    /// one).
    async fn create_passkey(&self, passkey: &Passkey) -> StoreResult<()>;

    /// The passkey with this credential ID, whoever it belongs to, if there is one.
    async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>>;

    /// Every passkey of `user`, oldest first (by `created_at`, then by credential ID,
    /// byte-wise).
    async fn list_passkeys(&self, user: &UserId) -> StoreResult<Vec<Passkey>>;

    /// Deletes `user`'s passkey with this credential ID. `false` if `user` has none with it
    /// (another user's credential ID deletes nothing).
    async fn delete_passkey(&self, user: &UserId, credential_id: &[u8]) -> StoreResult<bool>;

    /// Records an accepted use of a passkey: sets its counter to `new_count`, its BS flag to
    /// `backed_up` and its last use to `now`, in one conditional statement that matches only
    /// while the stored counter is still `previous_count` (a compare-and-swap on the count the
    /// assertion was verified against). `true` if it moved; `false` if the credential is gone
    /// or its counter is no longer `previous_count` (a concurrent use recorded first), in which
    /// case nothing changed and the sign-in must be refused.
    ///
    /// Of concurrent calls with the same `previous_count` and a `new_count` different from it,
    /// exactly one returns `true`. An authenticator that keeps no counter reports 0 every time
    /// (`new_count == previous_count == 0`); such calls all match, since there is no count to
    /// race on: the single-use challenge ([`take_passkey_challenge`](Self::take_passkey_challenge)),
    /// not the counter, is what stops an assertion being used twice.
    async fn record_passkey_use(
        &self,
        credential_id: &[u8],
        previous_count: u32,
        new_count: u32,
        backed_up: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Stores `challenge`, replacing any challenge for the same purpose and `bound_to` (in one
    /// atomic upsert: concurrent puts leave exactly one of them).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if `challenge.user_id` names a user
    /// that does not exist; then nothing changes.
    async fn put_passkey_challenge(&self, challenge: &PasskeyChallenge) -> StoreResult<()>;

    /// Deletes the challenge for `purpose` and `bound_to` and returns it if it is live at `now`
    /// (`now < expires_at`), in one atomic statement: of any number of concurrent takers
    /// exactly one gets it, and a later call gets `None`. An expired challenge is deleted too,
    /// and `None` returned.
    async fn take_passkey_challenge(
        &self,
        purpose: ChallengePurpose,
        bound_to: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<PasskeyChallenge>>;

    /// Deletes every challenge with `expires_at <= now`; returns how many were deleted.
    async fn delete_expired_passkey_challenges(&self, now: OffsetDateTime) -> StoreResult<u64>;
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
    + LoginThrottleStore
    + SeedStore
    + RevocationStore
    + AuditStore
    + BackchannelStore
    + TotpStore
    + RecoveryCodeStore
    + SentCodeStore
    + OutboxStore
    + PasswordResetStore
    + PasskeyStore
    + std::fmt::Debug
    + Send
    + Sync
{
    /// A cheap round trip to the database, for readiness probes.
    async fn ping(&self) -> StoreResult<()>;

    /// The backend's short name, e.g. `"sqlite"`.
    fn backend_name(&self) -> &'static str;

    /// A receiver of the changes committed to this store's database by anyone (this process
    /// included), if the backend can report them; `None` if it cannot (the default, and
    /// SQLite's answer), and the caller must poll.
    ///
    /// A change is reported only after it has committed, so a receiver that reads on a report
    /// sees it. Reports can still be missed (a lost connection, a receiver that falls behind):
    /// a backend then sends [`StoreChange::Resync`], and a lagging
    /// [`broadcast::Receiver`](tokio::sync::broadcast::Receiver) says `Lagged`, which a caller
    /// must treat the same way. Callers should still poll, slowly, as a safety net: a
    /// connection that hangs without failing is not noticed. Call it from within a tokio
    /// runtime; a backend may need one to run its listener.
    fn subscribe_changes(&self) -> Option<tokio::sync::broadcast::Receiver<StoreChange>> {
        None
    }
}

/// Reads (and one delete) that only tests need: the server never calls them, so they are not
/// part of [`Store`], the contract a backend offers the server. Both backends implement it;
/// tests hold a [`ProbedStore`] (from [`connect_probed`](crate::connect_probed)) to look at
/// what a flow left behind.
#[async_trait::async_trait]
pub trait StoreProbe: Send + Sync {
    /// How many revocation entries are stored, live or not yet swept.
    async fn count_revocations(&self) -> StoreResult<u64>;

    /// How many back-channel logout deliveries are queued.
    async fn count_backchannel_deliveries(&self) -> StoreResult<u64>;

    /// The queued mail: each message's id, attempts so far and last error, oldest first.
    async fn list_queued_messages(&self) -> StoreResult<Vec<(String, u32, Option<String>)>>;

    /// The stored login-throttle count of `key`, if any, forgettable or not.
    async fn find_login_throttle(&self, key: &ThrottleKey) -> StoreResult<Option<ThrottleState>>;

    /// Deletes the session with `sid` and nothing else: codes and refresh tokens carrying the
    /// sid stay. [`StoreError::NotFound`](crate::StoreError::NotFound) if there is none. (The
    /// server ends sessions only through [`RevocationStore::revoke`], which ends their tokens
    /// too.)
    async fn delete_session(&self, sid: &SessionId) -> StoreResult<()>;
}

/// A [`Store`] with its [`StoreProbe`]: what tests hold. Any type that is both is one.
pub trait ProbedStore: Store + StoreProbe {}

impl<T: Store + StoreProbe + ?Sized> ProbedStore for T {}
