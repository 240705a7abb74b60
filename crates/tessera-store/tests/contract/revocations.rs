//! The revocation model: token entries (revoked access tokens by jti), session, user, claims
//! and global entries with their effects on sessions and refresh tokens, and the feed.

use super::sign_in::{random_id, refresh, session, user_and_client};
use super::{t, user};
use tessera_core::revocation::{new_jti, ISSUANCE_SLACK};
use tessera_core::{
    BrowserSession, Client, RefreshToken, Revocation, RevocationEntry, RevocationKind,
    RevocationReason, RevocationTarget, SessionId, TokenFacts, User, UserId,
};
use tessera_store::{FeedRead, ProbedStore, RevocationOutcome, StoreError};
use time::{Duration, OffsetDateTime};

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
pub async fn revoke_token(
    store: &dyn ProbedStore,
    jti: &str,
    expires_at: time::OffsetDateTime,
) -> bool {
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
pub async fn revocations_revoke_until_expiry_boundary(store: &dyn ProbedStore) {
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
pub async fn revocations_revoke_again_changes_nothing(store: &dyn ProbedStore) {
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
pub async fn revocations_delete_expired_boundary(store: &dyn ProbedStore) {
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

// ---------------------------------------------------------------------------------------------
// Session, user, claims and global entries

/// The longest access-token lifetime the entries of these tests are made for.
pub(super) const ACCESS_LIFETIME: Duration = Duration::minutes(15);

/// A revocation of `target` made at `t(at)` by an operator.
pub(super) fn revocation_at(target: RevocationTarget, at: i64) -> Revocation {
    Revocation::new(
        target,
        t(at),
        ACCESS_LIFETIME,
        RevocationReason::AdminRevoke,
        "cli",
    )
}

/// The session entry for `session`.
pub(super) fn session_target(session: &BrowserSession) -> RevocationTarget {
    RevocationTarget::Session {
        sid: session.sid.clone(),
        user_id: session.user_id.clone(),
    }
}

/// Applies `revocation`, which must be new.
pub(super) async fn revoke_new(
    store: &dyn ProbedStore,
    revocation: &Revocation,
) -> RevocationOutcome {
    store
        .revoke(revocation)
        .await
        .unwrap()
        .expect("a new entry is recorded")
}

/// An access token issued at `t(iat)`, with an optional sid.
fn facts<'a>(jti: &'a str, sid: Option<&'a str>, sub: &'a str, iat: i64) -> TokenFacts<'a> {
    TokenFacts {
        jti,
        sid,
        sub,
        iat: t(iat).unix_timestamp(),
    }
}

async fn access_revoked(store: &dyn ProbedStore, token: TokenFacts<'_>, now: i64) -> bool {
    store.is_access_token_revoked(&token, t(now)).await.unwrap()
}

/// A refresh token of its own family, bound to `sid` and issued at `t(issued)`.
fn refresh_in(user: &User, client: &Client, sid: &SessionId, issued: i64) -> RefreshToken {
    RefreshToken {
        sid: sid.clone(),
        issued_at: t(issued),
        ..refresh(user, client, &random_id())
    }
}

/// Stores `token`, expecting it to be stored current.
async fn store_live(store: &dyn ProbedStore, token: &RefreshToken) {
    assert!(store.create_refresh_token(token).await.unwrap());
}

/// The stored `revoked_at` of `token`.
async fn refresh_revoked_at(
    store: &dyn ProbedStore,
    token: &RefreshToken,
) -> Option<OffsetDateTime> {
    store
        .find_refresh_token(&token.token_hash)
        .await
        .unwrap()
        .expect("the token is stored")
        .revoked_at
}

fn sorted(mut sids: Vec<SessionId>) -> Vec<SessionId> {
    sids.sort();
    sids
}

/// A session entry ends that browser session and revokes the unrevoked refresh tokens carrying
/// its sid (and only those), and refuses every access token with the sid. Revoking the sid again
/// changes nothing.
pub async fn revocations_session_entry_ends_the_session_and_its_tokens(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let (ended, secret) = session(&ada, 3600);
    let (other, _) = session(&ada, 3600);
    store.create_session(&ended).await.unwrap();
    store.create_session(&other).await.unwrap();
    let first = refresh_in(&ada, &app, &ended.sid, 0);
    let second = refresh_in(&ada, &app, &ended.sid, 5);
    let already = refresh_in(&ada, &app, &ended.sid, 0);
    let bystander = refresh_in(&ada, &app, &other.sid, 0);
    for token in [&first, &second, &already, &bystander] {
        store_live(store, token).await;
    }
    assert_eq!(
        store
            .revoke_refresh_family(
                &already.family_id,
                t(3),
                RevocationReason::ClientRequest,
                "test"
            )
            .await
            .unwrap()
            .refresh_tokens_revoked,
        1
    );

    let revocation = revocation_at(session_target(&ended), 10);
    let outcome = revoke_new(store, &revocation).await;
    assert_eq!(outcome.entry.revocation, revocation);
    assert_eq!(outcome.sessions_ended, vec![ended.sid.clone()]);
    assert_eq!(outcome.refresh_tokens_revoked, 2);
    assert_eq!(outcome.logout_notifications, 0, "no client has a URI");

    assert_eq!(store.find_session(&ended.sid).await.unwrap(), None);
    assert_eq!(
        store.find_session_by_secret(&secret.hash()).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_session(&other.sid).await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(refresh_revoked_at(store, &first).await, Some(t(10)));
    assert_eq!(refresh_revoked_at(store, &second).await, Some(t(10)));
    assert_eq!(
        refresh_revoked_at(store, &already).await,
        Some(t(3)),
        "an earlier revocation stands"
    );
    assert_eq!(refresh_revoked_at(store, &bystander).await, None);

    let jti = new_jti();
    let (sid, other_sid, sub) = (ended.sid.as_str(), other.sid.as_str(), ada.id.as_str());
    // Whatever its iat: a session entry covers by sid.
    assert!(access_revoked(store, facts(&jti, Some(sid), sub, 0), 10).await);
    assert!(access_revoked(store, facts(&jti, Some(sid), sub, 500), 500).await);
    assert!(!access_revoked(store, facts(&jti, Some(other_sid), sub, 0), 10).await);
    assert!(!access_revoked(store, facts(&jti, None, sub, 0), 10).await);
    // Kept until its expiry, not after.
    let expires = revocation.expires_at.unix_timestamp() - t(0).unix_timestamp();
    assert!(access_revoked(store, facts(&jti, Some(sid), sub, 0), expires - 1).await);
    assert!(!access_revoked(store, facts(&jti, Some(sid), sub, 0), expires).await);
    assert_eq!(store.count_revocations().await.unwrap(), 1);

    // Again (say a second logout racing the first): nothing recorded, nothing changed.
    let again = revocation_at(session_target(&ended), 20);
    assert_eq!(store.revoke(&again).await.unwrap(), None);
    assert_eq!(store.count_revocations().await.unwrap(), 1);
    assert_eq!(
        store.find_session(&other.sid).await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(refresh_revoked_at(store, &bystander).await, None);
    assert_eq!(refresh_revoked_at(store, &first).await, Some(t(10)));

    // Another sid of the same user is a new entry.
    let outcome = revoke_new(store, &revocation_at(session_target(&other), 30)).await;
    assert_eq!(outcome.sessions_ended, vec![other.sid.clone()]);
    assert_eq!(outcome.refresh_tokens_revoked, 1);
    assert!(outcome.entry.cursor > 0);
    assert_eq!(store.count_revocations().await.unwrap(), 2);
}

/// A session entry needs something to end: the session, or an unrevoked refresh token with
/// its sid. For an unknown sid it is `NotFound` and records nothing.
pub async fn revocations_session_entry_for_an_unknown_sid_is_not_found(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let unknown = RevocationTarget::Session {
        sid: SessionId::generate(),
        user_id: ada.id.clone(),
    };
    let err = store.revoke(&revocation_at(unknown, 10)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // A sid whose only refresh token is revoked already has nothing left to end either.
    let gone = SessionId::generate();
    let revoked = refresh_in(&ada, &app, &gone, 0);
    store_live(store, &revoked).await;
    store
        .revoke_refresh_family(
            &revoked.family_id,
            t(5),
            RevocationReason::ClientRequest,
            "test",
        )
        .await
        .unwrap();
    let target = RevocationTarget::Session {
        sid: gone.clone(),
        user_id: ada.id.clone(),
    };
    let err = store.revoke(&revocation_at(target, 10)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    assert_eq!(store.count_revocations().await.unwrap(), 0);
    let snapshot = store.revocation_snapshot(t(10)).await.unwrap();
    assert!(snapshot.entries.is_empty());
    assert_eq!(snapshot.cursor, 0);
    assert!(store.recent_audit(10).await.unwrap().is_empty());
    assert!(
        !access_revoked(
            store,
            facts("j", Some(gone.as_str()), ada.id.as_str(), 0),
            10
        )
        .await
    );

    // A sid whose browser session has ended but whose refresh token lives on can be revoked.
    let lingering = SessionId::generate();
    let token = refresh_in(&ada, &app, &lingering, 0);
    store_live(store, &token).await;
    let target = RevocationTarget::Session {
        sid: lingering.clone(),
        user_id: ada.id.clone(),
    };
    let outcome = revoke_new(store, &revocation_at(target, 20)).await;
    assert!(outcome.sessions_ended.is_empty());
    assert_eq!(outcome.refresh_tokens_revoked, 1);
    assert_eq!(refresh_revoked_at(store, &token).await, Some(t(20)));

    // And a session without any refresh token can.
    let (bare, _) = session(&ada, 3600);
    store.create_session(&bare).await.unwrap();
    let outcome = revoke_new(store, &revocation_at(session_target(&bare), 30)).await;
    assert_eq!(outcome.sessions_ended, vec![bare.sid.clone()]);
    assert_eq!(outcome.refresh_tokens_revoked, 0);
    assert_eq!(store.count_revocations().await.unwrap(), 2);
}

/// After a session entry, a refresh token stored with that sid is born revoked (a code issued
/// in the session and redeemed after the logout gets no live refresh token).
pub async fn revocations_session_entry_makes_later_refresh_tokens_born_revoked(
    store: &dyn ProbedStore,
) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let (ended, _) = session(&ada, 3600);
    let (kept, _) = session(&ada, 3600);
    store.create_session(&ended).await.unwrap();
    store.create_session(&kept).await.unwrap();
    revoke_new(store, &revocation_at(session_target(&ended), 10)).await;

    let late = refresh_in(&ada, &app, &ended.sid, 20);
    assert!(!store.create_refresh_token(&late).await.unwrap());
    assert_eq!(refresh_revoked_at(store, &late).await, Some(t(10)));

    let other = refresh_in(&ada, &app, &kept.sid, 20);
    assert!(store.create_refresh_token(&other).await.unwrap());
    assert_eq!(refresh_revoked_at(store, &other).await, None);
}

/// A user entry ends every browser session of the user (not other users'), revokes their
/// refresh tokens issued before `not_before`, makes later refresh tokens issued before it born
/// revoked, and refuses their access tokens issued before it.
pub async fn revocations_user_entry_ends_everything_issued_before(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    let (ada_1, _) = session(&ada, 3600);
    let (ada_2, _) = session(&ada, 3600);
    let (bob_1, _) = session(&bob, 3600);
    for s in [&ada_1, &ada_2, &bob_1] {
        store.create_session(s).await.unwrap();
    }
    let old = refresh_in(&ada, &app, &ada_1.sid, 0);
    let older_elsewhere = refresh_in(&ada, &app, &SessionId::generate(), 100);
    // Stored before the entry but issued at its not_before (t(101)): not covered.
    let at_not_before = refresh_in(&ada, &app, &SessionId::generate(), 101);
    let bobs = refresh_in(&bob, &app, &bob_1.sid, 0);
    for token in [&old, &older_elsewhere, &at_not_before, &bobs] {
        store_live(store, token).await;
    }

    let revocation = revocation_at(
        RevocationTarget::User {
            user_id: ada.id.clone(),
        },
        100,
    );
    assert_eq!(revocation.not_before, Some(t(101)));
    let outcome = revoke_new(store, &revocation).await;
    assert_eq!(outcome.entry.revocation, revocation);
    assert_eq!(
        sorted(outcome.sessions_ended),
        sorted(vec![ada_1.sid.clone(), ada_2.sid.clone()])
    );
    assert_eq!(outcome.refresh_tokens_revoked, 2);

    assert_eq!(store.find_session(&ada_1.sid).await.unwrap(), None);
    assert_eq!(store.find_session(&ada_2.sid).await.unwrap(), None);
    assert_eq!(store.find_session(&bob_1.sid).await.unwrap(), Some(bob_1));
    assert_eq!(refresh_revoked_at(store, &old).await, Some(t(100)));
    assert_eq!(
        refresh_revoked_at(store, &older_elsewhere).await,
        Some(t(100))
    );
    assert_eq!(refresh_revoked_at(store, &at_not_before).await, None);
    assert_eq!(refresh_revoked_at(store, &bobs).await, None);

    // Refresh tokens stored afterwards: live from not_before on, born revoked before it.
    let fresh = refresh_in(&ada, &app, &SessionId::generate(), 101);
    assert!(store.create_refresh_token(&fresh).await.unwrap());
    let stale = refresh_in(&ada, &app, &SessionId::generate(), 100);
    assert!(!store.create_refresh_token(&stale).await.unwrap());
    assert_eq!(refresh_revoked_at(store, &stale).await, Some(t(100)));
    let bobs_stale = refresh_in(&bob, &app, &SessionId::generate(), 50);
    assert!(store.create_refresh_token(&bobs_stale).await.unwrap());

    // Access tokens: the user's (with a sid) issued before not_before.
    let jti = new_jti();
    let (a, b) = (ada.id.as_str(), bob.id.as_str());
    assert!(access_revoked(store, facts(&jti, Some("any-sid"), a, 100), 100).await);
    assert!(access_revoked(store, facts(&jti, Some("any-sid"), a, 0), 100).await);
    assert!(!access_revoked(store, facts(&jti, Some("any-sid"), a, 101), 101).await);
    assert!(!access_revoked(store, facts(&jti, Some("any-sid"), b, 50), 100).await);
    // A client_credentials token (no sid) whose subject spells the user id is not the user's.
    assert!(!access_revoked(store, facts(&jti, None, a, 50), 100).await);

    // An unknown user is NotFound, and records nothing.
    let ghost = RevocationTarget::User {
        user_id: UserId::generate(),
    };
    let err = store.revoke(&revocation_at(ghost, 200)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.count_revocations().await.unwrap(), 1);
}

/// A claims entry refuses the user's access tokens issued before `not_before`, but leaves
/// sessions and refresh tokens alone (refresh brings tokens with the new claims).
pub async fn revocations_claims_entry_covers_only_access_tokens(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    let token = refresh_in(&ada, &app, &signed_in.sid, 0);
    store_live(store, &token).await;

    let revocation = revocation_at(
        RevocationTarget::UserClaims {
            user_id: ada.id.clone(),
        },
        100,
    );
    let outcome = revoke_new(store, &revocation).await;
    assert_eq!(outcome.entry.revocation, revocation);
    assert!(outcome.sessions_ended.is_empty());
    assert_eq!(outcome.refresh_tokens_revoked, 0);
    assert_eq!(outcome.logout_notifications, 0);
    assert_eq!(
        store.find_session(&signed_in.sid).await.unwrap(),
        Some(signed_in.clone())
    );
    assert_eq!(refresh_revoked_at(store, &token).await, None);
    // A refresh token issued before not_before and stored afterwards is live too.
    let late = refresh_in(&ada, &app, &signed_in.sid, 50);
    assert!(store.create_refresh_token(&late).await.unwrap());

    let (jti, sid) = (new_jti(), signed_in.sid.as_str());
    let (a, b) = (ada.id.as_str(), bob.id.as_str());
    assert!(access_revoked(store, facts(&jti, Some(sid), a, 100), 100).await);
    assert!(!access_revoked(store, facts(&jti, Some(sid), a, 101), 101).await);
    assert!(!access_revoked(store, facts(&jti, Some(sid), b, 50), 100).await);
    assert!(!access_revoked(store, facts(&jti, None, a, 50), 100).await);

    let ghost = RevocationTarget::UserClaims {
        user_id: UserId::generate(),
    };
    let err = store.revoke(&revocation_at(ghost, 200)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.count_revocations().await.unwrap(), 1);
}

/// A global entry refuses every access token issued before `not_before`, client_credentials
/// ones included, and revokes every refresh token issued before it; sessions stay.
pub async fn revocations_global_entry_covers_every_older_token(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    let (ada_1, _) = session(&ada, 3600);
    let (bob_1, _) = session(&bob, 3600);
    store.create_session(&ada_1).await.unwrap();
    store.create_session(&bob_1).await.unwrap();
    let adas = refresh_in(&ada, &app, &ada_1.sid, 0);
    let bobs = refresh_in(&bob, &app, &bob_1.sid, 100);
    let newer = refresh_in(&bob, &app, &bob_1.sid, 101);
    for token in [&adas, &bobs, &newer] {
        store_live(store, token).await;
    }

    let revocation = Revocation::new(
        RevocationTarget::Global,
        t(100),
        ACCESS_LIFETIME,
        RevocationReason::KeyRotation,
        "cli",
    );
    let outcome = revoke_new(store, &revocation).await;
    assert_eq!(outcome.entry.revocation, revocation);
    assert!(outcome.sessions_ended.is_empty());
    assert_eq!(outcome.refresh_tokens_revoked, 2);
    assert_eq!(refresh_revoked_at(store, &adas).await, Some(t(100)));
    assert_eq!(refresh_revoked_at(store, &bobs).await, Some(t(100)));
    assert_eq!(refresh_revoked_at(store, &newer).await, None);
    assert_eq!(store.find_session(&ada_1.sid).await.unwrap(), Some(ada_1));
    assert_eq!(store.find_session(&bob_1.sid).await.unwrap(), Some(bob_1));

    let late = refresh_in(&ada, &app, &SessionId::generate(), 99);
    assert!(!store.create_refresh_token(&late).await.unwrap());
    assert_eq!(refresh_revoked_at(store, &late).await, Some(t(100)));
    let fresh = refresh_in(&ada, &app, &SessionId::generate(), 101);
    assert!(store.create_refresh_token(&fresh).await.unwrap());

    let jti = new_jti();
    let a = ada.id.as_str();
    assert!(access_revoked(store, facts(&jti, None, "app", 100), 100).await);
    assert!(access_revoked(store, facts(&jti, Some("s"), a, 0), 100).await);
    assert!(!access_revoked(store, facts(&jti, None, "app", 101), 101).await);
    assert!(!access_revoked(store, facts(&jti, Some("s"), a, 101), 101).await);
    assert_eq!(
        store.latest_not_before(None, t(100)).await.unwrap(),
        Some(t(101))
    );
}

/// `latest_not_before` is the newest `not_before` of the live user and claims entries of the
/// user and of the global entries; token and session entries have none, and expired entries
/// no longer count.
pub async fn revocations_latest_not_before_takes_the_newest_live_entry(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let latest = |user: Option<&UserId>, now: i64| {
        let user = user.cloned();
        async move {
            store
                .latest_not_before(user.as_ref(), t(now))
                .await
                .unwrap()
        }
    };
    assert_eq!(latest(Some(&ada.id), 0).await, None);
    assert_eq!(latest(None, 0).await, None);

    let by_user = revocation_at(
        RevocationTarget::User {
            user_id: ada.id.clone(),
        },
        100,
    );
    revoke_new(store, &by_user).await;
    assert_eq!(latest(Some(&ada.id), 100).await, Some(t(101)));
    assert_eq!(latest(Some(&bob.id), 100).await, None, "another user");
    assert_eq!(latest(None, 100).await, None, "only global entries count");

    let by_claims = revocation_at(
        RevocationTarget::UserClaims {
            user_id: ada.id.clone(),
        },
        200,
    );
    revoke_new(store, &by_claims).await;
    assert_eq!(latest(Some(&ada.id), 200).await, Some(t(201)));

    let global = revocation_at(RevocationTarget::Global, 150);
    revoke_new(store, &global).await;
    assert_eq!(latest(Some(&ada.id), 200).await, Some(t(201)));
    assert_eq!(latest(Some(&bob.id), 200).await, Some(t(151)));
    assert_eq!(latest(None, 200).await, Some(t(151)));

    // Session and token entries have no not_before.
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    revoke_new(store, &revocation_at(session_target(&signed_in), 300)).await;
    assert!(revoke_token(store, &new_jti(), t(900)).await);
    assert_eq!(latest(Some(&ada.id), 300).await, Some(t(201)));
    assert_eq!(latest(Some(&bob.id), 300).await, Some(t(151)));

    // Expired entries no longer count (swept or not).
    let secs = |at: OffsetDateTime| at.unix_timestamp() - t(0).unix_timestamp();
    let (user_exp, claims_exp, global_exp) = (
        secs(by_user.expires_at),
        secs(by_claims.expires_at),
        secs(global.expires_at),
    );
    assert!(user_exp < global_exp && global_exp < claims_exp);
    // The claims entry is newer and still live: it stays the answer for ada.
    assert_eq!(latest(Some(&ada.id), user_exp).await, Some(t(201)));
    assert_eq!(latest(Some(&bob.id), global_exp - 1).await, Some(t(151)));
    assert_eq!(latest(Some(&bob.id), global_exp).await, None);
    assert_eq!(latest(None, global_exp).await, None);
    assert_eq!(latest(Some(&ada.id), claims_exp - 1).await, Some(t(201)));
    assert_eq!(latest(Some(&ada.id), claims_exp).await, None);

    // A user entry newer than every global one is the answer for its user only.
    let again = revocation_at(
        RevocationTarget::User {
            user_id: bob.id.clone(),
        },
        1000,
    );
    revoke_new(store, &again).await;
    let older_global = revocation_at(RevocationTarget::Global, 999);
    revoke_new(store, &older_global).await;
    assert_eq!(latest(Some(&bob.id), 1000).await, Some(t(1001)));
    assert_eq!(latest(None, 1000).await, Some(t(1000)));
}

// ---------------------------------------------------------------------------------------------
// The feed

/// One entry of every kind, each with its own reason and actor, made at t(10), t(20), ….
async fn one_of_each_kind(store: &dyn ProbedStore) -> Vec<RevocationEntry> {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    let revocations = [
        Revocation::new(
            RevocationTarget::Token {
                jti: new_jti(),
                expires_at: t(910),
            },
            t(10),
            ACCESS_LIFETIME,
            RevocationReason::CodeReplay,
            "system",
        ),
        Revocation::new(
            session_target(&signed_in),
            t(20),
            ACCESS_LIFETIME,
            RevocationReason::Logout,
            format!("user:{}", ada.id),
        ),
        Revocation::new(
            RevocationTarget::User {
                user_id: ada.id.clone(),
            },
            t(30),
            ACCESS_LIFETIME,
            RevocationReason::PasswordChange,
            format!("user:{}", ada.id),
        ),
        Revocation::new(
            RevocationTarget::UserClaims {
                user_id: ada.id.clone(),
            },
            t(40),
            Duration::minutes(5),
            RevocationReason::RolesChange,
            "cli",
        ),
        Revocation::new(
            RevocationTarget::Global,
            t(50),
            ACCESS_LIFETIME,
            RevocationReason::KeyRotation,
            "cli",
        ),
    ];
    let mut entries = Vec::new();
    for revocation in revocations {
        let outcome = revoke_new(store, &revocation).await;
        assert_eq!(outcome.entry.revocation, revocation);
        entries.push(outcome.entry);
    }
    entries
}

fn entries(read: FeedRead) -> Vec<RevocationEntry> {
    match read {
        FeedRead::Entries(entries) => entries,
        other => panic!("expected entries, got {other:?}"),
    }
}

/// The feed hands out every entry once, in cursor order, page by page; cursors strictly
/// increase; entries come back exactly as they were made; a cursor beyond the newest is
/// `Ahead`.
pub async fn revocations_feed_pages_in_cursor_order(store: &dyn ProbedStore) {
    assert_eq!(
        store.revocations_after(0, 10).await.unwrap(),
        FeedRead::Entries(vec![])
    );
    let made = one_of_each_kind(store).await;
    assert!(
        made.windows(2).all(|w| w[0].cursor < w[1].cursor),
        "{made:?}"
    );
    assert!(made[0].cursor > 0);
    let kinds: Vec<RevocationKind> = made.iter().map(|e| e.revocation.kind()).collect();
    assert_eq!(kinds, RevocationKind::ALL);

    // Everything at once: decoded exactly as stored (kind, target, times, reason, actor).
    assert_eq!(
        entries(store.revocations_after(0, 100).await.unwrap()),
        made
    );

    // Page by page.
    for limit in [1, 2, 3] {
        let mut cursor = 0;
        let mut read = Vec::new();
        loop {
            let page = entries(store.revocations_after(cursor, limit).await.unwrap());
            assert!(page.len() <= limit as usize);
            let Some(last) = page.last() else { break };
            cursor = last.cursor;
            read.extend(page);
        }
        assert_eq!(read, made, "pages of {limit}");
    }
    // From the middle.
    assert_eq!(
        entries(store.revocations_after(made[2].cursor, 2).await.unwrap()),
        made[3..5]
    );

    let newest = made[4].cursor;
    assert_eq!(
        store.revocations_after(newest, 10).await.unwrap(),
        FeedRead::Entries(vec![])
    );
    assert_eq!(
        store.revocations_after(newest + 1, 10).await.unwrap(),
        FeedRead::Ahead
    );
    assert_eq!(
        store.revocations_after(newest + 1000, 10).await.unwrap(),
        FeedRead::Ahead
    );

    // The snapshot: every live entry, and the newest cursor.
    let snapshot = store.revocation_snapshot(t(50)).await.unwrap();
    assert_eq!(snapshot.entries, made);
    assert_eq!(snapshot.cursor, newest);
}

/// The snapshot holds only live entries (`expires_at > now`), swept or not, and the newest
/// cursor ever handed out.
pub async fn revocations_snapshot_holds_only_live_entries(store: &dyn ProbedStore) {
    assert_eq!(store.revocation_snapshot(t(0)).await.unwrap().cursor, 0);
    let made = one_of_each_kind(store).await;
    // The claims entry was made for 5-minute tokens and the token entry for t(910): they
    // expire first.
    let claims_exp = made[3].revocation.expires_at;
    let token_exp = made[0].revocation.expires_at;
    assert!(claims_exp < token_exp);
    let newest = made[4].cursor;

    let snapshot = store.revocation_snapshot(claims_exp).await.unwrap();
    let expected: Vec<_> = [0, 1, 2, 4].iter().map(|&i| made[i].clone()).collect();
    assert_eq!(snapshot.entries, expected);
    assert_eq!(snapshot.cursor, newest);

    let snapshot = store.revocation_snapshot(token_exp).await.unwrap();
    let expected: Vec<_> = [1, 2, 4].iter().map(|&i| made[i].clone()).collect();
    assert_eq!(snapshot.entries, expected);

    // Swept, the snapshot is the same, and the cursor stays.
    assert_eq!(
        store.delete_expired_revocations(token_exp).await.unwrap(),
        2
    );
    let swept = store.revocation_snapshot(token_exp).await.unwrap();
    assert_eq!(swept.entries, expected);
    assert_eq!(swept.cursor, newest);

    let far = t(1_000_000);
    let snapshot = store.revocation_snapshot(far).await.unwrap();
    assert!(snapshot.entries.is_empty());
    assert_eq!(snapshot.cursor, newest);
}

/// Follows a snapshot page by page (`limit` entries at a time) at `now`, from a new snapshot
/// or from `first`; returns the entries and the snapshot's cursor. `between` runs after each
/// page, before the next is read.
async fn follow_snapshot(
    store: &dyn ProbedStore,
    now: OffsetDateTime,
    limit: u32,
    mut between: impl FnMut(usize) -> Option<OffsetDateTime>,
) -> (Vec<RevocationEntry>, i64, usize) {
    let first = store
        .revocation_snapshot_page(now, None, 0, limit)
        .await
        .unwrap()
        .expect("a new snapshot always begins");
    let cursor = first.cursor;
    let mut pages = 1;
    let mut read = first.entries;
    let mut next = first.next;
    while let Some(after) = next {
        assert!(read.len() <= pages * limit.max(1) as usize);
        if let Some(sweep) = between(pages) {
            store.delete_expired_revocations(sweep).await.unwrap();
        }
        let page = store
            .revocation_snapshot_page(now, Some(cursor), after, limit)
            .await
            .unwrap()
            .expect("the snapshot's cursor stays valid");
        assert_eq!(
            page.cursor, cursor,
            "every page names the snapshot's cursor"
        );
        assert!(page.entries.len() <= limit.max(1) as usize);
        assert!(page.entries.iter().all(|e| e.cursor > after));
        read.extend(page.entries);
        next = page.next;
        pages += 1;
    }
    (read, cursor, pages)
}

/// A snapshot read page by page holds every live entry up to its cursor once, in cursor order,
/// whatever the page size; entries made after it began are left to the incremental feed; an
/// entry swept between pages is absent (it had expired) and the rest still come; a snapshot
/// cursor beyond the newest is refused (`None`).
pub async fn revocations_snapshot_pages_hold_every_live_entry_once(store: &dyn ProbedStore) {
    let empty = store
        .revocation_snapshot_page(t(0), None, 0, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (empty.entries.len(), empty.cursor, empty.next),
        (0, 0, None)
    );

    // Twelve token entries; every third expires early (at t(100)), the rest at t(1000).
    let mut jtis = Vec::new();
    for i in 0..12 {
        let jti = format!("page-{i}");
        let expires_at = if i % 3 == 0 { t(100) } else { t(1000) };
        assert!(revoke_token(store, &jti, expires_at).await);
        jtis.push(jti);
    }
    let all = entries(store.revocations_after(0, 100).await.unwrap());
    let newest = all.last().unwrap().cursor;
    let live_at = |now: OffsetDateTime| -> Vec<RevocationEntry> {
        all.iter()
            .filter(|e| e.revocation.expires_at > now)
            .cloned()
            .collect()
    };

    for limit in [0, 1, 2, 3, 5, 8, 100] {
        let (read, cursor, pages) = follow_snapshot(store, t(50), limit, |_| None).await;
        assert_eq!(read, live_at(t(50)), "pages of {limit}");
        assert_eq!(cursor, newest);
        let per_page = limit.max(1) as usize;
        assert_eq!(pages, 12usize.div_ceil(per_page).max(1), "pages of {limit}");
        let (read, _, _) = follow_snapshot(store, t(200), limit, |_| None).await;
        assert_eq!(read, live_at(t(200)), "pages of {limit} at t(200)");
    }

    // Entries made after the snapshot began are not part of it: they come after its cursor.
    let first = store
        .revocation_snapshot_page(t(50), None, 0, 4)
        .await
        .unwrap()
        .unwrap();
    assert!(revoke_token(store, "later", t(1000)).await);
    let mut read = first.entries;
    let mut next = first.next;
    while let Some(after) = next {
        let page = store
            .revocation_snapshot_page(t(50), Some(first.cursor), after, 4)
            .await
            .unwrap()
            .unwrap();
        read.extend(page.entries);
        next = page.next;
    }
    assert_eq!(read, live_at(t(50)));
    let later = entries(store.revocations_after(first.cursor, 10).await.unwrap());
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].revocation.target.ids().jti, Some("later"));

    // A sweep between pages removes only expired entries: the snapshot still ends with the
    // live set at the time of its pages.
    let (read, _, _) =
        follow_snapshot(store, t(200), 2, |pages| (pages == 1).then(|| t(100))).await;
    assert_eq!(read.len(), 9, "{read:?}");
    assert!(read.iter().all(|e| e.revocation.expires_at > t(200)));

    // A snapshot cursor from another store (beyond the newest) is refused.
    let newest = later[0].cursor;
    assert_eq!(
        store
            .revocation_snapshot_page(t(50), Some(newest + 1), 0, 10)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .revocation_snapshot_page(t(50), Some(newest), newest, 10)
        .await
        .unwrap()
        .is_some_and(|p| p.entries.is_empty() && p.next.is_none()));
}

/// Sweeping an entry past a reader's cursor sends that reader to resync (`Behind`); readers at
/// or after the swept entry read on. Cursors are never reused, even after the newest entries
/// are swept.
pub async fn revocations_feed_readers_behind_a_sweep_resync(store: &dyn ProbedStore) {
    let (first, second, third) = (new_jti(), new_jti(), new_jti());
    assert!(revoke_token(store, &first, t(500)).await);
    assert!(revoke_token(store, &second, t(100)).await);
    assert!(revoke_token(store, &third, t(600)).await);
    let made = entries(store.revocations_after(0, 10).await.unwrap());
    assert_eq!(made.len(), 3);
    let (c1, c2, c3) = (made[0].cursor, made[1].cursor, made[2].cursor);
    assert!(c1 < c2 && c2 < c3);

    // Only the middle one expires.
    assert_eq!(store.delete_expired_revocations(t(100)).await.unwrap(), 1);
    assert_eq!(
        store.revocations_after(0, 10).await.unwrap(),
        FeedRead::Behind
    );
    assert_eq!(
        store.revocations_after(c1, 10).await.unwrap(),
        FeedRead::Behind
    );
    assert_eq!(
        entries(store.revocations_after(c2, 10).await.unwrap()),
        made[2..]
    );
    assert_eq!(
        store.revocations_after(c3, 10).await.unwrap(),
        FeedRead::Entries(vec![])
    );
    let snapshot = store.revocation_snapshot(t(100)).await.unwrap();
    assert_eq!(snapshot.entries, vec![made[0].clone(), made[2].clone()]);
    assert_eq!(snapshot.cursor, c3);

    // Sweeping the rest, newest included.
    assert_eq!(store.delete_expired_revocations(t(600)).await.unwrap(), 2);
    assert_eq!(store.count_revocations().await.unwrap(), 0);
    assert_eq!(
        store.revocations_after(c2, 10).await.unwrap(),
        FeedRead::Behind
    );
    assert_eq!(
        store.revocations_after(c3, 10).await.unwrap(),
        FeedRead::Entries(vec![])
    );
    assert_eq!(
        store.revocations_after(c3 + 1, 10).await.unwrap(),
        FeedRead::Ahead
    );
    let snapshot = store.revocation_snapshot(t(600)).await.unwrap();
    assert!(snapshot.entries.is_empty());
    assert_eq!(snapshot.cursor, c3, "the newest cursor is remembered");

    // A new entry gets a cursor never handed out before.
    let fourth = new_jti();
    assert!(revoke_token(store, &fourth, t(2000)).await);
    let after = entries(store.revocations_after(c3, 10).await.unwrap());
    assert_eq!(after.len(), 1);
    assert!(after[0].cursor > c3, "{} reused", after[0].cursor);
    assert_eq!(
        after[0].revocation.target,
        RevocationTarget::Token {
            jti: fourth,
            expires_at: t(2000)
        }
    );
    assert_eq!(
        store.revocations_after(c2, 10).await.unwrap(),
        FeedRead::Behind
    );
    assert_eq!(
        store.revocation_snapshot(t(600)).await.unwrap().cursor,
        after[0].cursor
    );
}

/// Entries are kept only as long as a token they cover can be valid: however many were made,
/// after a sweep only those made within one access-token lifetime (plus the issuance slack and
/// the not_before second) remain.
pub async fn revocations_state_stays_bounded(store: &dyn ProbedStore) {
    let (ada, _) = user_and_client(store, "ada@example.com", "app").await;
    const STEP: i64 = 45;
    let window = (ACCESS_LIFETIME + ISSUANCE_SLACK + Duration::seconds(1)).whole_seconds();
    let mut made_at = Vec::new();
    for i in 0..160 {
        let now = i * STEP;
        let target = match i % 5 {
            0 => RevocationTarget::Token {
                jti: new_jti(),
                expires_at: t(now) + ACCESS_LIFETIME,
            },
            1 => {
                let (signed_in, _) = session(&ada, 1_000_000);
                store.create_session(&signed_in).await.unwrap();
                session_target(&signed_in)
            }
            2 => RevocationTarget::User {
                user_id: ada.id.clone(),
            },
            3 => RevocationTarget::UserClaims {
                user_id: ada.id.clone(),
            },
            _ => RevocationTarget::Global,
        };
        revoke_new(store, &revocation_at(target, now)).await;
        made_at.push(now);
        store.delete_expired_revocations(t(now)).await.unwrap();

        let within = made_at.iter().filter(|&&at| at > now - window).count() as u64;
        let count = store.count_revocations().await.unwrap();
        assert!(
            count <= within,
            "t({now}): {count} entries kept, {within} made in one window"
        );
        assert!(count >= 1);
    }

    let now = 159 * STEP;
    let kept = store.revocation_snapshot(t(now)).await.unwrap().entries;
    assert_eq!(kept.len() as u64, store.count_revocations().await.unwrap());
    assert!((kept.len() as i64) <= window / STEP + 1);
    for entry in &kept {
        assert!(
            entry.revocation.revoked_at > t(now - window),
            "{entry:?} outlived its window"
        );
    }
    // And much later, nothing is left.
    store
        .delete_expired_revocations(t(now + window))
        .await
        .unwrap();
    assert_eq!(store.count_revocations().await.unwrap(), 0);
}
