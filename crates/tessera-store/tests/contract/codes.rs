//! Authorization codes.

use super::race;
use super::sign_in::{bare_code, code, fresh_hash, user_and_client};
use super::{t, user};
use std::sync::Arc;
use tessera_core::CodeRedemption;
use tessera_store::{ProbedStore, StoreError};

/// Codes come back exactly as stored (every optional field set, and every one empty) from their
/// first redemption.
pub async fn codes_round_trip_through_redemption(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let full = code(&ada, &app, 60);
    let bare = bare_code(&ada, &app, 60);
    assert!(full.code_challenge.is_some() && full.nonce.is_some() && full.acr.is_some());
    assert_ne!(full.access_token_jti, bare.access_token_jti);
    store.create_code(&full).await.unwrap();
    store.create_code(&bare).await.unwrap();

    let CodeRedemption::First(found) = store.redeem_code(&full.code_hash, t(1)).await.unwrap()
    else {
        panic!("the full code was never redeemed");
    };
    // The pre-assigned jti of the code's access token comes back with the code, at the first
    // redemption and at a replay, which is what lets a replay revoke that token.
    assert_eq!(found.access_token_jti, full.access_token_jti);
    assert_eq!(found, full);
    let CodeRedemption::Replayed {
        code: replayed,
        replays: 1,
    } = store.redeem_code(&full.code_hash, t(2)).await.unwrap()
    else {
        panic!("the full code was redeemed once already");
    };
    assert_eq!(replayed.access_token_jti, full.access_token_jti);

    let CodeRedemption::First(found) = store.redeem_code(&bare.code_hash, t(1)).await.unwrap()
    else {
        panic!("the bare code was never redeemed");
    };
    assert_eq!(found, bare);
    assert_eq!(found.access_token_jti, bare.access_token_jti);
    assert!(found.scope.is_empty() && found.amr.is_empty());
}

/// The first redemption gets `First`, every later one `Replayed` (with the same code and its
/// number: 1, 2, 3…), and an unknown hash `Unknown`. Expiry is not judged: a code past `expires_at` still redeems.
pub async fn codes_redeem_first_then_replayed(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let issued = code(&ada, &app, 60);
    let other = code(&ada, &app, 60);
    store.create_code(&issued).await.unwrap();
    store.create_code(&other).await.unwrap();

    assert_eq!(
        store.redeem_code(&fresh_hash(), t(1)).await.unwrap(),
        CodeRedemption::Unknown
    );
    assert_eq!(
        store.redeem_code(&issued.code_hash, t(1)).await.unwrap(),
        CodeRedemption::First(issued.clone())
    );
    for (replays, now) in [(1, 1), (2, 2), (3, 3600)] {
        assert_eq!(
            store.redeem_code(&issued.code_hash, t(now)).await.unwrap(),
            CodeRedemption::Replayed {
                code: issued.clone(),
                replays
            }
        );
    }
    // Redeeming one code leaves the others alone, even far past their expiry.
    assert_eq!(
        store
            .redeem_code(&other.code_hash, t(10_000))
            .await
            .unwrap(),
        CodeRedemption::First(other.clone())
    );
    assert_eq!(
        store
            .redeem_code(&other.code_hash, t(10_000))
            .await
            .unwrap(),
        CodeRedemption::Replayed {
            code: other,
            replays: 1
        }
    );
}

/// A second code with an existing hash is a conflict and leaves the first as it was.
pub async fn codes_duplicate_hash_conflicts(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let first = code(&ada, &app, 60);
    store.create_code(&first).await.unwrap();
    let mut second = bare_code(&ada, &app, 600);
    second.code_hash = first.code_hash.clone();
    let err = store.create_code(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.redeem_code(&first.code_hash, t(1)).await.unwrap(),
        CodeRedemption::First(first.clone())
    );

    // Still a conflict once redeemed: a hash is never reissued.
    let err = store.create_code(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.redeem_code(&first.code_hash, t(2)).await.unwrap(),
        CodeRedemption::Replayed {
            code: first,
            replays: 1
        }
    );
}

/// A code for a user or a client that does not exist is `NotFound` and stores nothing.
pub async fn codes_need_an_existing_user_and_client(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let ghost = user("ghost@example.com");
    let no_user = code(&ghost, &app, 60);
    let mut no_client = code(&ada, &app, 60);
    no_client.client_id = tessera_core::ClientId::parse("ghost-app").unwrap();
    for orphan in [no_user, no_client] {
        let err = store.create_code(&orphan).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
        assert_eq!(
            store.redeem_code(&orphan.code_hash, t(1)).await.unwrap(),
            CodeRedemption::Unknown
        );
    }
}

/// `delete_expired_codes(before)` deletes codes with `expires_at <= before`, redeemed or not.
pub async fn codes_delete_expired_boundary(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let long_gone = code(&ada, &app, 10);
    let redeemed_gone = code(&ada, &app, 50);
    let at_now = bare_code(&ada, &app, 100);
    let next_second = code(&ada, &app, 101);
    let redeemed_kept = code(&ada, &app, 500);
    for c in [
        &long_gone,
        &redeemed_gone,
        &at_now,
        &next_second,
        &redeemed_kept,
    ] {
        store.create_code(c).await.unwrap();
    }
    for c in [&redeemed_gone, &redeemed_kept] {
        let first = store.redeem_code(&c.code_hash, t(5)).await.unwrap();
        assert!(matches!(first, CodeRedemption::First(_)), "{first:?}");
    }

    assert_eq!(store.delete_expired_codes(t(100)).await.unwrap(), 3);
    assert_eq!(store.delete_expired_codes(t(100)).await.unwrap(), 0);
    for gone in [&long_gone, &redeemed_gone, &at_now] {
        assert_eq!(
            store.redeem_code(&gone.code_hash, t(100)).await.unwrap(),
            CodeRedemption::Unknown
        );
    }
    assert_eq!(
        store
            .redeem_code(&redeemed_kept.code_hash, t(100))
            .await
            .unwrap(),
        CodeRedemption::Replayed {
            code: redeemed_kept.clone(),
            replays: 1
        }
    );
    assert_eq!(store.delete_expired_codes(t(101)).await.unwrap(), 1);
    assert_eq!(
        store
            .redeem_code(&next_second.code_hash, t(101))
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
    assert_eq!(store.delete_expired_codes(t(500)).await.unwrap(), 1);
}

/// Of many concurrent redemptions of one code exactly one gets `First`; all others get
/// `Replayed`.
pub async fn codes_concurrent_redemptions_have_one_winner(store: Arc<dyn ProbedStore>) {
    let (ada, app) = user_and_client(&*store, "ada@example.com", "app").await;
    let issued = code(&ada, &app, 60);
    store.create_code(&issued).await.unwrap();

    let hash = issued.code_hash.clone();
    let results = race(&store, 10, move |store, i| {
        let hash = hash.clone();
        async move { store.redeem_code(&hash, t(1 + i as i64)).await.unwrap() }
    })
    .await;

    let first = results
        .iter()
        .filter(|r| **r == CodeRedemption::First(issued.clone()))
        .count();
    // Every replay has its own number: the counting is as atomic as the redemption.
    let mut numbers: Vec<u64> = results
        .iter()
        .filter_map(|r| match r {
            CodeRedemption::Replayed { code, replays } if *code == issued => Some(*replays),
            _ => None,
        })
        .collect();
    numbers.sort();
    assert_eq!(first, 1, "{results:?}");
    assert_eq!(numbers, (1..=9).collect::<Vec<u64>>(), "{results:?}");
    assert_eq!(
        store.redeem_code(&issued.code_hash, t(60)).await.unwrap(),
        CodeRedemption::Replayed {
            code: issued,
            replays: 10
        }
    );
}
