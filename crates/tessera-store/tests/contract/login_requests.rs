//! Pending sign-ins.

use super::race;
use super::sign_in::{
    bare_login_request, login_request, oidc, oidc_mut, random_id, user_and_client,
};
use super::{public, t};
use std::sync::Arc;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::Stage;
use tessera_store::{ProbedStore, StoreError};

/// Requests come back exactly as stored, every field of the authorization request included
/// (scope, prompt flags, acr_values in order with repeats, absent optional fields).
pub async fn login_requests_round_trip(store: &dyn ProbedStore) {
    let app = public("app");
    store.create_client(&app).await.unwrap();
    let full = login_request(&app, 900);
    let bare = bare_login_request(&app, 900);
    let mut long_lived = login_request(&app, 900);
    oidc_mut(&mut long_lived).max_age = Some(400 * 24 * 3600);
    for request in [&full, &bare, &long_lived] {
        store.create_login_request(request).await.unwrap();
    }

    let found = store.find_login_request(&full.id).await.unwrap().unwrap();
    assert_eq!(found, full);
    assert_eq!(
        oidc(&found).scope.to_string(),
        "api:write email openid profile urn:x/y!#"
    );
    assert_eq!(oidc(&found).acr_values.len(), 3);
    let found = store.find_login_request(&bare.id).await.unwrap().unwrap();
    assert_eq!(found, bare);
    assert!(oidc(&found).scope.is_empty() && oidc(&found).acr_values.is_empty());
    assert!(!oidc(&found).prompt_login && oidc(&found).prompt_consent);
    assert_eq!(
        store.find_login_request(&long_lived.id).await.unwrap(),
        Some(long_lived)
    );

    // Finding does not consume.
    assert_eq!(
        store.find_login_request(&full.id).await.unwrap(),
        Some(full)
    );
    assert_eq!(store.find_login_request(&random_id()).await.unwrap(), None);
}

/// The stage, the identified user and the proofs come back as stored, and a user's removal takes
/// their pending sign-ins with it.
pub async fn login_requests_keep_stage_user_and_proofs(store: &dyn ProbedStore) {
    let (user, app) = user_and_client(store, "ada@example.com", "app").await;
    let mut waiting = login_request(&app, 900);
    waiting.stage = Stage::Consent;
    waiting.user_id = Some(user.id.clone());
    waiting.proofs = vec![
        Proof {
            method: Method::Password,
            at: t(10),
        },
        Proof {
            method: Method::Totp,
            at: t(12),
        },
    ];
    let mut second = bare_login_request(&app, 900);
    second.stage = Stage::SecondFactor;
    for pending in [&waiting, &second] {
        store.create_login_request(pending).await.unwrap();
    }
    assert_eq!(
        store
            .find_login_request(&waiting.id)
            .await
            .unwrap()
            .as_ref(),
        Some(&waiting)
    );
    assert_eq!(
        store.take_login_request(&second.id).await.unwrap(),
        Some(second)
    );

    store.delete_user(&user.id).await.unwrap();
    assert_eq!(store.find_login_request(&waiting.id).await.unwrap(), None);
}

/// A second request with an existing id is a conflict and leaves the first untouched.
pub async fn login_requests_duplicate_id_conflicts(store: &dyn ProbedStore) {
    let app = public("app");
    store.create_client(&app).await.unwrap();
    let first = login_request(&app, 900);
    store.create_login_request(&first).await.unwrap();
    let mut second = bare_login_request(&app, 60);
    second.id = first.id.clone();
    let err = store.create_login_request(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_login_request(&first.id).await.unwrap(),
        Some(first)
    );
}

/// A request for a client that does not exist is `NotFound` and stores nothing.
pub async fn login_requests_need_an_existing_client(store: &dyn ProbedStore) {
    let ghost = public("ghost-app");
    let orphan = login_request(&ghost, 900);
    let err = store.create_login_request(&orphan).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.find_login_request(&orphan.id).await.unwrap(), None);
}

/// Taking returns the request once and removes it; later takes and finds get `None`; other
/// requests stay.
pub async fn login_requests_take_once(store: &dyn ProbedStore) {
    let app = public("app");
    store.create_client(&app).await.unwrap();
    let taken = login_request(&app, 900);
    let kept = bare_login_request(&app, 900);
    store.create_login_request(&taken).await.unwrap();
    store.create_login_request(&kept).await.unwrap();

    assert_eq!(
        store.take_login_request(&taken.id).await.unwrap(),
        Some(taken.clone())
    );
    assert_eq!(store.take_login_request(&taken.id).await.unwrap(), None);
    assert_eq!(store.find_login_request(&taken.id).await.unwrap(), None);
    assert_eq!(store.take_login_request(&random_id()).await.unwrap(), None);
    assert_eq!(
        store.find_login_request(&kept.id).await.unwrap(),
        Some(kept.clone())
    );

    // The id is free again once taken.
    store.create_login_request(&taken).await.unwrap();
    assert_eq!(
        store.take_login_request(&taken.id).await.unwrap(),
        Some(taken)
    );
}

/// `delete_expired_login_requests(now)` deletes requests with `expires_at <= now`.
pub async fn login_requests_delete_expired_boundary(store: &dyn ProbedStore) {
    let app = public("app");
    store.create_client(&app).await.unwrap();
    let long_gone = login_request(&app, 10);
    let at_now = bare_login_request(&app, 100);
    let next_second = login_request(&app, 101);
    for request in [&long_gone, &at_now, &next_second] {
        store.create_login_request(request).await.unwrap();
    }

    assert_eq!(
        store.delete_expired_login_requests(t(100)).await.unwrap(),
        2
    );
    assert_eq!(store.find_login_request(&long_gone.id).await.unwrap(), None);
    assert_eq!(store.find_login_request(&at_now.id).await.unwrap(), None);
    assert_eq!(
        store.find_login_request(&next_second.id).await.unwrap(),
        Some(next_second)
    );
    assert_eq!(
        store.delete_expired_login_requests(t(100)).await.unwrap(),
        0
    );
    assert_eq!(
        store.delete_expired_login_requests(t(101)).await.unwrap(),
        1
    );
}

/// Of many concurrent takers of one request exactly one gets it.
pub async fn login_requests_concurrent_takers_have_one_winner(store: Arc<dyn ProbedStore>) {
    let (_, app) = user_and_client(&*store, "ada@example.com", "app").await;
    let pending = login_request(&app, 900);
    store.create_login_request(&pending).await.unwrap();

    let id = pending.id.clone();
    let results = race(&store, 10, move |store, _| {
        let id = id.clone();
        async move { store.take_login_request(&id).await.unwrap() }
    })
    .await;

    let winners: Vec<_> = results.into_iter().flatten().collect();
    assert_eq!(winners, vec![pending.clone()]);
    assert_eq!(store.find_login_request(&pending.id).await.unwrap(), None);
}
