//! Remembered consents.

use super::sign_in::{scope, user_and_client};
use super::{public, t, user};
use tessera_core::Consent;
use tessera_store::{ProbedStore, StoreError};

/// A consent comes back exactly as saved; saving again for the same user and client replaces
/// the scope and the time (narrowing is possible), and other pairs are untouched.
pub async fn consents_round_trip_and_upsert(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    let other_app = public("other-app");
    store.create_client(&other_app).await.unwrap();
    assert_eq!(store.find_consent(&ada.id, &app.id).await.unwrap(), None);

    let first = Consent {
        user_id: ada.id.clone(),
        client_id: app.id.clone(),
        scope: scope("openid profile api:read"),
        granted_at: t(10),
    };
    let bobs = Consent {
        user_id: bob.id.clone(),
        scope: scope("openid"),
        ..first.clone()
    };
    let other = Consent {
        client_id: other_app.id.clone(),
        scope: scope(""),
        ..first.clone()
    };
    for consent in [&first, &bobs, &other] {
        store.save_consent(consent).await.unwrap();
    }
    assert_eq!(
        store.find_consent(&ada.id, &app.id).await.unwrap(),
        Some(first.clone())
    );
    let found = store.find_consent(&ada.id, &other_app.id).await.unwrap();
    assert_eq!(found, Some(other.clone()));
    assert!(found.unwrap().scope.is_empty());

    let widened = Consent {
        scope: scope("openid profile api:read api:write email"),
        granted_at: t(20),
        ..first.clone()
    };
    store.save_consent(&widened).await.unwrap();
    assert_eq!(
        store.find_consent(&ada.id, &app.id).await.unwrap(),
        Some(widened)
    );
    let narrowed = Consent {
        scope: scope("openid"),
        granted_at: t(30),
        ..first
    };
    store.save_consent(&narrowed).await.unwrap();
    assert_eq!(
        store.find_consent(&ada.id, &app.id).await.unwrap(),
        Some(narrowed)
    );

    assert_eq!(
        store.find_consent(&bob.id, &app.id).await.unwrap(),
        Some(bobs)
    );
    assert_eq!(
        store.find_consent(&ada.id, &other_app.id).await.unwrap(),
        Some(other)
    );
    assert_eq!(
        store.find_consent(&bob.id, &other_app.id).await.unwrap(),
        None
    );
}

/// A consent naming a user or a client that does not exist is `NotFound` and stores nothing.
pub async fn consents_need_an_existing_user_and_client(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let ghost = user("ghost@example.com");
    let ghost_app = public("ghost-app");
    for (user_id, client_id) in [
        (ghost.id.clone(), app.id.clone()),
        (ada.id.clone(), ghost_app.id.clone()),
    ] {
        let consent = Consent {
            user_id: user_id.clone(),
            client_id: client_id.clone(),
            scope: scope("openid"),
            granted_at: t(0),
        };
        let err = store.save_consent(&consent).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
        assert_eq!(
            store.find_consent(&user_id, &client_id).await.unwrap(),
            None
        );
    }
}
