//! Revoked access tokens (by jti): the "token" entries of the revocation model.

use super::sign_in::random_id;
use super::t;
use tessera_core::revocation::new_jti;
use tessera_core::{Revocation, RevocationReason, RevocationTarget, TokenFacts};
use tessera_store::Store;
use time::Duration;

/// Describes an access token by its jti alone (no sid, issued at the end of time), so only a
/// token entry can revoke it.
pub fn by_jti(jti: &str) -> TokenFacts<'_> {
    TokenFacts {
        jti,
        sid: None,
        sub: "-",
        iat: i64::MAX,
    }
}

/// Records a token entry for `jti` made at t(0) and kept until `expires_at`; whether it was new.
pub async fn revoke_token(store: &dyn Store, jti: &str, expires_at: time::OffsetDateTime) -> bool {
    let revocation = Revocation::new(
        RevocationTarget::Token {
            jti: jti.to_owned(),
            expires_at,
        },
        t(0),
        Duration::minutes(15),
        RevocationReason::ClientRequest,
        "client:app",
    );
    store.revoke(&revocation).await.unwrap().is_some()
}

/// A revoked jti is revoked until its `expires_at` (exclusive); unknown jtis and other jtis are
/// not revoked.
pub async fn revocations_revoke_until_expiry_boundary(store: &dyn Store) {
    let jti = new_jti();
    let bystander = new_jti();
    assert!(!store
        .is_access_token_revoked(&by_jti(&jti), t(0))
        .await
        .unwrap());

    assert!(revoke_token(store, &jti, t(100)).await);
    for now in [0, 50, 99] {
        assert!(
            store
                .is_access_token_revoked(&by_jti(&jti), t(now))
                .await
                .unwrap(),
            "revoked at t({now})"
        );
    }
    // From `expires_at` on the token is expired anyway, and the entry no longer counts.
    for now in [100, 101, 10_000] {
        assert!(
            !store
                .is_access_token_revoked(&by_jti(&jti), t(now))
                .await
                .unwrap(),
            "not revoked at t({now})"
        );
    }
    assert!(!store
        .is_access_token_revoked(&by_jti(&bystander), t(0))
        .await
        .unwrap());
    assert!(!store
        .is_access_token_revoked(&by_jti(&random_id()), t(0))
        .await
        .unwrap());
}

/// Revoking a token again changes nothing: no second entry, the first expiry stands.
pub async fn revocations_revoke_again_changes_nothing(store: &dyn Store) {
    let jti = new_jti();
    assert!(revoke_token(store, &jti, t(100)).await);
    assert!(!revoke_token(store, &jti, t(200)).await);
    assert_eq!(store.count_revocations().await.unwrap(), 1);
    assert!(store
        .is_access_token_revoked(&by_jti(&jti), t(99))
        .await
        .unwrap());
    assert!(!store
        .is_access_token_revoked(&by_jti(&jti), t(100))
        .await
        .unwrap());
    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 1);
}

/// `delete_expired_revocations(now)` deletes entries with `expires_at <= now` and keeps the
/// others; a deleted entry no longer revokes its token, even at an earlier instant.
pub async fn revocations_delete_expired_boundary(store: &dyn Store) {
    let long_gone = new_jti();
    let at_now = new_jti();
    let next_second = new_jti();
    for (jti, expires) in [(&long_gone, 10), (&at_now, 100), (&next_second, 101)] {
        assert!(revoke_token(store, jti, t(expires)).await);
    }

    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 2);
    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 0);
    // Asked about an earlier instant, only the kept entry still answers.
    assert!(!store
        .is_access_token_revoked(&by_jti(&long_gone), t(0))
        .await
        .unwrap());
    assert!(!store
        .is_access_token_revoked(&by_jti(&at_now), t(0))
        .await
        .unwrap());
    assert!(store
        .is_access_token_revoked(&by_jti(&next_second), t(100))
        .await
        .unwrap());

    assert_eq!(store.delete_expired_revocations(t(101)).await.unwrap(), 1);
    assert!(!store
        .is_access_token_revoked(&by_jti(&next_second), t(0))
        .await
        .unwrap());
}
