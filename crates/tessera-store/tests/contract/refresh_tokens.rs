//! Refresh tokens: rotation, reuse detection, family revocation, expiry.

use super::race;
use super::sign_in::{
    access_token_at, fresh_hash, random_id, refresh, refresh_until, successor, user_and_client,
};
use super::{t, user};
use std::sync::Arc;
use tessera_core::{
    RefreshRotation, RefreshToken, RevocationReason, RevocationTarget, StoredRefreshToken,
    TokenFacts,
};
use tessera_store::{ProbedStore, StoreError};
use time::OffsetDateTime;

/// What `find_refresh_token` should report for `token`.
fn stored(
    token: &RefreshToken,
    rotated: Option<OffsetDateTime>,
    revoked: Option<OffsetDateTime>,
) -> Option<StoredRefreshToken> {
    Some(StoredRefreshToken {
        token: token.clone(),
        rotated_at: rotated,
        revoked_at: revoked,
    })
}

/// Tokens come back exactly as stored, current (neither rotated nor revoked); optional fields
/// may be empty; unknown hashes find nothing.
pub async fn refresh_round_trip(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let mut full = refresh(&ada, &app, "family-1");
    full.access_token = Some(access_token_at(0));
    let mut bare = refresh(&ada, &app, "family-2");
    bare.acr = None;
    bare.amr = vec![];
    bare.scope = tessera_core::ScopeSet::parse("").unwrap();
    store.create_refresh_token(&full).await.unwrap();
    store.create_refresh_token(&bare).await.unwrap();

    assert_eq!(
        store.find_refresh_token(&full.token_hash).await.unwrap(),
        stored(&full, None, None)
    );
    assert_eq!(
        store.find_refresh_token(&bare.token_hash).await.unwrap(),
        stored(&bare, None, None)
    );
    assert_eq!(store.find_refresh_token(&fresh_hash()).await.unwrap(), None);
}

/// A second token with an existing hash is a conflict and leaves the first untouched.
pub async fn refresh_duplicate_hash_conflicts(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let first = refresh(&ada, &app, "family-1");
    store.create_refresh_token(&first).await.unwrap();
    let mut second = refresh(&ada, &app, "family-2");
    second.token_hash = first.token_hash.clone();
    let err = store.create_refresh_token(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_refresh_token(&first.token_hash).await.unwrap(),
        stored(&first, None, None)
    );
    assert_eq!(
        store
            .revoke_refresh_family("family-2", t(1), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );
}

/// A token for a user or a client that does not exist is `NotFound` and stores nothing.
pub async fn refresh_need_an_existing_user_and_client(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let no_user = refresh(&user("ghost@example.com"), &app, "f");
    let mut no_client = refresh(&ada, &app, "f");
    no_client.client_id = tessera_core::ClientId::parse("ghost-app").unwrap();
    for orphan in [no_user, no_client] {
        let err = store.create_refresh_token(&orphan).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
        assert_eq!(
            store.find_refresh_token(&orphan.token_hash).await.unwrap(),
            None
        );
    }
}

/// Rotating a current token marks it rotated and stores the successor. Presenting the rotated
/// token again is reuse: every token of the family (the successor included) is revoked, other
/// families are untouched, and the revoked successor is then invalid.
pub async fn refresh_rotate_then_reuse_revokes_the_family(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let first = refresh(&ada, &app, "family");
    let bystander = refresh(&ada, &app, "other-family");
    store.create_refresh_token(&first).await.unwrap();
    store.create_refresh_token(&bystander).await.unwrap();

    let second = successor(&first, 100);
    assert_eq!(
        store
            .rotate_refresh_token(&first.token_hash, &second, t(100))
            .await
            .unwrap(),
        RefreshRotation::Rotated(first.clone())
    );
    assert_eq!(
        store.find_refresh_token(&first.token_hash).await.unwrap(),
        stored(&first, Some(t(100)), None)
    );
    assert_eq!(
        store.find_refresh_token(&second.token_hash).await.unwrap(),
        stored(&second, None, None)
    );

    // Someone replays the first token: reuse.
    let stolen = successor(&first, 200);
    assert_eq!(
        store
            .rotate_refresh_token(&first.token_hash, &stolen, t(200))
            .await
            .unwrap(),
        RefreshRotation::Reused(first.clone())
    );
    assert_eq!(
        store.find_refresh_token(&first.token_hash).await.unwrap(),
        stored(&first, Some(t(100)), Some(t(200)))
    );
    assert_eq!(
        store.find_refresh_token(&second.token_hash).await.unwrap(),
        stored(&second, None, Some(t(200)))
    );
    assert_eq!(
        store.find_refresh_token(&stolen.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_refresh_token(&bystander.token_hash)
            .await
            .unwrap(),
        stored(&bystander, None, None)
    );

    // The legitimate holder's successor is revoked now, so it no longer rotates.
    let third = successor(&second, 300);
    assert_eq!(
        store
            .rotate_refresh_token(&second.token_hash, &third, t(300))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    assert_eq!(
        store.find_refresh_token(&third.token_hash).await.unwrap(),
        None
    );

    // A rotated token stays evidence of reuse; the earlier revocation time is kept.
    assert_eq!(
        store
            .rotate_refresh_token(&first.token_hash, &successor(&first, 400), t(400))
            .await
            .unwrap(),
        RefreshRotation::Reused(first.clone())
    );
    assert_eq!(
        store.find_refresh_token(&first.token_hash).await.unwrap(),
        stored(&first, Some(t(100)), Some(t(200)))
    );
    assert_eq!(
        store
            .find_refresh_token(&bystander.token_hash)
            .await
            .unwrap(),
        stored(&bystander, None, None)
    );
}

/// A revoked (never rotated) token and an unknown one are `Invalid`: nothing is marked and no
/// successor is stored.
pub async fn refresh_revoked_or_unknown_is_invalid(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let token = refresh(&ada, &app, "family");
    store.create_refresh_token(&token).await.unwrap();
    assert_eq!(
        store
            .revoke_refresh_family("family", t(50), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        1
    );

    let next = successor(&token, 100);
    assert_eq!(
        store
            .rotate_refresh_token(&token.token_hash, &next, t(100))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    assert_eq!(
        store.find_refresh_token(&token.token_hash).await.unwrap(),
        stored(&token, None, Some(t(50)))
    );
    assert_eq!(
        store.find_refresh_token(&next.token_hash).await.unwrap(),
        None
    );

    let unknown = successor(&token, 100);
    assert_eq!(
        store
            .rotate_refresh_token(&fresh_hash(), &unknown, t(100))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    assert_eq!(
        store.find_refresh_token(&unknown.token_hash).await.unwrap(),
        None
    );
}

/// A current token past either limit (`min(idle, absolute) <= now`) is `Invalid` and changes
/// nothing, exactly as it would once swept; a second earlier it still rotates.
pub async fn refresh_expired_is_invalid(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let idle_first = refresh_until(&ada, &app, 100, 500);
    let absolute_first = refresh_until(&ada, &app, 500, 100);
    for token in [&idle_first, &absolute_first] {
        store.create_refresh_token(token).await.unwrap();
        let late = successor(token, 100);
        assert_eq!(
            store
                .rotate_refresh_token(&token.token_hash, &late, t(100))
                .await
                .unwrap(),
            RefreshRotation::Invalid
        );
        assert_eq!(
            store.find_refresh_token(&token.token_hash).await.unwrap(),
            stored(token, None, None)
        );
        assert_eq!(
            store.find_refresh_token(&late.token_hash).await.unwrap(),
            None
        );

        let in_time = successor(token, 99);
        assert_eq!(
            store
                .rotate_refresh_token(&token.token_hash, &in_time, t(99))
                .await
                .unwrap(),
            RefreshRotation::Rotated(token.clone())
        );
        assert_eq!(
            store.find_refresh_token(&in_time.token_hash).await.unwrap(),
            stored(&in_time, None, None)
        );
    }
}

/// A rotation whose successor cannot be stored (its hash exists) is a conflict and changes
/// nothing: the presented token is still current.
pub async fn refresh_rotate_with_clashing_successor_changes_nothing(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let token = refresh(&ada, &app, "family");
    let other = refresh(&ada, &app, "other-family");
    store.create_refresh_token(&token).await.unwrap();
    store.create_refresh_token(&other).await.unwrap();

    let mut clash = successor(&token, 100);
    clash.token_hash = other.token_hash.clone();
    let err = store
        .rotate_refresh_token(&token.token_hash, &clash, t(100))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_refresh_token(&token.token_hash).await.unwrap(),
        stored(&token, None, None)
    );
    assert_eq!(
        store.find_refresh_token(&other.token_hash).await.unwrap(),
        stored(&other, None, None)
    );

    // The store is still usable, and the token still rotates.
    let next = successor(&token, 101);
    assert_eq!(
        store
            .rotate_refresh_token(&token.token_hash, &next, t(101))
            .await
            .unwrap(),
        RefreshRotation::Rotated(token)
    );
}

/// Revoking a family marks every not-yet-revoked token of it (rotated ones included) and counts
/// them; it keeps earlier revocation times, and other families are untouched.
pub async fn refresh_revoke_family_counts_and_isolates(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let family = random_id();
    let first = refresh(&ada, &app, &family);
    let parallel = refresh(&ada, &app, &family);
    let bystander = refresh(&ada, &app, "other-family");
    for token in [&first, &parallel, &bystander] {
        store.create_refresh_token(token).await.unwrap();
    }
    let second = successor(&first, 10);
    store
        .rotate_refresh_token(&first.token_hash, &second, t(10))
        .await
        .unwrap();

    assert_eq!(
        store
            .revoke_refresh_family(&family, t(20), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        3
    );
    assert_eq!(
        store.find_refresh_token(&first.token_hash).await.unwrap(),
        stored(&first, Some(t(10)), Some(t(20)))
    );
    for token in [&parallel, &second] {
        assert_eq!(
            store.find_refresh_token(&token.token_hash).await.unwrap(),
            stored(token, None, Some(t(20)))
        );
    }
    assert_eq!(
        store
            .find_refresh_token(&bystander.token_hash)
            .await
            .unwrap(),
        stored(&bystander, None, None)
    );

    assert_eq!(
        store
            .revoke_refresh_family(&family, t(30), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );
    assert_eq!(
        store.find_refresh_token(&second.token_hash).await.unwrap(),
        stored(&second, None, Some(t(20)))
    );
    assert_eq!(
        store
            .revoke_refresh_family(
                "no-such-family",
                t(30),
                RevocationReason::ClientRequest,
                "test"
            )
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );
    assert_eq!(
        store
            .revoke_refresh_family(
                "other-family",
                t(40),
                RevocationReason::ClientRequest,
                "test"
            )
            .await
            .unwrap()
            .refresh_tokens_revoked,
        1
    );
}

/// `delete_expired_refresh_tokens(now)` deletes tokens whose earlier limit is `<= now`, whatever
/// their state; a token whose earlier limit is a second later stays.
pub async fn refresh_delete_expired_boundary(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let idle_at_now = refresh_until(&ada, &app, 100, 1000);
    let absolute_at_now = refresh_until(&ada, &app, 1000, 100);
    let long_gone = refresh_until(&ada, &app, 10, 20);
    let revoked_gone = refresh_until(&ada, &app, 50, 1000);
    let idle_next = refresh_until(&ada, &app, 101, 1000);
    let absolute_next = refresh_until(&ada, &app, 1000, 101);
    let later = refresh(&ada, &app, "later");
    for token in [
        &idle_at_now,
        &absolute_at_now,
        &long_gone,
        &revoked_gone,
        &idle_next,
        &absolute_next,
        &later,
    ] {
        store.create_refresh_token(token).await.unwrap();
    }
    store
        .revoke_refresh_family(
            &revoked_gone.family_id,
            t(5),
            RevocationReason::ClientRequest,
            "test",
        )
        .await
        .unwrap();

    assert_eq!(
        store.delete_expired_refresh_tokens(t(100)).await.unwrap(),
        4
    );
    for gone in [&idle_at_now, &absolute_at_now, &long_gone, &revoked_gone] {
        assert_eq!(
            store.find_refresh_token(&gone.token_hash).await.unwrap(),
            None
        );
    }
    assert_eq!(
        store.delete_expired_refresh_tokens(t(100)).await.unwrap(),
        0
    );
    assert_eq!(
        store.delete_expired_refresh_tokens(t(101)).await.unwrap(),
        2
    );
    assert_eq!(
        store.find_refresh_token(&later.token_hash).await.unwrap(),
        stored(&later, None, None)
    );
}

/// Of many concurrent rotations of one token exactly one gets `Rotated`, the others `Reused`;
/// the family ends revoked and only the winner's successor was stored.
pub async fn refresh_concurrent_rotations_have_one_winner(store: Arc<dyn ProbedStore>) {
    let (ada, app) = user_and_client(&*store, "ada@example.com", "app").await;
    let token = refresh(&ada, &app, "family");
    store.create_refresh_token(&token).await.unwrap();

    let successors: Vec<RefreshToken> = (0..10).map(|i| successor(&token, 100 + i)).collect();
    let presented = token.token_hash.clone();
    let racers = successors.clone();
    let results = race(&store, 10, move |store, i| {
        let presented = presented.clone();
        let next = racers[i].clone();
        async move {
            let now = next.issued_at;
            store
                .rotate_refresh_token(&presented, &next, now)
                .await
                .unwrap()
        }
    })
    .await;

    let rotated = results
        .iter()
        .filter(|r| **r == RefreshRotation::Rotated(token.clone()))
        .count();
    let reused = results
        .iter()
        .filter(|r| **r == RefreshRotation::Reused(token.clone()))
        .count();
    assert_eq!((rotated, reused), (1, 9), "{results:?}");

    let mut stored_successors = Vec::new();
    for next in &successors {
        if let Some(found) = store.find_refresh_token(&next.token_hash).await.unwrap() {
            assert_eq!(found.token, *next);
            assert!(found.rotated_at.is_none() && found.revoked_at.is_some());
            stored_successors.push(found);
        }
    }
    assert_eq!(stored_successors.len(), 1, "only the winner's successor");
    let original = store
        .find_refresh_token(&token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(original.rotated_at.is_some() && original.revoked_at.is_some());
    assert_eq!(
        store
            .revoke_refresh_family("family", t(1000), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );
}

/// A family revoked before its first token exists (a code replayed between its first
/// redemption and that redemption's refresh-token insert) stays revoked: the token is stored
/// revoked at the family's revocation time, `create_refresh_token` says it is not live, and it
/// never rotates. Tokens of other families are stored live.
pub async fn refresh_family_revoked_before_its_first_token_stays_revoked(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let family = random_id();
    assert_eq!(
        store
            .revoke_refresh_family(&family, t(10), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );

    let late = refresh(&ada, &app, &family);
    assert!(
        !store.create_refresh_token(&late).await.unwrap(),
        "a token of a revoked family is not live"
    );
    assert_eq!(
        store.find_refresh_token(&late.token_hash).await.unwrap(),
        stored(&late, None, Some(t(10)))
    );
    let next = successor(&late, 20);
    assert_eq!(
        store
            .rotate_refresh_token(&late.token_hash, &next, t(20))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    assert_eq!(
        store.find_refresh_token(&next.token_hash).await.unwrap(),
        None
    );

    // Revoking the family again keeps the first revocation time, for the record too.
    assert_eq!(
        store
            .revoke_refresh_family(&family, t(30), RevocationReason::ClientRequest, "test")
            .await
            .unwrap()
            .refresh_tokens_revoked,
        0
    );
    let later = refresh(&ada, &app, &family);
    assert!(!store.create_refresh_token(&later).await.unwrap());
    assert_eq!(
        store.find_refresh_token(&later.token_hash).await.unwrap(),
        stored(&later, None, Some(t(10)))
    );

    let bystander = refresh(&ada, &app, &random_id());
    assert!(store.create_refresh_token(&bystander).await.unwrap());
    assert_eq!(
        store
            .find_refresh_token(&bystander.token_hash)
            .await
            .unwrap(),
        stored(&bystander, None, None)
    );
}

/// Revoking a family, explicitly or through reuse, is remembered for that family only: its
/// later tokens are born revoked, while another family's stored token stays live and its new
/// ones are born live.
pub async fn refresh_revoking_a_family_records_only_that_family(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let (revoked, reused, untouched) = (random_id(), random_id(), random_id());
    let untouched_first = refresh(&ada, &app, &untouched);
    assert!(store.create_refresh_token(&untouched_first).await.unwrap());

    store
        .revoke_refresh_family(&revoked, t(10), RevocationReason::ClientRequest, "test")
        .await
        .unwrap();

    // Reuse revokes the family as `revoke_refresh_family` does, record included.
    let first = refresh(&ada, &app, &reused);
    assert!(store.create_refresh_token(&first).await.unwrap());
    store
        .rotate_refresh_token(&first.token_hash, &successor(&first, 20), t(20))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&first.token_hash, &successor(&first, 30), t(30))
            .await
            .unwrap(),
        RefreshRotation::Reused(first.clone())
    );

    for (family, revoked_at) in [(&revoked, t(10)), (&reused, t(30))] {
        let token = refresh(&ada, &app, family);
        assert!(
            !store.create_refresh_token(&token).await.unwrap(),
            "{family}"
        );
        assert_eq!(
            store.find_refresh_token(&token.token_hash).await.unwrap(),
            stored(&token, None, Some(revoked_at))
        );
    }
    let untouched_second = refresh(&ada, &app, &untouched);
    assert!(store.create_refresh_token(&untouched_second).await.unwrap());
    for token in [&untouched_first, &untouched_second] {
        assert_eq!(
            store.find_refresh_token(&token.token_hash).await.unwrap(),
            stored(token, None, None)
        );
    }
}

/// `delete_refresh_family_revocations(before)` forgets the families revoked at or before
/// `before` (their later tokens are live again) and keeps the others; tokens already stored
/// revoked stay revoked.
pub async fn refresh_family_revocations_delete_boundary(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let (long_gone, at_before, next_second) = (random_id(), random_id(), random_id());
    let stored_first = refresh(&ada, &app, &at_before);
    assert!(store.create_refresh_token(&stored_first).await.unwrap());
    for (family, at) in [(&long_gone, 10), (&at_before, 100), (&next_second, 101)] {
        store
            .revoke_refresh_family(family, t(at), RevocationReason::ClientRequest, "test")
            .await
            .unwrap();
    }

    assert_eq!(
        store
            .delete_refresh_family_revocations(t(100))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .delete_refresh_family_revocations(t(100))
            .await
            .unwrap(),
        0
    );
    for family in [&long_gone, &at_before] {
        let token = refresh(&ada, &app, family);
        assert!(
            store.create_refresh_token(&token).await.unwrap(),
            "{family}"
        );
    }
    let token = refresh(&ada, &app, &next_second);
    assert!(!store.create_refresh_token(&token).await.unwrap());
    assert_eq!(
        store
            .find_refresh_token(&stored_first.token_hash)
            .await
            .unwrap(),
        stored(&stored_first, None, Some(t(100)))
    );

    assert_eq!(
        store
            .delete_refresh_family_revocations(t(101))
            .await
            .unwrap(),
        1
    );
}

/// Revoking a grant revokes the access tokens issued with its refresh tokens that have not
/// expired, each with a token entry in the feed (issue 14 #5: they stayed valid for up to an
/// access-token lifetime): on reuse (reason `refresh-reuse`, by the family's client) and by
/// `revoke_refresh_family` (its reason and actor). Other families' tokens, expired ones and
/// tokens already revoked get no entry.
pub async fn refresh_revoking_a_grant_revokes_its_access_tokens(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let revoked_jti = |jti: &str, sid: &str, now: i64| {
        let (jti, sid, sub) = (jti.to_owned(), sid.to_owned(), ada.id.to_string());
        async move {
            let facts = TokenFacts {
                jti: &jti,
                sid: Some(&sid),
                sub: &sub,
                iat: t(0).unix_timestamp(),
            };
            store.is_access_token_revoked(&facts, t(now)).await.unwrap()
        }
    };
    let mut first = refresh(&ada, &app, "family");
    first.access_token = Some(access_token_at(0));
    let mut expired = refresh(&ada, &app, "family");
    expired.access_token = Some(tessera_core::IssuedAccessToken {
        jti: random_id(),
        expires_at: t(150),
    });
    let mut bystander = refresh(&ada, &app, "other-family");
    bystander.access_token = Some(access_token_at(0));
    for token in [&first, &expired, &bystander] {
        assert!(store.create_refresh_token(token).await.unwrap());
    }
    let second = successor(&first, 100);
    store
        .rotate_refresh_token(&first.token_hash, &second, t(100))
        .await
        .unwrap();
    let jti = |token: &RefreshToken| token.access_token.as_ref().unwrap().jti.clone();
    let sid = first.sid.to_string();
    assert!(!revoked_jti(&jti(&second), &sid, 200).await);

    let before = store.count_revocations().await.unwrap();
    assert_eq!(
        store
            .rotate_refresh_token(&first.token_hash, &successor(&first, 200), t(200))
            .await
            .unwrap(),
        RefreshRotation::Reused(first.clone())
    );
    assert_eq!(store.count_revocations().await.unwrap(), before + 2);
    assert!(revoked_jti(&jti(&first), &sid, 200).await);
    assert!(revoked_jti(&jti(&second), &sid, 200).await);
    assert!(!revoked_jti(&jti(&expired), &expired.sid.to_string(), 140).await);
    assert!(!revoked_jti(&jti(&bystander), &bystander.sid.to_string(), 200).await);
    let tessera_store::FeedRead::Entries(entries) = store.revocations_after(0, 100).await.unwrap()
    else {
        panic!("the feed should have entries");
    };
    let reuse: Vec<_> = entries
        .iter()
        .filter(|e| e.revocation.reason == RevocationReason::RefreshReuse)
        .collect();
    assert_eq!(reuse.len(), 2);
    for entry in &reuse {
        assert_eq!(entry.revocation.actor, "client:app");
        assert_eq!(entry.revocation.revoked_at, t(200));
    }
    assert_eq!(
        reuse[1].revocation.target,
        RevocationTarget::Token {
            jti: jti(&second),
            expires_at: t(1000)
        },
        "kept until the access token's own exp"
    );

    // Revoking the grant again adds nothing: its access tokens have their entries.
    let again = store
        .revoke_refresh_family("family", t(300), RevocationReason::ClientRequest, "test")
        .await
        .unwrap();
    assert_eq!(again.refresh_tokens_revoked, 0);
    assert!(again.access_tokens_revoked.is_empty());

    // The other family, revoked for its own reason.
    let other = store
        .revoke_refresh_family(
            "other-family",
            t(300),
            RevocationReason::ClientRequest,
            "client:app",
        )
        .await
        .unwrap();
    assert_eq!(other.refresh_tokens_revoked, 1);
    assert_eq!(other.access_tokens_revoked.len(), 1);
    let entry = &other.access_tokens_revoked[0].revocation;
    assert_eq!(entry.reason, RevocationReason::ClientRequest);
    assert_eq!(
        entry.target,
        RevocationTarget::Token {
            jti: jti(&bystander),
            expires_at: t(900)
        }
    );
    assert!(revoked_jti(&jti(&bystander), &bystander.sid.to_string(), 300).await);
}
