//! Operator actions (`tessera client …`, `tessera user …`, `tessera session …`, `tessera keys
//! …`), shared by the CLI and the tests so both exercise the same rules.
//!
//! Actions that take tokens back record a revocation (`crate::revocations::record`) with the
//! actor `cli`. A running server notices it through the store within its feed poll interval;
//! introspection, UserInfo and the token endpoint read the store, so they refuse the revoked
//! tokens from the next request on.

use crate::hashing::HashingPool;
use crate::keys::{self, KeyRingError};
use tessera_core::password::check_new_password;
use tessera_core::user::normalise_roles;
use tessera_core::{
    Client, ClientId, ClientSecret, Clock, Email, KeyEncryptionKey, KeyState, NewClient,
    PasswordRejection, Revocation, RevocationReason, RevocationTarget, SessionId, TokenLifetimes,
    User, UserId,
};
use tessera_jose::Algorithm;
use tessera_store::{RevocationOutcome, SessionSummary};
use tessera_store::{Store, StoreError};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Why an operator action failed. Messages are for the operator's terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The input breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The thing exists already.
    #[error("{0} already exists")]
    Conflict(String),
    /// The password was refused.
    #[error(transparent)]
    Password(#[from] PasswordRejection),
    /// The store failed.
    #[error("store: {0}")]
    Store(StoreError),
    /// Key handling failed.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
}

fn store_error(what: impl Into<String>) -> impl FnOnce(StoreError) -> AdminError {
    let what = what.into();
    move |err| match err {
        StoreError::NotFound => AdminError::NotFound(what),
        StoreError::Conflict(_) => AdminError::Conflict(what),
        other => AdminError::Store(other),
    }
}

/// Registers a client; returns it with its secret (shown once) for confidential clients.
pub async fn add_client(
    store: &dyn Store,
    new: NewClient,
    clock: &dyn Clock,
) -> Result<(Client, Option<ClientSecret>), AdminError> {
    let (client, secret) =
        Client::register(new, clock.now()).map_err(|e| AdminError::Invalid(e.to_string()))?;
    store
        .create_client(&client)
        .await
        .map_err(store_error(format!("client {}", client.id)))?;
    Ok((client, secret))
}

fn client_id(id: &str) -> Result<ClientId, AdminError> {
    ClientId::parse(id).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// Looks a client up by id.
pub async fn find_client(store: &dyn Store, id: &str) -> Result<Client, AdminError> {
    store
        .find_client(&client_id(id)?)
        .await
        .map_err(AdminError::Store)?
        .ok_or_else(|| AdminError::NotFound(format!("client {id}")))
}

/// Removes a client.
pub async fn remove_client(store: &dyn Store, id: &str) -> Result<(), AdminError> {
    store
        .delete_client(&client_id(id)?)
        .await
        .map_err(store_error(format!("client {id}")))
}

fn email(input: &str) -> Result<Email, AdminError> {
    Email::parse(input).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// Creates a user. The password, when given, must pass the password rules.
pub async fn add_user(
    store: &dyn Store,
    hashing: &HashingPool,
    email_address: &str,
    password: Option<Zeroizing<String>>,
    name: Option<String>,
    roles: Vec<String>,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    let email = email(email_address)?;
    let roles = normalise_roles(roles).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let password_hash = match password {
        Some(password) => {
            check_new_password(&password)?;
            Some(hashing.hash(password).await)
        }
        None => None,
    };
    let user = User::new(email, name, roles, password_hash, clock.now())
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    store
        .create_user(&user)
        .await
        .map_err(store_error(format!("user {}", user.email)))?;
    Ok(user)
}

/// Looks a user up by email.
pub async fn find_user(store: &dyn Store, email_address: &str) -> Result<User, AdminError> {
    let email = email(email_address)?;
    store
        .find_user_by_email(&email)
        .await
        .map_err(AdminError::Store)?
        .ok_or_else(|| AdminError::NotFound(format!("user {email}")))
}

async fn update_user(
    store: &dyn Store,
    email_address: &str,
    clock: &dyn Clock,
    change: impl FnOnce(&mut User),
) -> Result<User, AdminError> {
    let mut user = find_user(store, email_address).await?;
    change(&mut user);
    user.updated_at = clock.now();
    store
        .update_user(&user)
        .await
        .map_err(store_error(format!("user {}", user.email)))?;
    Ok(user)
}

/// The operator as an actor in revocations and the audit trail.
pub const CLI_ACTOR: &str = "cli";

/// Records a revocation of `target` made now by the operator.
pub async fn revoke(
    store: &dyn Store,
    target: RevocationTarget,
    reason: RevocationReason,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<Option<RevocationOutcome>, AdminError> {
    let revocation = Revocation::new(
        target,
        clock.now(),
        lifetimes.access_token,
        reason,
        CLI_ACTOR,
    );
    crate::revocations::record(store, &revocation)
        .await
        .map_err(AdminError::Store)
}

/// Revokes every token of `user` issued until now and ends the user's sessions.
async fn revoke_user(
    store: &dyn Store,
    user: &UserId,
    reason: RevocationReason,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<RevocationOutcome, AdminError> {
    let target = RevocationTarget::User {
        user_id: user.clone(),
    };
    revoke(store, target, reason, lifetimes, clock)
        .await?
        .ok_or_else(|| AdminError::Invalid("a user revocation is never a repeat".into()))
}

/// "Log out everywhere": revokes every token of the user issued until now, ends every session
/// of the user, and notifies the clients that took part in them.
pub async fn revoke_user_tokens(
    store: &dyn Store,
    email_address: &str,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<RevocationOutcome, AdminError> {
    let user = find_user(store, email_address).await?;
    revoke_user(
        store,
        &user.id,
        RevocationReason::AdminRevoke,
        lifetimes,
        clock,
    )
    .await
}

/// Disables or enables a user. Disabling also revokes every token of the user and ends their
/// sessions (re-enabling brings none of them back).
pub async fn set_user_disabled(
    store: &dyn Store,
    email_address: &str,
    disabled: bool,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    let user = update_user(store, email_address, clock, |u| u.is_disabled = disabled).await?;
    if disabled {
        revoke_user(
            store,
            &user.id,
            RevocationReason::AccountDisabled,
            lifetimes,
            clock,
        )
        .await?;
    }
    Ok(user)
}

/// Replaces a user's roles. When they change, the user's access tokens issued until now are
/// revoked so that the next refresh brings tokens with the new roles; sessions and refresh
/// tokens stay.
pub async fn set_roles(
    store: &dyn Store,
    email_address: &str,
    roles: Vec<String>,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    let roles = normalise_roles(roles).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let before = find_user(store, email_address).await?;
    if before.roles == roles {
        return Ok(before);
    }
    let user = update_user(store, email_address, clock, |u| u.roles = roles).await?;
    let target = RevocationTarget::UserClaims {
        user_id: user.id.clone(),
    };
    revoke(
        store,
        target,
        RevocationReason::RolesChange,
        lifetimes,
        clock,
    )
    .await?;
    Ok(user)
}

/// The browser sessions of a user, newest first, with the clients that took part in each.
pub async fn list_sessions(
    store: &dyn Store,
    email_address: &str,
) -> Result<Vec<SessionSummary>, AdminError> {
    let user = find_user(store, email_address).await?;
    store
        .list_user_sessions(&user.id)
        .await
        .map_err(AdminError::Store)
}

/// "Log out this device": ends the session `sid`, revokes its refresh tokens and every access
/// token carrying the sid, and notifies the clients that took part in it.
pub async fn revoke_session(
    store: &dyn Store,
    sid: &str,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<RevocationOutcome, AdminError> {
    let sid = SessionId::from_stored(sid.to_owned());
    let not_found = || AdminError::NotFound(format!("session {sid}"));
    let session = store
        .find_session(&sid)
        .await
        .map_err(AdminError::Store)?
        .ok_or_else(not_found)?;
    let target = RevocationTarget::Session {
        sid: session.sid,
        user_id: session.user_id,
    };
    match revoke(
        store,
        target,
        RevocationReason::AdminRevoke,
        lifetimes,
        clock,
    )
    .await
    {
        Ok(Some(outcome)) => Ok(outcome),
        // Ended by someone else between the lookup and the revocation.
        Ok(None) | Err(AdminError::Store(StoreError::NotFound)) => Err(not_found()),
        Err(err) => Err(err),
    }
}

/// Sets a new password, after checking it against the password rules, and revokes every token
/// and session of the user.
pub async fn set_password(
    store: &dyn Store,
    hashing: &HashingPool,
    email_address: &str,
    password: Zeroizing<String>,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    check_new_password(&password)?;
    // Look the user up first so a typo in the email does not cost a hash.
    find_user(store, email_address).await?;
    let hash = hashing.hash(password).await;
    let user = update_user(store, email_address, clock, |u| {
        u.password_hash = Some(hash)
    })
    .await?;
    // Whoever knew the old password may hold sessions and tokens: they all end. (With
    // self-service password change, the session making the change will be kept.)
    revoke_user(
        store,
        &user.id,
        RevocationReason::PasswordChange,
        lifetimes,
        clock,
    )
    .await
    .map_err(|err| {
        AdminError::Invalid(format!(
            "the password was set, but revoking the user's sessions failed ({err}); \
                 run `tessera user revoke-tokens {}`",
            user.email
        ))
    })?;
    Ok(user)
}

/// Removes a user. The user's tokens are revoked first (the feed tells resource servers, and
/// the clients of their sessions are notified); should the removal then fail, the user stays,
/// with nothing valid.
pub async fn remove_user(
    store: &dyn Store,
    email_address: &str,
    lifetimes: &TokenLifetimes,
    clock: &dyn Clock,
) -> Result<(), AdminError> {
    let user = find_user(store, email_address).await?;
    revoke_user(
        store,
        &user.id,
        RevocationReason::AccountRemoved,
        lifetimes,
        clock,
    )
    .await?;
    store
        .delete_user(&user.id)
        .await
        .map_err(store_error(format!("user {}", user.email)))
}

/// Rotates the signing key of each algorithm in `algs`; returns the new kids.
///
/// With `revoke_all` (a suspected key compromise) the old keys are retired at once instead of
/// staying published until their tokens expire, and a global revocation takes back every token
/// issued until now, refresh tokens included; browser sessions stay, so users get new tokens
/// from the new keys without signing in again.
pub async fn rotate_keys(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    algs: &[Algorithm],
    lifetimes: &TokenLifetimes,
    grace: Duration,
    revoke_all: bool,
    clock: &dyn Clock,
) -> Result<Vec<String>, AdminError> {
    // Retiring at once means publishing the old key for no token lifetime and no grace.
    let (publish_for, grace) = if revoke_all {
        let none = TokenLifetimes {
            access_token: Duration::ZERO,
            id_token: Duration::ZERO,
        };
        (none, Duration::ZERO)
    } else {
        (*lifetimes, grace)
    };
    let mut kids = Vec::with_capacity(algs.len());
    for &alg in algs {
        kids.push(keys::rotate(store, kek, alg, &publish_for, grace, clock).await?);
    }
    if revoke_all {
        revoke(
            store,
            RevocationTarget::Global,
            RevocationReason::KeyRotation,
            lifetimes,
            clock,
        )
        .await?;
    }
    Ok(kids)
}

/// One row of `tessera keys list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// Life-cycle state.
    pub state: KeyState,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it leaves the JWKS (`None` while active).
    pub retires_at: Option<OffsetDateTime>,
}

/// Every stored key with its state at the current time.
pub async fn list_keys(store: &dyn Store, clock: &dyn Clock) -> Result<Vec<KeyInfo>, AdminError> {
    let now = clock.now();
    Ok(store
        .list_signing_keys()
        .await
        .map_err(AdminError::Store)?
        .into_iter()
        .map(|record| KeyInfo {
            state: record.state(now),
            kid: record.kid,
            alg: record.alg,
            created_at: record.created_at,
            retires_at: record.expires_at,
        })
        .collect())
}
