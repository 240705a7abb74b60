//! Operator actions (`tessera client …`, `tessera user …`, `tessera session …`, `tessera keys
//! …`, later an admin HTTP API), shared by the CLI and the tests so both exercise the same rules.
//!
//! Every action that changes state is a method of [`Operator`], which knows who acts (an
//! [`Actor`], recorded in revocations and the audit trail) and what the actions need. Read-only
//! look-ups stay free functions of the store.
//!
//! An operator made inside a server ([`AppState::operator`]) announces its revocations to that
//! server's feed streams and back-channel logout worker at once, exactly as a request handler
//! does ([`crate::revocations::record`]). One made by the CLI ([`Operator::new`]) has no server
//! to wake: running servers notice its revocations through the store (at once on its change
//! notification, else within their feed poll interval), and introspection, UserInfo and the
//! token endpoint read the store, so they refuse the revoked tokens from the next request on.

use crate::app::{AppState, Signals};
use crate::hashing::HashingPool;
use crate::keys::{self, KeyRing, KeyRingError};
use serde_json::json;
use std::sync::Arc;
use tessera_core::audit::action;
use tessera_core::password::check_new_password;
use tessera_core::user::normalise_roles;
use tessera_core::{
    Actor, AuditEvent, Client, ClientId, ClientSecret, Clock, Email, KeyState, NewClient,
    PasswordRejection, Revocation, RevocationReason, RevocationTarget, SessionId, ThrottleKey,
    TokenLifetimes, User, UserId,
};
use tessera_jose::Algorithm;
use tessera_store::{ClientStore, KeyStore, SessionStore, Store, StoreError, UserStore};
use tessera_store::{RevocationOutcome, SessionSummary};
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

fn client_id(id: &str) -> Result<ClientId, AdminError> {
    ClientId::parse(id).map_err(|e| AdminError::Invalid(e.to_string()))
}

fn email(input: &str) -> Result<Email, AdminError> {
    Email::parse(input).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// Looks a client up by id.
pub async fn find_client(store: &dyn ClientStore, id: &str) -> Result<Client, AdminError> {
    store
        .find_client(&client_id(id)?)
        .await
        .map_err(AdminError::Store)?
        .ok_or_else(|| AdminError::NotFound(format!("client {id}")))
}

/// Looks a user up by email.
pub async fn find_user<S: UserStore + ?Sized>(
    store: &S,
    email_address: &str,
) -> Result<User, AdminError> {
    let email = email(email_address)?;
    store
        .find_user_by_email(&email)
        .await
        .map_err(AdminError::Store)?
        .ok_or_else(|| AdminError::NotFound(format!("user {email}")))
}

/// The browser sessions of a user, newest first, with the clients that took part in each.
pub async fn list_sessions<S: UserStore + SessionStore + ?Sized>(
    store: &S,
    email_address: &str,
) -> Result<Vec<SessionSummary>, AdminError> {
    let user = find_user(store, email_address).await?;
    store
        .list_user_sessions(&user.id)
        .await
        .map_err(AdminError::Store)
}

/// A user's second factors, as an operator sees them (never their secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondFactorSummary {
    /// The kind: `totp` (an authenticator app) or `recovery-codes` (with how many are unused).
    pub kind: String,
    /// When it was turned on, where it is recorded.
    pub enrolled_at: Option<OffsetDateTime>,
    /// When a code of it was last accepted (TOTP: the start of the last used time step).
    pub last_used_at: Option<OffsetDateTime>,
}

/// The second factors of a user.
pub async fn list_second_factors(
    store: &dyn Store,
    email_address: &str,
) -> Result<Vec<SecondFactorSummary>, AdminError> {
    let user = find_user(store, email_address).await?;
    let mut factors = Vec::new();
    if let Some(totp) = store
        .find_totp_factor(&user.id)
        .await
        .map_err(AdminError::Store)?
    {
        factors.push(SecondFactorSummary {
            kind: "totp".into(),
            enrolled_at: totp.confirmed_at,
            last_used_at: totp.last_used_step.and_then(|step| {
                OffsetDateTime::from_unix_timestamp(step * tessera_core::totp::STEP_SECONDS).ok()
            }),
        });
    }
    if user.email_codes_enabled {
        factors.push(SecondFactorSummary {
            kind: format!("email ({})", user.email),
            enrolled_at: None,
            last_used_at: None,
        });
    }
    if let Some(number) = &user.phone_number {
        factors.push(SecondFactorSummary {
            kind: format!("sms ({})", number.masked()),
            enrolled_at: None,
            last_used_at: None,
        });
    }
    let unused = store
        .count_unused_recovery_codes(&user.id)
        .await
        .map_err(AdminError::Store)?;
    if unused > 0 {
        factors.push(SecondFactorSummary {
            kind: format!("recovery-codes ({unused} unused)"),
            enrolled_at: None,
            last_used_at: None,
        });
    }
    // Passkeys prove a second factor too; `tessera user passkeys` manages them (`mfa reset`
    // leaves them: for a user without a password they are the way in).
    for passkey in store
        .list_passkeys(&user.id)
        .await
        .map_err(AdminError::Store)?
    {
        factors.push(SecondFactorSummary {
            kind: format!("passkey ({})", passkey.name),
            enrolled_at: Some(passkey.created_at),
            last_used_at: passkey.last_used_at,
        });
    }
    Ok(factors)
}

/// A user's passkeys (names, dates, counters; never keys), for `tessera user passkeys list`.
pub async fn list_passkeys(
    store: &dyn Store,
    email_address: &str,
) -> Result<Vec<tessera_core::passkey::Passkey>, AdminError> {
    let user = find_user(store, email_address).await?;
    store
        .list_passkeys(&user.id)
        .await
        .map_err(AdminError::Store)
}

/// What operator actions need besides the store and the clock, from the configuration.
#[derive(Clone, Debug)]
pub struct OperatorSettings {
    /// Token lifetimes: how long revocations are kept, how long rotated-out keys stay published.
    pub lifetimes: TokenLifetimes,
    /// Extra publication time of rotated-out keys.
    pub key_retirement_grace: Duration,
    /// The algorithms the server signs with, rotated when a rotation names none.
    pub signing_algs: Vec<Algorithm>,
}

impl OperatorSettings {
    /// The settings the configuration gives.
    pub fn from_config(config: &crate::Config) -> Self {
        let mut signing_algs = vec![config.tokens.access_token_alg, config.tokens.id_token_alg];
        signing_algs.dedup();
        Self {
            lifetimes: crate::app::lifetimes(config),
            key_retirement_grace: Duration::seconds(config.keys.retirement_grace_seconds.into()),
            signing_algs,
        }
    }
}

/// A new user (`tessera user add`).
#[derive(Debug)]
pub struct AddUser {
    /// Email address (the sign-in name).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Roles (normalised; duplicates and empty names are refused).
    pub roles: Vec<String>,
    /// Password, checked against the password rules; `None` for a user who cannot sign in with
    /// a password yet.
    pub password: Option<Zeroizing<String>>,
}

/// A key rotation (`tessera keys rotate`).
#[derive(Clone, Debug, Default)]
pub struct RotateKeys {
    /// The algorithms to rotate; empty for every algorithm the server signs with.
    pub algs: Vec<Algorithm>,
    /// A suspected key compromise: retire the old keys at once and revoke every token issued
    /// until now (see [`Operator::rotate_keys`]).
    pub revoke_all: bool,
}

/// Whether a user may sign in (`tessera user disable` / `enable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// The user may sign in.
    Enabled,
    /// The user may not sign in, and every token and session of the user is revoked.
    Disabled,
}

/// The one way operator actions change state: who acts, and what the actions need.
///
/// Build it with [`Operator::new`] (the CLI: no server to wake) or [`AppState::operator`]
/// (inside a server: revocations wake its feed streams and back-channel worker, a rotation
/// reloads its key ring).
#[derive(Clone, Debug)]
pub struct Operator {
    actor: Actor,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hashing: HashingPool,
    settings: OperatorSettings,
    keys: Option<Arc<KeyRing>>,
    signals: Option<Signals>,
}

impl AppState {
    /// An operator acting as `actor` inside this server: what it revokes wakes this server's
    /// feed streams and back-channel worker as a request handler's revocation does, and a key
    /// rotation reloads this server's key ring.
    pub fn operator(&self, actor: Actor) -> Operator {
        Operator {
            actor,
            store: self.services.store.clone(),
            clock: self.services.clock.clone(),
            hashing: self.services.passwords.clone(),
            settings: OperatorSettings {
                lifetimes: self.settings.lifetimes,
                key_retirement_grace: self.settings.key_retirement_grace,
                signing_algs: self.settings.signing_algs(),
            },
            keys: Some(self.services.keys.clone()),
            signals: Some(self.signals.clone()),
        }
    }
}

impl Operator {
    /// An operator outside any server (the CLI). Without a key ring (see
    /// [`Operator::with_keys`]) it cannot rotate keys.
    pub fn new(
        actor: Actor,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hashing: HashingPool,
        settings: OperatorSettings,
    ) -> Self {
        Self {
            actor,
            store,
            clock,
            hashing,
            settings,
            keys: None,
            signals: None,
        }
    }

    /// The same operator with the key ring (and so the key-encryption key) that rotations seal
    /// new keys with.
    pub fn with_keys(mut self, keys: Arc<KeyRing>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Appends an event that changes nothing else to the audit trail (see
    /// [`crate::revocations::audit`]).
    async fn audit(&self, action: &str, target: &str, detail: serde_json::Value) {
        let event = AuditEvent::new(
            self.clock.now(),
            &self.actor,
            action,
            target,
            None,
            detail.to_string(),
        );
        crate::revocations::audit(self.store(), &event).await;
    }

    /// Registers a client; returns it with its secret (shown once) for confidential clients.
    pub async fn add_client(
        &self,
        new: NewClient,
    ) -> Result<(Client, Option<ClientSecret>), AdminError> {
        let (client, secret) = Client::register(new, self.clock.now())
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.store()
            .create_client(&client)
            .await
            .map_err(store_error(format!("client {}", client.id)))?;
        let detail = json!({ "public": client.is_public(), "first_party": client.is_first_party });
        self.audit(action::CLIENT_ADDED, client.id.as_str(), detail)
            .await;
        Ok((client, secret))
    }

    /// Removes a client.
    pub async fn remove_client(&self, id: &str) -> Result<(), AdminError> {
        let id = client_id(id)?;
        self.store()
            .delete_client(&id)
            .await
            .map_err(store_error(format!("client {id}")))?;
        self.audit(action::CLIENT_REMOVED, id.as_str(), json!({}))
            .await;
        Ok(())
    }

    /// Creates a user. The password, when given, must pass the password rules.
    pub async fn add_user(&self, new: AddUser) -> Result<User, AdminError> {
        let AddUser {
            email: address,
            name,
            roles,
            password,
        } = new;
        let email = email(&address)?;
        let roles = normalise_roles(roles).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let password_hash = match password {
            Some(password) => {
                check_new_password(&password)?;
                Some(self.hashing.hash(password).await)
            }
            None => None,
        };
        let user = User::new(email, name, roles, password_hash, self.clock.now())
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.store()
            .create_user(&user)
            .await
            .map_err(store_error(format!("user {}", user.email)))?;
        let detail = json!({ "roles": user.roles, "password": user.password_hash.is_some() });
        self.audit(action::USER_ADDED, &user.id.to_string(), detail)
            .await;
        Ok(user)
    }

    async fn update_user(
        &self,
        email_address: &str,
        change: impl FnOnce(&mut User),
    ) -> Result<User, AdminError> {
        let mut user = find_user(self.store(), email_address).await?;
        change(&mut user);
        user.updated_at = self.clock.now();
        self.store()
            .update_user(&user)
            .await
            .map_err(store_error(format!("user {}", user.email)))?;
        Ok(user)
    }

    /// Records a revocation of `target` made now by this operator, and wakes the server it runs
    /// in, if any.
    pub async fn revoke(
        &self,
        target: RevocationTarget,
        reason: RevocationReason,
    ) -> Result<Option<RevocationOutcome>, AdminError> {
        let revocation = Revocation::new(
            target,
            self.clock.now(),
            self.settings.lifetimes.access_token,
            reason,
            &self.actor,
        );
        crate::revocations::record(self.store(), self.signals.as_ref(), &revocation)
            .await
            .map_err(AdminError::Store)
    }

    /// Revokes every token of `user` issued until now and ends the user's sessions.
    async fn revoke_user(
        &self,
        user: &UserId,
        reason: RevocationReason,
    ) -> Result<RevocationOutcome, AdminError> {
        let target = RevocationTarget::User {
            user_id: user.clone(),
        };
        self.revoke(target, reason)
            .await?
            .ok_or_else(|| AdminError::Invalid("a user revocation is never a repeat".into()))
    }

    /// "Log out everywhere": revokes every token of the user issued until now, ends every
    /// session of the user, and notifies the clients that took part in them.
    pub async fn revoke_user_tokens(
        &self,
        email_address: &str,
    ) -> Result<RevocationOutcome, AdminError> {
        let user = find_user(self.store(), email_address).await?;
        self.revoke_user(&user.id, RevocationReason::AdminRevoke)
            .await
    }

    /// Disables or enables a user. Disabling also revokes every token of the user and ends
    /// their sessions (re-enabling brings none of them back).
    pub async fn set_user_status(
        &self,
        email_address: &str,
        status: UserStatus,
    ) -> Result<User, AdminError> {
        let disabled = status == UserStatus::Disabled;
        let user = self
            .update_user(email_address, |u| u.is_disabled = disabled)
            .await?;
        if disabled {
            self.revoke_user(&user.id, RevocationReason::AccountDisabled)
                .await?;
        } else {
            self.audit(action::USER_ENABLED, &user.id.to_string(), json!({}))
                .await;
        }
        Ok(user)
    }

    /// Replaces a user's roles. When they change, the user's access tokens issued until now are
    /// revoked so that the next refresh brings tokens with the new roles; sessions and refresh
    /// tokens stay.
    pub async fn set_roles(
        &self,
        email_address: &str,
        roles: Vec<String>,
    ) -> Result<User, AdminError> {
        let roles = normalise_roles(roles).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let before = find_user(self.store(), email_address).await?;
        if before.roles == roles {
            return Ok(before);
        }
        let user = self.update_user(email_address, |u| u.roles = roles).await?;
        let target = RevocationTarget::UserClaims {
            user_id: user.id.clone(),
        };
        self.revoke(target, RevocationReason::RolesChange).await?;
        Ok(user)
    }

    /// "Log out this device": ends the session `sid`, revokes its refresh tokens and every
    /// access token carrying the sid, and notifies the clients that took part in it.
    pub async fn revoke_session(&self, sid: &str) -> Result<RevocationOutcome, AdminError> {
        let sid = SessionId::from_stored(sid.to_owned());
        let not_found = || AdminError::NotFound(format!("session {sid}"));
        let session = self
            .store()
            .find_session(&sid)
            .await
            .map_err(AdminError::Store)?
            .ok_or_else(not_found)?;
        let target = RevocationTarget::Session {
            sid: session.sid,
            user_id: session.user_id,
        };
        match self.revoke(target, RevocationReason::AdminRevoke).await {
            Ok(Some(outcome)) => Ok(outcome),
            // Ended by someone else between the lookup and the revocation.
            Ok(None) | Err(AdminError::Store(StoreError::NotFound)) => Err(not_found()),
            Err(err) => Err(err),
        }
    }

    /// Sets a new password, after checking it against the password rules, and revokes every
    /// token and session of the user.
    pub async fn set_password(
        &self,
        email_address: &str,
        password: Zeroizing<String>,
    ) -> Result<User, AdminError> {
        check_new_password(&password)?;
        // Look the user up first so a typo in the email does not cost a hash.
        find_user(self.store(), email_address).await?;
        let hash = self.hashing.hash(password).await;
        let user = self
            .update_user(email_address, |u| u.password_hash = Some(hash))
            .await?;
        // Whoever knew the old password may hold sessions and tokens: they all end. (With
        // self-service password change, the session making the change will be kept.)
        self.revoke_user(&user.id, RevocationReason::PasswordChange)
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

    /// Sets whether every sign-in to client `id` needs a second factor. Sessions already
    /// signed in without one are asked for it (a step-up) at the client's next sign-in.
    pub async fn set_client_require_mfa(
        &self,
        id: &str,
        require_mfa: bool,
    ) -> Result<Client, AdminError> {
        let client_id = client_id(id)?;
        self.store()
            .update_client_require_mfa(&client_id, require_mfa)
            .await
            .map_err(store_error(format!("client {client_id}")))?;
        self.audit(
            action::CLIENT_UPDATED,
            client_id.as_str(),
            json!({ "require_mfa": require_mfa }),
        )
        .await;
        find_client(self.store(), id).await
    }

    /// Removes every second factor of a user (a lost phone), so the next sign-in needs the
    /// password alone until the user enrols again. Returns how many were removed. Sessions stay:
    /// the user is not suspected, their device is gone.
    pub async fn reset_second_factors(&self, email_address: &str) -> Result<u64, AdminError> {
        let user = find_user(self.store(), email_address).await?;
        let store = self.store();
        let totp = store
            .delete_totp_factors(&user.id)
            .await
            .map_err(AdminError::Store)?;
        let codes = store
            .delete_recovery_codes(&user.id)
            .await
            .map_err(AdminError::Store)?;
        let by_message = user.phone_number.is_some() as u64 + user.email_codes_enabled as u64;
        if by_message > 0 {
            self.update_user(email_address, |u| {
                u.phone_number = None;
                u.email_codes_enabled = false;
            })
            .await?;
        }
        // A set of recovery codes counts as one factor.
        let removed = totp + u64::from(codes > 0) + by_message;
        self.audit(
            action::MFA_RESET,
            user.id.as_str(),
            json!({ "removed": removed }),
        )
        .await;
        Ok(removed)
    }

    /// Removes the passkey `credential_id` (base64url, as `tessera user passkeys list` shows it)
    /// of a user (a lost or stolen device). Refused when it is not that user's. Audited.
    pub async fn remove_passkey(
        &self,
        email_address: &str,
        credential_id: &str,
    ) -> Result<(), AdminError> {
        use base64::Engine;
        let user = find_user(self.store(), email_address).await?;
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(credential_id.trim())
            .map_err(|_| AdminError::Invalid(format!("{credential_id:?} is not a passkey id")))?;
        let removed = self
            .store()
            .delete_passkey(&user.id, &id)
            .await
            .map_err(AdminError::Store)?;
        if !removed {
            return Err(AdminError::Invalid(format!(
                "{email_address} has no passkey {credential_id}"
            )));
        }
        self.audit(
            action::PASSKEY_REMOVED,
            user.id.as_str(),
            json!({ "passkey": credential_id.trim() }),
        )
        .await;
        Ok(())
    }

    /// Lifts the brute-force locks on a user's sign-in: the count of the address (as typed by
    /// anyone) and of second-factor codes. Counts kept per trusted browser and per network
    /// source are left alone (they are not the account's).
    pub async fn unlock_user(&self, email_address: &str) -> Result<(), AdminError> {
        let user = find_user(self.store(), email_address).await?;
        for key in [
            ThrottleKey::for_username(user.email.as_str()),
            ThrottleKey::for_second_factor(&user.id),
        ] {
            self.store()
                .clear_login_attempts(&key)
                .await
                .map_err(AdminError::Store)?;
        }
        self.audit(action::USER_UNLOCKED, user.id.as_str(), json!({}))
            .await;
        Ok(())
    }

    /// Removes a user. The user's tokens are revoked first (the feed tells resource servers,
    /// and the clients of their sessions are notified); should the removal then fail, the user
    /// stays, with nothing valid.
    pub async fn remove_user(&self, email_address: &str) -> Result<(), AdminError> {
        let user = find_user(self.store(), email_address).await?;
        self.revoke_user(&user.id, RevocationReason::AccountRemoved)
            .await?;
        self.store()
            .delete_user(&user.id)
            .await
            .map_err(store_error(format!("user {}", user.email)))?;
        self.audit(action::USER_REMOVED, &user.id.to_string(), json!({}))
            .await;
        Ok(())
    }

    /// Rotates the signing key of each algorithm of the request (every signing algorithm when
    /// it names none); returns the algorithms with their new kids.
    ///
    /// With `revoke_all` (a suspected key compromise) the old keys are retired at once instead
    /// of staying published until their tokens expire, and a global revocation takes back every
    /// token issued until now, refresh tokens included; browser sessions stay, so users get new
    /// tokens from the new keys without signing in again.
    pub async fn rotate_keys(
        &self,
        request: RotateKeys,
    ) -> Result<Vec<(Algorithm, String)>, AdminError> {
        let ring = self.keys.as_ref().ok_or_else(|| {
            AdminError::Invalid("this operator has no key-encryption key to seal keys with".into())
        })?;
        let algs = if request.algs.is_empty() {
            self.settings.signing_algs.clone()
        } else {
            request.algs
        };
        let lifetimes = self.settings.lifetimes;
        // Retiring at once means publishing the old key for no token lifetime and no grace.
        let (publish_for, grace) = if request.revoke_all {
            let none = TokenLifetimes {
                access_token: Duration::ZERO,
                id_token: Duration::ZERO,
            };
            (none, Duration::ZERO)
        } else {
            (lifetimes, self.settings.key_retirement_grace)
        };
        let mut rotated = Vec::with_capacity(algs.len());
        for alg in algs {
            let kid = keys::rotate(
                self.store(),
                ring.kek(),
                alg,
                &publish_for,
                grace,
                self.clock.as_ref(),
            )
            .await?;
            rotated.push((alg, kid));
        }
        let kids: Vec<&str> = rotated.iter().map(|(_, kid)| kid.as_str()).collect();
        let detail = json!({ "kids": kids, "revoke_all": request.revoke_all });
        self.audit(action::KEYS_ROTATED, "*", detail).await;
        if request.revoke_all {
            self.revoke(RevocationTarget::Global, RevocationReason::KeyRotation)
                .await?;
        }
        if self.signals.is_some() {
            // Inside a server: sign with the new keys from the next request on, rather than
            // from the next periodic refresh.
            ring.reload(self.store(), self.clock.now()).await?;
        }
        Ok(rotated)
    }
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
pub async fn list_keys(
    store: &dyn KeyStore,
    clock: &dyn Clock,
) -> Result<Vec<KeyInfo>, AdminError> {
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
