//! Passkeys: registered credentials (one registration per credential ID, the counter's
//! compare-and-swap) and their ceremonies' single-use challenges.

use super::{race, t, user};
use std::sync::Arc;
use tessera_core::webauthn::Challenge;
use tessera_core::{ChallengePurpose, Passkey, PasskeyChallenge, User, UserId};
use tessera_store::{ProbedStore, StoreError};

/// A passkey of `owner` with credential ID `id`, registered `at` seconds after the base, never
/// used, with no transports.
fn passkey(id: &[u8], owner: &User, at: i64) -> Passkey {
    Passkey {
        credential_id: id.to_vec(),
        user_id: owner.id.clone(),
        name: format!("key {:02x?}", &id[..id.len().min(4)]),
        public_key: [&b"\xa5\x01\x02\x03\x26"[..], id].concat(),
        algorithm: -7,
        sign_count: 0,
        backup_eligible: false,
        backed_up: false,
        transports: Vec::new(),
        aaguid: [0; 16],
        created_at: t(at),
        last_used_at: None,
    }
}

async fn stored_user(store: &dyn ProbedStore, email: &str) -> User {
    let user = user(email);
    store.create_user(&user).await.unwrap();
    user
}

/// A challenge for `purpose` bound to `bound_to`, issued `at` seconds after the base.
fn challenge(
    purpose: ChallengePurpose,
    bound_to: &str,
    user: Option<&UserId>,
    at: i64,
) -> PasskeyChallenge {
    PasskeyChallenge::issue(
        purpose,
        bound_to.into(),
        user.cloned(),
        &Challenge::new(),
        t(at),
    )
}

use ChallengePurpose::{Authentication, Registration};

// ---------------------------------------------------------------------------------------------
// Passkeys

/// Every field comes back as stored: binary values with every byte value, a 1023-byte
/// credential ID (the largest WebAuthn allows), a negative algorithm id, the counter's top
/// value, both flags either way, transports present and absent, a use recorded or not. An
/// unknown credential ID is `None`, and one byte more than the limit is refused.
pub async fn passkeys_round_trip(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let longest: Vec<u8> = (0..1023u32).map(|i| (i % 256) as u8).collect();
    let mut big = passkey(&longest, &ada, 10);
    big.name = "Ada’s “YubiKey” 🔑".into();
    big.public_key = (0..=255u8).rev().collect();
    big.algorithm = -257;
    big.sign_count = u32::MAX;
    big.backup_eligible = true;
    big.backed_up = false;
    big.aaguid = *b"\x00\xff\x01\xfe\x02\xfd\x03\xfc\x04\xfb\x05\xfa\x06\xf9\x07\xf8";
    let mut synced = passkey(b"\0", &ada, 20);
    synced.algorithm = -8;
    synced.backup_eligible = true;
    synced.backed_up = true;
    synced.transports = vec!["internal".into(), "hybrid".into(), "usb".into()];
    synced.last_used_at = Some(t(25));
    for p in [&big, &synced] {
        store.create_passkey(p).await.unwrap();
    }

    assert_eq!(
        store.find_passkey(&longest).await.unwrap().as_ref(),
        Some(&big)
    );
    assert_eq!(
        store.find_passkey(b"\0").await.unwrap().as_ref(),
        Some(&synced)
    );
    assert_eq!(store.find_passkey(&longest[..1022]).await.unwrap(), None);
    assert_eq!(store.find_passkey(b"\0\0").await.unwrap(), None);
    assert_eq!(
        store.list_passkeys(&ada.id).await.unwrap(),
        vec![big, synced]
    );

    let too_long = passkey(&[7; 1024], &ada, 30);
    assert!(store.create_passkey(&too_long).await.is_err());
    let empty = passkey(&[], &ada, 30);
    assert!(store.create_passkey(&empty).await.is_err());
    assert_eq!(store.list_passkeys(&ada.id).await.unwrap().len(), 2);
}

/// A credential ID is registered once across all users: again for the same user or for
/// another is a conflict and changes nothing. A passkey needs an existing user.
pub async fn passkeys_duplicate_credential_id_conflicts(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let bob = stored_user(store, "bob@example.com").await;
    let original = passkey(b"cred-1", &ada, 10);
    store.create_passkey(&original).await.unwrap();

    let mut again = passkey(b"cred-1", &ada, 20);
    again.name = "again".into();
    again.public_key = b"another key".to_vec();
    let mut bobs = again.clone();
    bobs.user_id = bob.id.clone();
    for clash in [&again, &bobs] {
        let err = store.create_passkey(clash).await.unwrap_err();
        let StoreError::Conflict(msg) = &err else {
            panic!("{err:?}");
        };
        assert!(msg.contains("credential ID"), "{msg}");
    }
    assert_eq!(
        store.find_passkey(b"cred-1").await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(store.list_passkeys(&ada.id).await.unwrap(), vec![original]);
    assert!(store.list_passkeys(&bob.id).await.unwrap().is_empty());

    let ghost = user("ghost@example.com");
    assert!(matches!(
        store.create_passkey(&passkey(b"cred-2", &ghost, 10)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.find_passkey(b"cred-2").await.unwrap(), None);
    // A different credential ID for bob is fine.
    store
        .create_passkey(&passkey(b"cred-2", &bob, 10))
        .await
        .unwrap();
}

/// Listing is per user, oldest first, ties broken by credential ID byte-wise. Deleting takes
/// only the user's own passkey: another user's credential ID deletes nothing.
pub async fn passkeys_list_per_user_oldest_first_and_delete_only_own(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let bob = stored_user(store, "bob@example.com").await;
    assert!(store.list_passkeys(&ada.id).await.unwrap().is_empty());
    // Created out of order; two at the same second, whose IDs order byte-wise ("\xff" after
    // "a", though a signed-byte or text comparison could put it first).
    let newest = passkey(b"a-newest", &ada, 30);
    let tie_high = passkey(b"\xff-tie", &ada, 20);
    let tie_low = passkey(b"a-tie", &ada, 20);
    let oldest = passkey(b"z-oldest", &ada, 10);
    let bobs = passkey(b"b-bobs", &bob, 15);
    for p in [&newest, &tie_high, &bobs, &tie_low, &oldest] {
        store.create_passkey(p).await.unwrap();
    }
    assert_eq!(
        store.list_passkeys(&ada.id).await.unwrap(),
        vec![
            oldest.clone(),
            tie_low.clone(),
            tie_high.clone(),
            newest.clone()
        ]
    );
    assert_eq!(
        store.list_passkeys(&bob.id).await.unwrap(),
        vec![bobs.clone()]
    );

    assert!(!store
        .delete_passkey(&ada.id, &bobs.credential_id)
        .await
        .unwrap());
    assert!(!store
        .delete_passkey(&bob.id, &oldest.credential_id)
        .await
        .unwrap());
    assert!(!store.delete_passkey(&ada.id, b"unknown").await.unwrap());
    assert_eq!(
        store.find_passkey(&bobs.credential_id).await.unwrap(),
        Some(bobs.clone())
    );
    assert_eq!(store.list_passkeys(&ada.id).await.unwrap().len(), 4);

    assert!(store
        .delete_passkey(&ada.id, &tie_low.credential_id)
        .await
        .unwrap());
    assert!(!store
        .delete_passkey(&ada.id, &tie_low.credential_id)
        .await
        .unwrap());
    assert_eq!(
        store.list_passkeys(&ada.id).await.unwrap(),
        vec![oldest, tie_high, newest]
    );
    assert_eq!(store.list_passkeys(&bob.id).await.unwrap(), vec![bobs]);
}

/// Recording a use is a compare-and-swap on the counter: with the stored count it moves the
/// counter, BS and the last use (and nothing else); with a stale count, or for an unknown
/// credential, it changes nothing.
pub async fn passkeys_record_use_moves_only_from_the_stored_count(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let mut key = passkey(b"counted", &ada, 10);
    key.sign_count = 5;
    key.backup_eligible = true;
    key.transports = vec!["usb".into()];
    let other = passkey(b"other", &ada, 11);
    store.create_passkey(&key).await.unwrap();
    store.create_passkey(&other).await.unwrap();

    assert!(store
        .record_passkey_use(b"counted", 5, 9, true, t(20))
        .await
        .unwrap());
    let used = Passkey {
        sign_count: 9,
        backed_up: true,
        last_used_at: Some(t(20)),
        ..key.clone()
    };
    assert_eq!(
        store.find_passkey(b"counted").await.unwrap(),
        Some(used.clone())
    );

    // The count it was verified against is stale now (5, or anything but 9).
    for stale in [5, 8, 10, 0] {
        assert!(!store
            .record_passkey_use(b"counted", stale, 12, false, t(30))
            .await
            .unwrap());
    }
    assert_eq!(
        store.find_passkey(b"counted").await.unwrap(),
        Some(used.clone()),
        "a refused use changes nothing"
    );
    assert!(!store
        .record_passkey_use(b"unknown", 0, 1, false, t(30))
        .await
        .unwrap());
    assert_eq!(store.find_passkey(b"other").await.unwrap(), Some(other));

    // The next use moves on from the new count; BS may go back to false; the top of the
    // counter's range is stored.
    assert!(store
        .record_passkey_use(b"counted", 9, u32::MAX, false, t(40))
        .await
        .unwrap());
    assert_eq!(
        store.find_passkey(b"counted").await.unwrap(),
        Some(Passkey {
            sign_count: u32::MAX,
            backed_up: false,
            last_used_at: Some(t(40)),
            ..used
        })
    );
}

/// Many requests recording a use verified against the same count at once: exactly one moves
/// the counter, and the count stored is the winner's.
pub async fn passkeys_concurrent_uses_of_one_count_have_one_winner(store: Arc<dyn ProbedStore>) {
    let ada = stored_user(&*store, "ada@example.com").await;
    let mut key = passkey(b"raced", &ada, 0);
    key.sign_count = 41;
    store.create_passkey(&key).await.unwrap();
    let results = race(&store, 8, |store, i| async move {
        let new_count = 42 + i as u32;
        let won = store
            .record_passkey_use(b"raced", 41, new_count, false, t(10))
            .await
            .unwrap();
        (won, new_count)
    })
    .await;
    let winners: Vec<u32> = results
        .iter()
        .filter(|(won, _)| *won)
        .map(|(_, count)| *count)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let stored = store.find_passkey(b"raced").await.unwrap().unwrap();
    assert_eq!(stored.sign_count, winners[0]);
}

// ---------------------------------------------------------------------------------------------
// Challenges

/// A challenge is taken once: the first take returns it as put, the second finds nothing.
/// Taking one that was never put is `None`.
pub async fn passkey_challenges_are_taken_once(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "sid-1", t(0))
            .await
            .unwrap(),
        None
    );
    let put = challenge(Registration, "sid-1", Some(&ada.id), 0);
    store.put_passkey_challenge(&put).await.unwrap();
    let anonymous = challenge(Authentication, "login-1", None, 0);
    store.put_passkey_challenge(&anonymous).await.unwrap();

    assert_eq!(
        store
            .take_passkey_challenge(Registration, "sid-1", t(1))
            .await
            .unwrap(),
        Some(put)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "sid-1", t(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-1", t(1))
            .await
            .unwrap(),
        Some(anonymous)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-1", t(1))
            .await
            .unwrap(),
        None
    );
}

/// Issuing another challenge for the same purpose and binding replaces the first, user
/// included: only the newer can be taken, once.
pub async fn passkey_challenges_put_replaces_the_older(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let older = challenge(Authentication, "login-1", Some(&ada.id), 0);
    let newer = challenge(Authentication, "login-1", None, 10);
    assert_ne!(older.challenge, newer.challenge);
    store.put_passkey_challenge(&older).await.unwrap();
    store.put_passkey_challenge(&newer).await.unwrap();
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-1", t(11))
            .await
            .unwrap(),
        Some(newer)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-1", t(11))
            .await
            .unwrap(),
        None,
        "the older challenge is gone too"
    );
}

/// A challenge is live until just before `expires_at`: taken at that instant (or later) it is
/// `None`, and deleted all the same, so a take at an earlier clock does not find it either.
pub async fn passkey_challenges_expired_take_is_none_and_deletes(store: &dyn ProbedStore) {
    let live = challenge(Authentication, "login-live", None, 0);
    let lapsed = challenge(Authentication, "login-lapsed", None, 0);
    for c in [&live, &lapsed] {
        store.put_passkey_challenge(c).await.unwrap();
    }
    let last_live_second = live.expires_at - time::Duration::seconds(1);
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-live", last_live_second)
            .await
            .unwrap(),
        Some(live)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-lapsed", lapsed.expires_at)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-lapsed", t(0))
            .await
            .unwrap(),
        None,
        "the expired challenge was deleted by the take"
    );
    assert_eq!(
        store
            .delete_expired_passkey_challenges(lapsed.expires_at)
            .await
            .unwrap(),
        0
    );
}

/// Challenges of different purposes, or bound to different things, neither replace nor take
/// one another.
pub async fn passkey_challenges_purposes_and_bindings_are_independent(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let registering = challenge(Registration, "same", Some(&ada.id), 0);
    let signing_in = challenge(Authentication, "same", None, 1);
    let elsewhere = challenge(Authentication, "other", None, 2);
    let case = challenge(Authentication, "Same", None, 3);
    for c in [&registering, &signing_in, &elsewhere, &case] {
        store.put_passkey_challenge(c).await.unwrap();
    }
    let now = t(4);
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "same", now)
            .await
            .unwrap(),
        Some(signing_in)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "same", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "other", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "same", now)
            .await
            .unwrap(),
        Some(registering)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "Same", now)
            .await
            .unwrap(),
        Some(case)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "other", now)
            .await
            .unwrap(),
        Some(elsewhere)
    );
}

/// A challenge naming a user needs that user to exist; one naming none does not.
pub async fn passkey_challenges_need_an_existing_user(store: &dyn ProbedStore) {
    let ghost = user("ghost@example.com");
    assert!(matches!(
        store
            .put_passkey_challenge(&challenge(Registration, "sid-1", Some(&ghost.id), 0))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "sid-1", t(1))
            .await
            .unwrap(),
        None
    );
    // Nor does replacing a challenge with one naming a missing user change it.
    let anonymous = challenge(Authentication, "login-1", None, 0);
    store.put_passkey_challenge(&anonymous).await.unwrap();
    assert!(matches!(
        store
            .put_passkey_challenge(&challenge(Authentication, "login-1", Some(&ghost.id), 1))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-1", t(2))
            .await
            .unwrap(),
        Some(anonymous)
    );
}

/// The sweep deletes challenges that expired at or before `now` (one expiring exactly at
/// `now` included) and keeps the rest; it counts what it deleted.
pub async fn passkey_challenges_delete_expired_boundary(store: &dyn ProbedStore) {
    let early = challenge(Authentication, "early", None, 0);
    let at_now = challenge(Registration, "at-now", None, 10);
    let later = challenge(Authentication, "later", None, 11);
    for c in [&early, &at_now, &later] {
        store.put_passkey_challenge(c).await.unwrap();
    }
    let now = at_now.expires_at;
    assert_eq!(
        store
            .delete_expired_passkey_challenges(early.expires_at - time::Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.delete_expired_passkey_challenges(now).await.unwrap(),
        2
    );
    assert_eq!(
        store.delete_expired_passkey_challenges(now).await.unwrap(),
        0
    );
    // What is left is the one still live; the swept ones are gone even to an earlier clock.
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "later", now)
            .await
            .unwrap(),
        Some(later)
    );
    for (purpose, bound_to) in [(Authentication, "early"), (Registration, "at-now")] {
        assert_eq!(
            store
                .take_passkey_challenge(purpose, bound_to, t(0))
                .await
                .unwrap(),
            None
        );
    }
}

/// Many answers racing with one challenge: exactly one takes it.
pub async fn passkey_challenges_concurrent_takes_have_one_winner(store: Arc<dyn ProbedStore>) {
    let put = challenge(Authentication, "login-raced", None, 0);
    store.put_passkey_challenge(&put).await.unwrap();
    let results = race(&store, 8, |store, _| async move {
        store
            .take_passkey_challenge(Authentication, "login-raced", t(1))
            .await
            .unwrap()
    })
    .await;
    let winners: Vec<_> = results.iter().flatten().collect();
    assert_eq!(winners, vec![&put], "{results:?}");
}

// ---------------------------------------------------------------------------------------------
// Cascades

/// Deleting a user deletes their passkeys and the challenges issued for them, and nothing of
/// anyone else's (nor the challenges that name no user).
pub async fn passkeys_and_challenges_follow_their_user(store: &dyn ProbedStore) {
    let ada = stored_user(store, "ada@example.com").await;
    let bob = stored_user(store, "bob@example.com").await;
    store
        .create_passkey(&passkey(b"ada-1", &ada, 0))
        .await
        .unwrap();
    store
        .create_passkey(&passkey(b"ada-2", &ada, 1))
        .await
        .unwrap();
    let bobs = passkey(b"bob-1", &bob, 2);
    store.create_passkey(&bobs).await.unwrap();
    let adas_registration = challenge(Registration, "sid-ada", Some(&ada.id), 0);
    let adas_reauth = challenge(Authentication, "login-ada", Some(&ada.id), 0);
    let bobs_registration = challenge(Registration, "sid-bob", Some(&bob.id), 0);
    let anonymous = challenge(Authentication, "login-anon", None, 0);
    for c in [
        &adas_registration,
        &adas_reauth,
        &bobs_registration,
        &anonymous,
    ] {
        store.put_passkey_challenge(c).await.unwrap();
    }

    store.delete_user(&ada.id).await.unwrap();
    assert!(store.list_passkeys(&ada.id).await.unwrap().is_empty());
    assert_eq!(store.find_passkey(b"ada-1").await.unwrap(), None);
    assert!(!store
        .record_passkey_use(b"ada-2", 0, 1, false, t(5))
        .await
        .unwrap());
    assert_eq!(store.list_passkeys(&bob.id).await.unwrap(), vec![bobs]);
    let now = t(5);
    for (purpose, bound_to) in [(Registration, "sid-ada"), (Authentication, "login-ada")] {
        assert_eq!(
            store
                .take_passkey_challenge(purpose, bound_to, now)
                .await
                .unwrap(),
            None,
            "{bound_to}"
        );
    }
    assert_eq!(
        store
            .take_passkey_challenge(Registration, "sid-bob", now)
            .await
            .unwrap(),
        Some(bobs_registration)
    );
    assert_eq!(
        store
            .take_passkey_challenge(Authentication, "login-anon", now)
            .await
            .unwrap(),
        Some(anonymous)
    );
}
