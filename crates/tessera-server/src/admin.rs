//! Operator actions (`tessera client …`, `tessera user …`, `tessera keys …`), shared by the CLI
//! and the tests so both exercise the same rules.

use crate::hashing::HashingPool;
use crate::keys::{self, KeyRingError};
use tessera_core::password::check_new_password;
use tessera_core::user::normalise_roles;
use tessera_core::{
    Client, ClientId, ClientSecret, Clock, Email, KeyEncryptionKey, KeyState, NewClient,
    PasswordRejection, TokenLifetimes, User,
};
use tessera_jose::Algorithm;
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

/// Disables or enables a user.
pub async fn set_user_disabled(
    store: &dyn Store,
    email_address: &str,
    disabled: bool,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    update_user(store, email_address, clock, |u| u.is_disabled = disabled).await
}

/// Sets a new password, after checking it against the password rules.
pub async fn set_password(
    store: &dyn Store,
    hashing: &HashingPool,
    email_address: &str,
    password: Zeroizing<String>,
    clock: &dyn Clock,
) -> Result<User, AdminError> {
    check_new_password(&password)?;
    // Look the user up first so a typo in the email does not cost a hash.
    find_user(store, email_address).await?;
    let hash = hashing.hash(password).await;
    update_user(store, email_address, clock, |u| {
        u.password_hash = Some(hash)
    })
    .await
}

/// Removes a user.
pub async fn remove_user(store: &dyn Store, email_address: &str) -> Result<(), AdminError> {
    let user = find_user(store, email_address).await?;
    store
        .delete_user(&user.id)
        .await
        .map_err(store_error(format!("user {}", user.email)))
}

/// Rotates the signing key of each algorithm in `algs`; returns the new kids.
pub async fn rotate_keys(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    algs: &[Algorithm],
    lifetimes: &TokenLifetimes,
    grace: Duration,
    clock: &dyn Clock,
) -> Result<Vec<String>, AdminError> {
    let mut kids = Vec::with_capacity(algs.len());
    for &alg in algs {
        kids.push(keys::rotate(store, kek, alg, lifetimes, grace, clock).await?);
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
