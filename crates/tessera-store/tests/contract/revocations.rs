//! Revoked access tokens (by jti): the "token" entries of the revocation model.

use super::sign_in::random_id;
use super::t;
use tessera_core::revocation::new_jti;
use tessera_store::Store;

/// A revoked jti is revoked until its `expires_at` (exclusive); unknown jtis and other jtis are
/// not revoked.
pub async fn revocations_revoke_until_expiry_boundary(store: &dyn Store) {
    let jti = new_jti();
    let bystander = new_jti();
    assert!(!store.is_access_token_revoked(&jti, t(0)).await.unwrap());

    store.revoke_access_token(&jti, t(100)).await.unwrap();
    for now in [0, 50, 99] {
        assert!(
            store.is_access_token_revoked(&jti, t(now)).await.unwrap(),
            "revoked at t({now})"
        );
    }
    // From `expires_at` on the token is expired anyway, and the entry no longer counts.
    for now in [100, 101, 10_000] {
        assert!(
            !store.is_access_token_revoked(&jti, t(now)).await.unwrap(),
            "not revoked at t({now})"
        );
    }
    assert!(!store
        .is_access_token_revoked(&bystander, t(0))
        .await
        .unwrap());
    assert!(!store
        .is_access_token_revoked(&random_id(), t(0))
        .await
        .unwrap());
}

/// Revoking again is not an error and keeps the later expiry, whichever order they come in.
pub async fn revocations_revoke_again_keeps_the_later_expiry(store: &dyn Store) {
    let jti = new_jti();
    store.revoke_access_token(&jti, t(100)).await.unwrap();
    store.revoke_access_token(&jti, t(100)).await.unwrap();
    // An earlier expiry does not shorten the entry.
    store.revoke_access_token(&jti, t(50)).await.unwrap();
    assert!(store.is_access_token_revoked(&jti, t(99)).await.unwrap());
    assert!(!store.is_access_token_revoked(&jti, t(100)).await.unwrap());

    // A later one lengthens it.
    store.revoke_access_token(&jti, t(200)).await.unwrap();
    assert!(store.is_access_token_revoked(&jti, t(199)).await.unwrap());
    assert!(!store.is_access_token_revoked(&jti, t(200)).await.unwrap());

    // The sweep sees one entry, with the later expiry.
    assert_eq!(store.delete_expired_revocations(t(199)).await.unwrap(), 0);
    assert_eq!(store.delete_expired_revocations(t(200)).await.unwrap(), 1);
}

/// `delete_expired_revocations(now)` deletes entries with `expires_at <= now` and keeps the
/// others; a deleted entry no longer revokes its token, even at an earlier instant.
pub async fn revocations_delete_expired_boundary(store: &dyn Store) {
    let long_gone = new_jti();
    let at_now = new_jti();
    let next_second = new_jti();
    for (jti, expires) in [(&long_gone, 10), (&at_now, 100), (&next_second, 101)] {
        store.revoke_access_token(jti, t(expires)).await.unwrap();
    }

    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 2);
    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 0);
    // Asked about an earlier instant, only the kept entry still answers.
    assert!(!store
        .is_access_token_revoked(&long_gone, t(0))
        .await
        .unwrap());
    assert!(!store.is_access_token_revoked(&at_now, t(0)).await.unwrap());
    assert!(store
        .is_access_token_revoked(&next_second, t(100))
        .await
        .unwrap());

    assert_eq!(store.delete_expired_revocations(t(101)).await.unwrap(), 1);
    assert!(!store
        .is_access_token_revoked(&next_second, t(0))
        .await
        .unwrap());
}
