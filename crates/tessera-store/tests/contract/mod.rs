//! The store contract: behaviour every backend must show.
//!
//! Each function takes a fresh, empty store, is self-contained and panics on a broken rule.
//! A backend's test file declares `mod contract;` and calls [`contract_suite!`] with an async
//! factory returning `(guard, Arc<dyn ProbedStore>)`; the guard (a temp dir, a scratch schema, …) is
//! kept alive for the test. Adding a function here means adding its name to the list in
//! [`contract_suite!`], which every backend then runs.
//!
//! The sign-in aggregates (sessions, codes, refresh tokens, consents, login requests) and the
//! revoked access tokens have their tests in one submodule each, re-exported here so the macro
//! finds every function at `contract::NAME`; their fixtures are in [`sign_in`].

use std::future::Future;
use std::sync::Arc;
use tessera_core::client::ClientSecret;
use tessera_core::{
    Client, ClientId, Email, NewClient, PasswordHash, PasswordHasher, SigningKeyRecord, User,
    UserId,
};
use tessera_store::{ProbedStore, StoreError};
use time::OffsetDateTime;

mod audit;
mod backchannel;
mod cascades;
mod codes;
mod consents;
mod login_requests;
mod login_throttles;
mod mail;
mod passkeys;
mod races;
mod recovery_codes;
mod refresh_tokens;
mod revocation_differential;
mod revocations;
mod seed;
mod sessions;
mod sign_in;
mod totp_factors;

pub use audit::*;
pub use backchannel::*;
pub use cascades::*;
pub use codes::*;
pub use consents::*;
pub use login_requests::*;
pub use login_throttles::*;
pub use mail::*;
pub use passkeys::*;
pub use races::*;
pub use recovery_codes::*;
pub use refresh_tokens::*;
pub use revocation_differential::*;
pub use revocations::*;
pub use seed::*;
pub use sessions::*;
pub use totp_factors::*;

/// Generates one `#[tokio::test]` per contract function, each on a store from `$fresh`, an
/// async fn (or closure returning a future) yielding `(guard, Arc<dyn ProbedStore>)`.
///
/// Most functions take `&dyn ProbedStore`. The concurrency tests (listed under `@shared`) take the
/// `Arc<dyn ProbedStore>` itself, to hand it to spawned tasks, and run on a multi-threaded runtime so
/// the racing calls really overlap.
macro_rules! contract_suite {
    ($fresh:expr) => {
        $crate::contract::contract_suite!(@tests $fresh;
            clients_round_trip,
            clients_missing_is_none,
            clients_list_in_id_order,
            clients_duplicate_id_conflicts,
            clients_delete,
            clients_require_mfa_changes_alone,
            users_round_trip,
            users_find_by_email,
            users_duplicate_email_or_id_conflicts,
            users_list_in_email_order,
            users_update_replaces_mutable_fields,
            users_update_to_taken_email_conflicts,
            users_update_missing_is_not_found,
            users_delete,
            keys_round_trip_and_order,
            keys_duplicate_kid_conflicts,
            keys_rotate_only_same_alg_active,
            keys_rotate_is_atomic,
            keys_emergency_rotation_expires_every_published_key_of_the_alg,
            keys_delete_expired_boundary,
            ping_and_backend_name,
            sessions_round_trip,
            sessions_duplicate_sid_or_secret_conflicts,
            sessions_need_an_existing_user,
            sessions_reauthenticate_replaces_secret_and_authentication,
            sessions_record_seen_moves_forward_only,
            sessions_reauthenticate_missing_or_clashing,
            sessions_delete_keeps_tokens_bound_to_the_sid,
            sessions_delete_expired_boundary,
            sessions_list_user_sessions_newest_first_with_clients,
            codes_round_trip_through_redemption,
            codes_redeem_first_then_replayed,
            codes_duplicate_hash_conflicts,
            codes_need_an_existing_user_and_client,
            codes_delete_expired_boundary,
            refresh_round_trip,
            refresh_duplicate_hash_conflicts,
            refresh_need_an_existing_user_and_client,
            refresh_rotate_then_reuse_revokes_the_family,
            refresh_revoked_or_unknown_is_invalid,
            refresh_expired_is_invalid,
            refresh_rotate_with_clashing_successor_changes_nothing,
            refresh_revoke_family_counts_and_isolates,
            refresh_delete_expired_boundary,
            refresh_family_revoked_before_its_first_token_stays_revoked,
            refresh_revoking_a_family_records_only_that_family,
            refresh_family_revocations_delete_boundary,
            refresh_revoking_a_grant_revokes_its_access_tokens,
            revocations_revoke_until_expiry_boundary,
            revocations_revoke_again_changes_nothing,
            revocations_delete_expired_boundary,
            revocations_session_entry_ends_the_session_and_its_tokens,
            revocations_session_entry_for_an_unknown_sid_is_not_found,
            revocations_session_entry_makes_later_refresh_tokens_born_revoked,
            revocations_user_entry_ends_everything_issued_before,
            revocations_claims_entry_covers_only_access_tokens,
            revocations_global_entry_covers_every_older_token,
            revocations_latest_not_before_takes_the_newest_live_entry,
            revocations_feed_pages_in_cursor_order,
            revocations_snapshot_holds_only_live_entries,
            revocations_snapshot_pages_hold_every_live_entry_once,
            revocations_feed_readers_behind_a_sweep_resync,
            revocations_state_stays_bounded,
            revocations_queries_agree_with_covers,
            audit_each_revocation_appends_one_record,
            audit_append_and_read_back,
            backchannel_session_revocation_queues_one_delivery_per_client,
            backchannel_claim_lease_retry_and_finish,
            backchannel_claims_are_limited_and_go_with_the_client,
            backchannel_user_revocation_notifies_every_session_and_client,
            consents_round_trip_and_upsert,
            consents_need_an_existing_user_and_client,
            login_requests_round_trip,
            login_requests_keep_stage_user_and_proofs,
            login_requests_duplicate_id_conflicts,
            login_requests_need_an_existing_client,
            login_requests_take_once,
            login_requests_delete_expired_boundary,
            login_throttles_count_lock_and_stay_per_key,
            login_throttles_clear_forgets_one_key,
            login_throttles_delete_forgotten_boundary,
            login_throttles_source_bucket_counts_failures_and_drains,
            seed_creates_every_user_with_session_and_live_token,
            seed_is_all_or_nothing,
            seed_tokens_a_revocation_covers_are_born_revoked,
            deleting_a_user_cascades,
            deleting_a_client_cascades,
            totp_enrol_then_confirm,
            totp_steps_are_used_once_in_order,
            totp_new_enrolments_replace_only_when_confirmed,
            totp_factors_need_and_follow_their_user,
            totp_stale_enrolments_and_deletion,
            recovery_codes_are_used_once_and_replaced_as_a_set,
            recovery_codes_need_their_user,
            email_codes_are_used_once_within_their_tries_and_lifetime,
            mail_outbox_claims_leases_retries_and_finishes,
            outbox_carries_sms_and_users_keep_their_number,
            password_resets_are_used_once_and_replaced,
            passkeys_round_trip,
            passkeys_duplicate_credential_id_conflicts,
            passkeys_list_per_user_oldest_first_and_delete_only_own,
            passkeys_record_use_moves_only_from_the_stored_count,
            passkey_challenges_are_taken_once,
            passkey_challenges_put_replaces_the_older,
            passkey_challenges_expired_take_is_none_and_deletes,
            passkey_challenges_purposes_and_bindings_are_independent,
            passkey_challenges_need_an_existing_user,
            passkey_challenges_delete_expired_boundary,
            passkeys_and_challenges_follow_their_user,
        );
        $crate::contract::contract_suite!(@shared $fresh;
            codes_concurrent_redemptions_have_one_winner,
            refresh_concurrent_rotations_have_one_winner,
            login_requests_concurrent_takers_have_one_winner,
            revocations_concurrent_repeats_have_one_winner,
            revocations_feed_followers_miss_no_entry_under_concurrent_writers,
            audit_followers_miss_no_record_under_concurrent_appends,
            refresh_family_revocation_racing_its_first_token_ends_revoked,
            revocations_session_entry_racing_new_refresh_tokens_leaves_none_live,
            keys_concurrent_rotations_leave_one_active_key,
            backchannel_concurrent_claims_never_share_a_delivery,
            codes_issued_while_their_session_is_revoked_are_stored,
            login_throttles_concurrent_attempts_admit_exactly_the_free_ones,
            totp_concurrent_uses_of_one_step_have_one_winner,
            recovery_codes_concurrent_uses_have_one_winner,
            email_codes_concurrent_checks_have_one_winner,
            mail_outbox_concurrent_claims_never_share_a_message,
            passkeys_concurrent_uses_of_one_count_have_one_winner,
            passkey_challenges_concurrent_takes_have_one_winner,
        );
    };
    (@tests $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, store) = ($fresh)().await;
                $crate::contract::$name(&*store).await;
            }
        )*
    };
    (@shared $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = ($fresh)().await;
                $crate::contract::$name(store).await;
            }
        )*
    };
}
pub(crate) use contract_suite;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A whole-second instant, `secs` after a fixed base.
fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A confidential client with several redirect URIs, scopes and grant types.
fn confidential(id: &str) -> (Client, ClientSecret) {
    let (client, secret) = Client::register(
        NewClient {
            id: id.into(),
            name: Some(format!("App {id} — “quoted” 'name' 👋")),
            redirect_uris: strings(&[
                "https://app.example.com/cb",
                "http://127.0.0.1:8080/cb?x=1&y=%20",
                "com.example.app:/oauth2redirect",
            ]),
            post_logout_redirect_uris: strings(&[
                "https://app.example.com/bye",
                "https://app.example.com/",
            ]),
            backchannel_logout_uri: Some("https://app.example.com/backchannel?x=1".into()),
            is_public: false,
            grant_types: strings(&["refresh_token", "client_credentials", "authorization_code"]),
            scopes: strings(&["openid", "profile", "api:write", "email"]),
            is_first_party: true,
            is_resource_server: true,
            allowed_origins: Vec::new(),
            require_pkce: true,
            require_mfa: true,
        },
        t(0),
    )
    .unwrap();
    (client, secret.expect("confidential clients get a secret"))
}

/// A public client: no secret, no post-logout URIs, no scopes.
fn public(id: &str) -> Client {
    let (client, secret) = Client::register(
        NewClient {
            id: id.into(),
            redirect_uris: strings(&["http://localhost:3000/cb"]),
            is_public: true,
            allowed_origins: strings(&["http://localhost:3000", "https://spa.example.com"]),
            ..Default::default()
        },
        t(5),
    )
    .unwrap();
    assert!(secret.is_none());
    client
}

fn fake_hash(tag: &str) -> PasswordHash {
    PasswordHash::from_stored(format!(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${tag}ZmFrZWhhc2g"
    ))
}

/// An enabled user with a name, two roles and a (fake) password hash.
fn user(email: &str) -> User {
    User::new(
        Email::parse(email).unwrap(),
        Some("Ada O'Brien-Lovelace 👩‍💻".into()),
        strings(&["ops", "admin"]),
        Some(fake_hash("a")),
        t(0),
    )
    .unwrap()
}

fn key(kid: &str, alg: &str, created: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: alg.into(),
        sealed_private_key: format!("sealed:{kid}").into_bytes(),
        created_at: t(created),
        rotated_at: None,
        expires_at: None,
    }
}

fn retired(mut key: SigningKeyRecord, rotated: i64, expires: i64) -> SigningKeyRecord {
    key.rotated_at = Some(t(rotated));
    key.expires_at = Some(t(expires));
    key
}

fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

fn kids(keys: &[SigningKeyRecord]) -> Vec<&str> {
    keys.iter().map(|k| k.kid.as_str()).collect()
}

/// Runs `n` calls of `op` (given the store and the call's index) as concurrent tasks, released
/// together by a barrier, and returns their results in completion order.
async fn race<T, F, Fut>(store: &Arc<dyn ProbedStore>, n: usize, op: F) -> Vec<T>
where
    F: Fn(Arc<dyn ProbedStore>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        // A future does nothing until polled, so every call starts after the barrier.
        let call = op(store.clone(), i);
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            call.await
        });
    }
    let mut results = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        results.push(done.expect("a racing task panicked"));
    }
    results
}

// ---------------------------------------------------------------------------------------------
// Clients

/// Confidential and public clients come back exactly as stored, secret hash included.
pub async fn clients_round_trip(store: &dyn ProbedStore) {
    let (conf, secret) = confidential("conf-app");
    let publ = public("spa");
    assert_eq!(conf.redirect_uris.len(), 3);
    assert_eq!(conf.grant_types.len(), 3);
    store.create_client(&conf).await.unwrap();
    store.create_client(&publ).await.unwrap();

    let found = store.find_client(&conf.id).await.unwrap().unwrap();
    assert_eq!(found, conf);
    assert!(found.verify_secret(secret.expose()));
    assert!(!found.is_public());

    let found = store.find_client(&publ.id).await.unwrap().unwrap();
    assert_eq!(found, publ);
    assert!(found.is_public() && found.scopes.is_empty());
    assert!(found.post_logout_redirect_uris.is_empty());
}

/// Looking up an unknown client is `Ok(None)`, not an error.
pub async fn clients_missing_is_none(store: &dyn ProbedStore) {
    assert_eq!(store.find_client(&client_id("nope")).await.unwrap(), None);
    store.create_client(&public("other")).await.unwrap();
    assert_eq!(store.find_client(&client_id("nope")).await.unwrap(), None);
}

/// Listing returns every client ordered by id.
pub async fn clients_list_in_id_order(store: &dyn ProbedStore) {
    assert!(store.list_clients().await.unwrap().is_empty());
    let (b, _) = confidential("b-app");
    let c = public("c-app");
    let a = public("a-app");
    let upper = public("Z-app"); // byte-wise order puts upper case first
    for client in [&b, &c, &a, &upper] {
        store.create_client(client).await.unwrap();
    }
    assert_eq!(store.list_clients().await.unwrap(), vec![upper, a, b, c]);
}

/// A second client with an existing id is a conflict and leaves the first untouched.
pub async fn clients_duplicate_id_conflicts(store: &dyn ProbedStore) {
    let (first, _) = confidential("dup");
    store.create_client(&first).await.unwrap();
    let mut second = public("dup");
    second.name = "impostor".into();
    let err = store.create_client(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_client(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.list_clients().await.unwrap(), vec![first]);
}

/// Deleting removes exactly one client; deleting a missing one is `NotFound`.
pub async fn clients_delete(store: &dyn ProbedStore) {
    let keep = public("keep");
    let (gone, _) = confidential("gone");
    store.create_client(&keep).await.unwrap();
    store.create_client(&gone).await.unwrap();

    store.delete_client(&gone.id).await.unwrap();
    assert_eq!(store.find_client(&gone.id).await.unwrap(), None);
    assert_eq!(store.list_clients().await.unwrap(), vec![keep]);

    let err = store.delete_client(&gone.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store.delete_client(&client_id("never")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

/// The MFA requirement of a client changes alone: everything else stays as registered, other
/// clients are untouched, and an unknown client is `NotFound`.
pub async fn clients_require_mfa_changes_alone(store: &dyn ProbedStore) {
    let (web, _) = confidential("web");
    let spa = public("spa");
    store.create_client(&web).await.unwrap();
    store.create_client(&spa).await.unwrap();
    assert!(web.require_mfa && !spa.require_mfa);

    store
        .update_client_require_mfa(&web.id, false)
        .await
        .unwrap();
    store
        .update_client_require_mfa(&spa.id, true)
        .await
        .unwrap();
    let web_after = store.find_client(&web.id).await.unwrap().unwrap();
    let spa_after = store.find_client(&spa.id).await.unwrap().unwrap();
    assert_eq!(
        web_after,
        Client {
            require_mfa: false,
            ..web
        }
    );
    assert_eq!(
        spa_after,
        Client {
            require_mfa: true,
            ..spa
        }
    );

    let err = store
        .update_client_require_mfa(&client_id("never"), true)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Users

/// Users come back exactly as stored: roles in order, real password hash, disabled flag,
/// optional fields absent.
pub async fn users_round_trip(store: &dyn ProbedStore) {
    let hasher = PasswordHasher::owasp();
    let mut ada = User::new(
        Email::parse("  Ada@Example.COM ").unwrap(),
        Some("Ada \"the\" Countess; DROP TABLE users; --".into()),
        strings(&["z-role", "admin", "ops:read", "admin"]),
        Some(hasher.hash("correct horse battery staple")),
        t(0),
    )
    .unwrap();
    ada.is_disabled = true;
    ada.updated_at = t(30);
    let bare = User::new(
        Email::parse("bare@example.com").unwrap(),
        None,
        vec![],
        None,
        t(7),
    )
    .unwrap();
    store.create_user(&ada).await.unwrap();
    store.create_user(&bare).await.unwrap();

    let found = store.find_user(&ada.id).await.unwrap().unwrap();
    assert_eq!(found, ada);
    assert_eq!(found.roles, ["admin", "ops:read", "z-role"]);
    assert!(found.is_disabled);
    assert!(hasher.verify(
        "correct horse battery staple",
        found.password_hash.as_ref().unwrap()
    ));

    let found = store.find_user(&bare.id).await.unwrap().unwrap();
    assert_eq!(found, bare);
    assert!(found.name.is_none() && found.password_hash.is_none() && found.roles.is_empty());

    assert_eq!(
        store
            .find_user(&UserId::from_stored("missing".into()))
            .await
            .unwrap(),
        None
    );
}

/// Lookup by email matches the normalised address exactly.
pub async fn users_find_by_email(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();

    let email = Email::parse("ADA@example.com ").unwrap();
    assert_eq!(store.find_user_by_email(&email).await.unwrap(), Some(ada));
    assert_eq!(
        store.find_user_by_email(&bob.email).await.unwrap(),
        Some(bob)
    );
    let nobody = Email::parse("carol@example.com").unwrap();
    assert_eq!(store.find_user_by_email(&nobody).await.unwrap(), None);
}

/// A duplicate email or a duplicate id is a conflict and stores nothing.
pub async fn users_duplicate_email_or_id_conflicts(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();

    let same_email = user("ada@example.com");
    assert_ne!(same_email.id, ada.id);
    let err = store.create_user(&same_email).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_user(&same_email.id).await.unwrap(), None);

    let mut same_id = user("other@example.com");
    same_id.id = ada.id.clone();
    let err = store.create_user(&same_id).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_user_by_email(&same_id.email).await.unwrap(),
        None
    );

    assert_eq!(store.list_users().await.unwrap(), vec![ada]);
}

/// Listing returns every user ordered by email.
pub async fn users_list_in_email_order(store: &dyn ProbedStore) {
    assert!(store.list_users().await.unwrap().is_empty());
    let c = user("carol@example.com");
    let a = user("ada@example.com");
    let b = user("bob@example.org");
    let a2 = user("ada.b@example.com");
    for u in [&c, &a, &b, &a2] {
        store.create_user(u).await.unwrap();
    }
    assert_eq!(store.list_users().await.unwrap(), vec![a2, a, b, c]);
}

/// An update replaces every mutable field, can clear optional ones, and never touches
/// `created_at`.
pub async fn users_update_replaces_mutable_fields(store: &dyn ProbedStore) {
    let original = user("ada@example.com");
    let other = user("bob@example.com");
    store.create_user(&original).await.unwrap();
    store.create_user(&other).await.unwrap();

    let mut changed = original.clone();
    changed.email = Email::parse("ada.lovelace@example.org").unwrap();
    changed.name = Some("Augusta Ada King".into());
    changed.roles = strings(&["auditor"]);
    changed.password_hash = Some(fake_hash("b"));
    changed.is_disabled = true;
    changed.updated_at = t(100);
    changed.created_at = t(-500); // immutable: must be ignored
    store.update_user(&changed).await.unwrap();

    let mut expected = changed.clone();
    expected.created_at = original.created_at;
    assert_eq!(
        store.find_user(&original.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.find_user_by_email(&original.email).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_user_by_email(&changed.email).await.unwrap(),
        Some(expected.clone())
    );

    // Clearing the optional fields and re-enabling.
    let mut cleared = expected.clone();
    cleared.name = None;
    cleared.roles = vec![];
    cleared.password_hash = None;
    cleared.is_disabled = false;
    cleared.updated_at = t(200);
    store.update_user(&cleared).await.unwrap();
    assert_eq!(store.find_user(&original.id).await.unwrap(), Some(cleared));

    // Keeping one's own email is not a conflict.
    let mut same_email = store.find_user(&original.id).await.unwrap().unwrap();
    same_email.updated_at = t(300);
    store.update_user(&same_email).await.unwrap();
    assert_eq!(
        store.find_user(&original.id).await.unwrap(),
        Some(same_email)
    );

    // The other user is untouched.
    assert_eq!(store.find_user(&other.id).await.unwrap(), Some(other));
}

/// Taking another user's email is a conflict, and the failed update changes nothing.
pub async fn users_update_to_taken_email_conflicts(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();

    let mut grab = ada.clone();
    grab.email = bob.email.clone();
    grab.name = Some("changed".into());
    grab.is_disabled = true;
    grab.updated_at = t(100);
    let err = store.update_user(&grab).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert_eq!(store.find_user(&ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(store.find_user(&bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.list_users().await.unwrap(), vec![ada, bob]);
}

/// Updating a user that does not exist is `NotFound` and creates nothing.
pub async fn users_update_missing_is_not_found(store: &dyn ProbedStore) {
    let ghost = user("ghost@example.com");
    let err = store.update_user(&ghost).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(store.list_users().await.unwrap().is_empty());
}

/// Deleting removes exactly one user and frees the email; deleting again is `NotFound`.
pub async fn users_delete(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();

    store.delete_user(&ada.id).await.unwrap();
    assert_eq!(store.find_user(&ada.id).await.unwrap(), None);
    assert_eq!(store.find_user_by_email(&ada.email).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![bob]);

    let err = store.delete_user(&ada.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // The email can be registered again by a new account.
    let again = user("ada@example.com");
    store.create_user(&again).await.unwrap();
    assert_eq!(
        store.find_user_by_email(&ada.email).await.unwrap(),
        Some(again)
    );
}

// ---------------------------------------------------------------------------------------------
// Signing keys

/// Keys come back exactly as stored (arbitrary bytes, optional timestamps), ordered by
/// `created_at` then `kid`.
pub async fn keys_round_trip_and_order(store: &dyn ProbedStore) {
    assert!(store.list_signing_keys().await.unwrap().is_empty());
    let mut b = key("b", "RS256", 10);
    b.sealed_private_key = (0..=255u8).rev().collect();
    let a = key("a", "ES256", 10);
    let z = retired(key("z", "EdDSA", 5), 6, 7);
    let c = retired(key("c", "RS256", 20), 30, 4000);
    let mut empty = key("0-empty", "RS256", 30);
    empty.sealed_private_key = vec![];
    for k in [&c, &b, &empty, &z, &a] {
        store.create_signing_key(k).await.unwrap();
    }
    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(kids(&listed), ["z", "a", "b", "c", "0-empty"]);
    assert_eq!(listed, vec![z, a, b, c, empty]);
}

/// A second key with an existing kid is a conflict and leaves the first untouched.
pub async fn keys_duplicate_kid_conflicts(store: &dyn ProbedStore) {
    let first = key("k1", "RS256", 0);
    store.create_signing_key(&first).await.unwrap();
    let mut second = key("k1", "ES256", 50);
    second.sealed_private_key = b"other".to_vec();
    let err = store.create_signing_key(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_signing_keys().await.unwrap(), vec![first]);
}

/// Rotation retires every active key of the new key's algorithm (and only those), with exactly
/// the given timestamps, and inserts the new key.
pub async fn keys_rotate_only_same_alg_active(store: &dyn ProbedStore) {
    let rs_retiring = retired(key("rs-retiring", "RS256", 0), 50, 200);
    let rs_active = key("rs-active", "RS256", 10);
    let rs_active2 = key("rs-active-2", "RS256", 11);
    let es_active = key("es-active", "ES256", 20);
    for k in [&rs_retiring, &rs_active, &rs_active2, &es_active] {
        store.create_signing_key(k).await.unwrap();
    }
    let new = key("rs-new", "RS256", 100);
    store
        .rotate_signing_key(&new, t(100), t(3700))
        .await
        .unwrap();

    let expected = vec![
        rs_retiring,                    // already retiring: untouched
        retired(rs_active, 100, 3700),  // rotated out
        retired(rs_active2, 100, 3700), // every active key of the alg
        es_active,                      // other alg: still active
        new.clone(),                    // inserted as given
    ];
    assert_eq!(store.list_signing_keys().await.unwrap(), expected);

    // Rotating the other algorithm leaves RS256 alone.
    let es_new = key("es-new", "ES256", 200);
    store
        .rotate_signing_key(&es_new, t(200), t(900))
        .await
        .unwrap();
    let listed = store.list_signing_keys().await.unwrap();
    let active: Vec<&str> = listed
        .iter()
        .filter(|k| k.rotated_at.is_none())
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(active, ["rs-new", "es-new"]);
    let es_old = listed.iter().find(|k| k.kid == "es-active").unwrap();
    assert_eq!(
        (es_old.rotated_at, es_old.expires_at),
        (Some(t(200)), Some(t(900)))
    );

    // Rotating with no active key of that alg just inserts.
    let ed = key("ed-first", "EdDSA", 300);
    store.rotate_signing_key(&ed, t(300), t(400)).await.unwrap();
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 7);
}

/// An emergency rotation (`expires_at <= now`, `keys rotate --revoke-all`) expires, at once,
/// not only the active key but every key of the algorithm still published: a key rotated out
/// minutes earlier may be the one that leaked. Other algorithms and keys already expired are
/// untouched.
pub async fn keys_emergency_rotation_expires_every_published_key_of_the_alg(
    store: &dyn ProbedStore,
) {
    let rs_gone = retired(key("rs-gone", "RS256", 0), 10, 60);
    let rs_retiring = retired(key("rs-retiring", "RS256", 20), 50, 900);
    let rs_active = key("rs-active", "RS256", 50);
    let es_retiring = retired(key("es-retiring", "ES256", 0), 40, 900);
    let es_active = key("es-active", "ES256", 40);
    for k in [&rs_gone, &rs_retiring, &rs_active, &es_retiring, &es_active] {
        store.create_signing_key(k).await.unwrap();
    }
    let new = key("rs-new", "RS256", 100);
    store
        .rotate_signing_key(&new, t(100), t(100))
        .await
        .unwrap();
    let expected = vec![
        es_retiring,                   // other alg: untouched
        es_active,                     // other alg: untouched
        rs_gone,                       // already expired: untouched
        retired(rs_retiring, 50, 100), // expires now, keeping when it was rotated out
        retired(rs_active, 100, 100),  // rotated out and expired now
        new,                           // inserted as given
    ];
    let mut listed = store.list_signing_keys().await.unwrap();
    listed.sort_by(|a, b| (&a.alg, a.created_at, &a.kid).cmp(&(&b.alg, b.created_at, &b.kid)));
    assert_eq!(listed, expected);
}

/// A rotation whose insert fails (duplicate kid) changes nothing at all.
pub async fn keys_rotate_is_atomic(store: &dyn ProbedStore) {
    let rs_active = key("rs-active", "RS256", 10);
    let es_active = key("es-active", "ES256", 20);
    store.create_signing_key(&rs_active).await.unwrap();
    store.create_signing_key(&es_active).await.unwrap();
    let before = store.list_signing_keys().await.unwrap();

    // Same kid as the very key the rotation would retire.
    let clash = key("rs-active", "RS256", 100);
    let err = store
        .rotate_signing_key(&clash, t(100), t(3700))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_signing_keys().await.unwrap(), before);

    // Same kid as a key of another algorithm.
    let clash = key("es-active", "RS256", 100);
    let err = store
        .rotate_signing_key(&clash, t(100), t(3700))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_signing_keys().await.unwrap(), before);

    // The store is still usable afterwards.
    store
        .rotate_signing_key(&key("rs-next", "RS256", 100), t(100), t(3700))
        .await
        .unwrap();
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 3);
}

/// `delete_expired_signing_keys(now)` deletes keys with `expires_at <= now`: a key expiring
/// exactly at `now` goes, one expiring a second later stays, keys without `expires_at` stay.
pub async fn keys_delete_expired_boundary(store: &dyn ProbedStore) {
    let long_gone = retired(key("long-gone", "RS256", 0), 10, 50);
    let just_gone = retired(key("just-gone", "RS256", 1), 10, 99);
    let at_now = retired(key("at-now", "ES256", 2), 10, 100);
    let next_second = retired(key("next-second", "RS256", 3), 10, 101);
    let active = key("active", "RS256", 4);
    for k in [&long_gone, &just_gone, &at_now, &next_second, &active] {
        store.create_signing_key(k).await.unwrap();
    }

    assert_eq!(store.delete_expired_signing_keys(t(100)).await.unwrap(), 3);
    assert_eq!(
        store.list_signing_keys().await.unwrap(),
        vec![next_second.clone(), active.clone()]
    );
    assert_eq!(store.delete_expired_signing_keys(t(100)).await.unwrap(), 0);
    assert_eq!(store.delete_expired_signing_keys(t(101)).await.unwrap(), 1);
    assert_eq!(store.list_signing_keys().await.unwrap(), vec![active]);
    assert_eq!(
        store
            .delete_expired_signing_keys(t(1_000_000))
            .await
            .unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Health

/// `ping` succeeds on a healthy store and the backend names itself.
pub async fn ping_and_backend_name(store: &dyn ProbedStore) {
    store.ping().await.unwrap();
    store.create_client(&public("after-ping")).await.unwrap();
    store.ping().await.unwrap();
    let name = store.backend_name();
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()),
        "{name}"
    );
    assert!(!format!("{store:?}").is_empty());
}
