//! Recovery codes: a set replaced as a whole, each code used once.

use super::{race, strings, t, user};
use std::sync::Arc;
use tessera_store::{ProbedStore, StoreError};

/// A set's codes are each used once, by their own user only; a new set replaces the old one
/// (used and unused codes alike), and deleting it, or the user, leaves none.
pub async fn recovery_codes_are_used_once_and_replaced_as_a_set(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();
    store
        .replace_recovery_codes(&ada.id, &strings(&["h1", "h2", "h3"]), t(0))
        .await
        .unwrap();
    store
        .replace_recovery_codes(&bob.id, &strings(&["h9"]), t(0))
        .await
        .unwrap();
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 3);

    assert!(
        !store.use_recovery_code(&bob.id, "h1", t(1)).await.unwrap(),
        "another user's"
    );
    assert!(
        !store.use_recovery_code(&ada.id, "h9", t(1)).await.unwrap(),
        "another user's"
    );
    assert!(!store
        .use_recovery_code(&ada.id, "nope", t(1))
        .await
        .unwrap());
    assert!(store.use_recovery_code(&ada.id, "h1", t(1)).await.unwrap());
    assert!(
        !store.use_recovery_code(&ada.id, "h1", t(2)).await.unwrap(),
        "used once"
    );
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 2);

    store
        .replace_recovery_codes(&ada.id, &strings(&["n1", "n2"]), t(3))
        .await
        .unwrap();
    assert!(
        !store.use_recovery_code(&ada.id, "h2", t(4)).await.unwrap(),
        "the old set is gone"
    );
    assert!(!store.use_recovery_code(&ada.id, "h1", t(4)).await.unwrap());
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 2);
    assert_eq!(store.count_unused_recovery_codes(&bob.id).await.unwrap(), 1);

    assert_eq!(store.delete_recovery_codes(&ada.id).await.unwrap(), 2);
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 0);
    store.delete_user(&bob.id).await.unwrap();
    assert_eq!(store.count_unused_recovery_codes(&bob.id).await.unwrap(), 0);
    assert!(!store.use_recovery_code(&bob.id, "h9", t(5)).await.unwrap());
}

/// A set for a user who does not exist is refused whole, and an empty set clears.
pub async fn recovery_codes_need_their_user(store: &dyn ProbedStore) {
    let ghost = user("ghost@example.com");
    assert!(matches!(
        store
            .replace_recovery_codes(&ghost.id, &strings(&["h1", "h2"]), t(0))
            .await,
        Err(StoreError::NotFound)
    ));
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    store
        .replace_recovery_codes(&ada.id, &strings(&["h1"]), t(0))
        .await
        .unwrap();
    store
        .replace_recovery_codes(&ada.id, &[], t(1))
        .await
        .unwrap();
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 0);
}

/// Many requests presenting one recovery code at once: exactly one signs in.
pub async fn recovery_codes_concurrent_uses_have_one_winner(store: Arc<dyn ProbedStore>) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    store
        .replace_recovery_codes(&ada.id, &strings(&["h1", "h2"]), t(0))
        .await
        .unwrap();
    let id = ada.id.clone();
    let results = race(&store, 8, move |store, _| {
        let id = id.clone();
        async move { store.use_recovery_code(&id, "h1", t(1)).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
    assert_eq!(store.count_unused_recovery_codes(&ada.id).await.unwrap(), 1);
}
