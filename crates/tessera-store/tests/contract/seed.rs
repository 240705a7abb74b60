//! [`SeedStore`]: many signed-in users in one transaction.

use super::sign_in::{random_id, refresh, session};
use super::{public, t, user};
use tessera_core::{Client, Revocation, RevocationReason, RevocationTarget};
use tessera_store::{ProbedStore, SignedInUser, StoreError};
use time::Duration;

/// `email` as a finished sign-in at `client` leaves it, with its token issued at `t(0)`.
fn signed_in(email: &str, client: &Client) -> SignedInUser {
    let user = user(email);
    let (session, _) = session(&user, 3600);
    let refresh_token = tessera_core::RefreshToken {
        sid: session.sid.clone(),
        ..refresh(&user, client, &random_id())
    };
    SignedInUser {
        user,
        session,
        refresh_token,
    }
}

async fn stored_client(store: &dyn ProbedStore) -> Client {
    let client = public("app");
    store.create_client(&client).await.unwrap();
    client
}

/// Whether every row of `signed_in` is in the store, exactly as given and live.
async fn is_stored(store: &dyn ProbedStore, signed_in: &SignedInUser) -> bool {
    let user = store
        .find_user_by_email(&signed_in.user.email)
        .await
        .unwrap();
    let session = store.find_session(&signed_in.session.sid).await.unwrap();
    let token = store
        .find_refresh_token(&signed_in.refresh_token.token_hash)
        .await
        .unwrap();
    match (user, session, token) {
        (Some(user), Some(session), Some(token)) => {
            assert_eq!(user, signed_in.user);
            assert_eq!(session, signed_in.session);
            assert_eq!(token.token, signed_in.refresh_token);
            assert_eq!(token.rotated_at, None);
            true
        }
        (None, None, None) => false,
        partial => panic!("only part of a signed-in user was stored: {partial:?}"),
    }
}

pub async fn seed_creates_every_user_with_session_and_live_token(store: &dyn ProbedStore) {
    let client = stored_client(store).await;
    let batch: Vec<_> = (0..5)
        .map(|n| signed_in(&format!("user-{n}@example.com"), &client))
        .collect();
    assert_eq!(store.create_signed_in_users(&batch).await.unwrap(), 5);
    for signed_in in &batch {
        assert!(is_stored(store, signed_in).await);
        let token = store
            .find_refresh_token(&signed_in.refresh_token.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(token.revoked_at, None);
    }
    assert_eq!(store.create_signed_in_users(&[]).await.unwrap(), 0);
}

pub async fn seed_is_all_or_nothing(store: &dyn ProbedStore) {
    let client = stored_client(store).await;
    let taken = user("taken@example.com");
    store.create_user(&taken).await.unwrap();
    let mut batch: Vec<_> = (0..3)
        .map(|n| signed_in(&format!("user-{n}@example.com"), &client))
        .collect();
    batch.push(signed_in("taken@example.com", &client));
    let refused = store.create_signed_in_users(&batch).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    for signed_in in &batch[..3] {
        assert!(!is_stored(store, signed_in).await);
    }
    assert_eq!(store.list_users().await.unwrap(), vec![taken]);
}

pub async fn seed_tokens_a_revocation_covers_are_born_revoked(store: &dyn ProbedStore) {
    let client = stored_client(store).await;
    let revocation = Revocation::new(
        RevocationTarget::Global,
        t(100),
        Duration::minutes(15),
        RevocationReason::KeyRotation,
        "cli",
    );
    store.revoke(&revocation).await.unwrap();
    let batch = [signed_in("ada@example.com", &client)];
    assert_eq!(store.create_signed_in_users(&batch).await.unwrap(), 0);
    let token = store
        .find_refresh_token(&batch[0].refresh_token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.revoked_at, Some(t(100)));
}
