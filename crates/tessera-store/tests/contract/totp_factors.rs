//! TOTP authenticators: enrolment, confirmation, the one-use rule on time steps.

use super::{race, t, user};
use std::sync::Arc;
use tessera_core::{TotpFactor, User};
use tessera_store::{ProbedStore, StoreError};

/// An unconfirmed enrolment of `owner`, created `at` seconds after the base.
fn enrolment(id: &str, owner: &User, at: i64) -> TotpFactor {
    TotpFactor {
        id: id.into(),
        user_id: owner.id.clone(),
        sealed_seed: format!("sealed seed of {id}").into_bytes(),
        confirmed_at: None,
        last_used_step: None,
        created_at: t(at),
    }
}

async fn ada(store: &dyn ProbedStore) -> User {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    ada
}

/// An enrolment is found as such until its confirming code's step confirms it; it is then the
/// user's factor, carrying that step as its last used one, and cannot be confirmed twice.
pub async fn totp_enrol_then_confirm(store: &dyn ProbedStore) {
    let ada = ada(store).await;
    let waiting = enrolment("e1", &ada, 10);
    store.create_totp_enrolment(&waiting).await.unwrap();
    assert_eq!(
        store.find_totp_enrolment(&ada.id, "e1").await.unwrap(),
        Some(waiting.clone())
    );
    assert_eq!(store.find_totp_factor(&ada.id).await.unwrap(), None);
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    assert_eq!(
        store.find_totp_enrolment(&bob.id, "e1").await.unwrap(),
        None,
        "another user's enrolment is not found"
    );
    assert!(!store
        .confirm_totp_enrolment(&bob.id, "e1", 100, t(20))
        .await
        .unwrap());

    assert!(store
        .confirm_totp_enrolment(&ada.id, "e1", 100, t(20))
        .await
        .unwrap());
    let factor = store.find_totp_factor(&ada.id).await.unwrap().unwrap();
    assert_eq!(
        factor,
        TotpFactor {
            confirmed_at: Some(t(20)),
            last_used_step: Some(100),
            ..waiting
        }
    );
    assert_eq!(
        store.find_totp_enrolment(&ada.id, "e1").await.unwrap(),
        None
    );
    assert!(!store
        .confirm_totp_enrolment(&ada.id, "e1", 101, t(30))
        .await
        .unwrap());
    assert_eq!(
        store
            .find_totp_factor(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_step,
        Some(100),
        "a refused confirmation changes nothing"
    );
}

/// A step is used once: only a step later than the last used one is taken, and the
/// confirming code's step is already used.
pub async fn totp_steps_are_used_once_in_order(store: &dyn ProbedStore) {
    let ada = ada(store).await;
    store
        .create_totp_enrolment(&enrolment("f", &ada, 0))
        .await
        .unwrap();
    assert!(
        !store.use_totp_step("f", 100).await.unwrap(),
        "an unconfirmed enrolment takes no sign-in code"
    );
    assert!(store
        .confirm_totp_enrolment(&ada.id, "f", 100, t(1))
        .await
        .unwrap());
    assert!(!store.use_totp_step("f", 100).await.unwrap());
    assert!(!store.use_totp_step("f", 99).await.unwrap());
    assert!(store.use_totp_step("f", 101).await.unwrap());
    assert!(!store.use_totp_step("f", 101).await.unwrap());
    assert!(store.use_totp_step("f", 105).await.unwrap());
    assert!(!store.use_totp_step("f", 103).await.unwrap());
    assert!(!store.use_totp_step("unknown", 200).await.unwrap());
    assert_eq!(
        store
            .find_totp_factor(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_step,
        Some(105)
    );
}

/// A new enrolment replaces the one waiting, never the confirmed factor; confirming it replaces
/// the factor, and a replaced enrolment can no longer be confirmed.
pub async fn totp_new_enrolments_replace_only_when_confirmed(store: &dyn ProbedStore) {
    let ada = ada(store).await;
    store
        .create_totp_enrolment(&enrolment("old", &ada, 0))
        .await
        .unwrap();
    assert!(store
        .confirm_totp_enrolment(&ada.id, "old", 50, t(1))
        .await
        .unwrap());
    store
        .create_totp_enrolment(&enrolment("first-try", &ada, 10))
        .await
        .unwrap();
    store
        .create_totp_enrolment(&enrolment("second-try", &ada, 20))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_totp_enrolment(&ada.id, "first-try")
            .await
            .unwrap(),
        None
    );
    assert!(!store
        .confirm_totp_enrolment(&ada.id, "first-try", 60, t(21))
        .await
        .unwrap());
    assert_eq!(
        store.find_totp_factor(&ada.id).await.unwrap().unwrap().id,
        "old",
        "the factor stays until a new one is confirmed"
    );
    assert!(store.use_totp_step("old", 51).await.unwrap());

    assert!(store
        .confirm_totp_enrolment(&ada.id, "second-try", 70, t(22))
        .await
        .unwrap());
    let factor = store.find_totp_factor(&ada.id).await.unwrap().unwrap();
    assert_eq!(
        (factor.id.as_str(), factor.last_used_step),
        ("second-try", Some(70))
    );
    assert!(
        !store.use_totp_step("old", 80).await.unwrap(),
        "the replaced factor's codes no longer work"
    );
}

/// An enrolment needs an existing user; deleting the user deletes the factor.
pub async fn totp_factors_need_and_follow_their_user(store: &dyn ProbedStore) {
    let ghost = user("ghost@example.com");
    assert!(matches!(
        store
            .create_totp_enrolment(&enrolment("g", &ghost, 0))
            .await,
        Err(StoreError::NotFound)
    ));
    let ada = ada(store).await;
    store
        .create_totp_enrolment(&enrolment("a", &ada, 0))
        .await
        .unwrap();
    assert!(store
        .confirm_totp_enrolment(&ada.id, "a", 1, t(1))
        .await
        .unwrap());
    store.delete_user(&ada.id).await.unwrap();
    assert_eq!(store.find_totp_factor(&ada.id).await.unwrap(), None);
    assert!(!store.use_totp_step("a", 2).await.unwrap());
}

/// Stale enrolments go at the boundary (created at or before it); confirmed factors never do.
/// Deleting a user's factors takes both kinds and counts them.
pub async fn totp_stale_enrolments_and_deletion(store: &dyn ProbedStore) {
    let ada = ada(store).await;
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    store
        .create_totp_enrolment(&enrolment("ada-factor", &ada, 0))
        .await
        .unwrap();
    assert!(store
        .confirm_totp_enrolment(&ada.id, "ada-factor", 1, t(1))
        .await
        .unwrap());
    store
        .create_totp_enrolment(&enrolment("ada-waiting", &ada, 100))
        .await
        .unwrap();
    store
        .create_totp_enrolment(&enrolment("bob-waiting", &bob, 101))
        .await
        .unwrap();

    assert_eq!(store.delete_stale_totp_enrolments(t(99)).await.unwrap(), 0);
    assert_eq!(store.delete_stale_totp_enrolments(t(100)).await.unwrap(), 1);
    assert_eq!(
        store
            .find_totp_enrolment(&ada.id, "ada-waiting")
            .await
            .unwrap(),
        None
    );
    assert!(store
        .find_totp_enrolment(&bob.id, "bob-waiting")
        .await
        .unwrap()
        .is_some());
    assert!(store.find_totp_factor(&ada.id).await.unwrap().is_some());

    store
        .create_totp_enrolment(&enrolment("ada-again", &ada, 200))
        .await
        .unwrap();
    assert_eq!(store.delete_totp_factors(&ada.id).await.unwrap(), 2);
    assert_eq!(store.find_totp_factor(&ada.id).await.unwrap(), None);
    assert!(store
        .find_totp_enrolment(&bob.id, "bob-waiting")
        .await
        .unwrap()
        .is_some());
}

/// Many requests presenting the code of one step at once: exactly one is accepted.
pub async fn totp_concurrent_uses_of_one_step_have_one_winner(store: Arc<dyn ProbedStore>) {
    let ada = ada(&*store).await;
    store
        .create_totp_enrolment(&enrolment("f", &ada, 0))
        .await
        .unwrap();
    assert!(store
        .confirm_totp_enrolment(&ada.id, "f", 10, t(1))
        .await
        .unwrap());
    let results = race(&store, 8, |store, _| async move {
        store.use_totp_step("f", 11).await.unwrap()
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
}
