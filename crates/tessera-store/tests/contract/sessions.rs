//! Browser sessions.

use super::sign_in::{code, fresh_hash, refresh, session, user_and_client};
use super::{strings, t, user};
use tessera_core::{BrowserSession, CodeRedemption, SessionId};
use tessera_store::{ProbedStore, SessionSummary, StoreError};

/// Sessions come back exactly as stored, by sid and by the hash of their cookie secret; unknown
/// sids and secrets find nothing.
pub async fn sessions_round_trip(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (full, secret) = session(&ada, 3600);
    let (mut bare, bare_secret) = session(&ada, 60);
    bare.amr = vec![];
    bare.user_agent = None;
    store.create_session(&full).await.unwrap();
    store.create_session(&bare).await.unwrap();

    assert_eq!(
        store.find_session(&full.sid).await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.find_session_by_secret(&secret.hash()).await.unwrap(),
        Some(full.clone())
    );
    let found = store.find_session(&bare.sid).await.unwrap().unwrap();
    assert_eq!(found, bare);
    assert!(found.amr.is_empty());
    assert_eq!(
        store
            .find_session_by_secret(&bare_secret.hash())
            .await
            .unwrap(),
        Some(bare)
    );

    assert_eq!(
        store.find_session(&SessionId::generate()).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_session_by_secret(&fresh_hash()).await.unwrap(),
        None
    );
    // The sid is public; it is not a cookie secret.
    let sid_as_secret = tessera_core::client::SecretHash::of(full.sid.as_str());
    assert_eq!(
        store.find_session_by_secret(&sid_as_secret).await.unwrap(),
        None
    );
}

/// A second session with a taken sid or a taken secret hash is a conflict and stores nothing.
pub async fn sessions_duplicate_sid_or_secret_conflicts(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (first, _) = session(&ada, 3600);
    store.create_session(&first).await.unwrap();

    let (mut same_sid, _) = session(&ada, 7200);
    same_sid.sid = first.sid.clone();
    let err = store.create_session(&same_sid).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store
            .find_session_by_secret(&same_sid.secret_hash)
            .await
            .unwrap(),
        None
    );

    let (mut same_secret, _) = session(&ada, 7200);
    same_secret.secret_hash = first.secret_hash.clone();
    let err = store.create_session(&same_secret).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_session(&same_secret.sid).await.unwrap(), None);

    assert_eq!(store.find_session(&first.sid).await.unwrap(), Some(first));
}

/// A session for a user that does not exist is `NotFound` and stores nothing.
pub async fn sessions_need_an_existing_user(store: &dyn ProbedStore) {
    let ghost = user("ghost@example.com");
    let (orphan, _) = session(&ghost, 3600);
    let err = store.create_session(&orphan).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.find_session(&orphan.sid).await.unwrap(), None);
}

/// Recording a session as seen moves `last_seen_at` forward, never back, touches no other
/// session, and is a no-op for an unknown sid.
pub async fn sessions_record_seen_moves_forward_only(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (used, _) = session(&ada, 3600);
    let (idle, _) = session(&ada, 3600);
    store.create_session(&used).await.unwrap();
    store.create_session(&idle).await.unwrap();

    store.record_session_seen(&used.sid, t(600)).await.unwrap();
    // A node with an older idea of now does not move it back.
    store.record_session_seen(&used.sid, t(300)).await.unwrap();
    store
        .record_session_seen(&SessionId::generate(), t(600))
        .await
        .unwrap();

    let found = store.find_session(&used.sid).await.unwrap().unwrap();
    assert_eq!(
        found,
        BrowserSession {
            last_seen_at: t(600),
            ..used
        }
    );
    assert_eq!(store.find_session(&idle.sid).await.unwrap(), Some(idle));
}

/// Re-authentication replaces the secret, `auth_time` and `amr` and nothing else; the old
/// secret stops finding the session, and other sessions are untouched.
pub async fn sessions_reauthenticate_replaces_secret_and_authentication(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (original, old_secret) = session(&ada, 3600);
    let (other, other_secret) = session(&ada, 3600);
    store.create_session(&original).await.unwrap();
    store.create_session(&other).await.unwrap();

    let new_secret = fresh_hash();
    let amr = strings(&["pwd", "hwk", "mfa"]);
    store
        .reauthenticate_session(&original.sid, &new_secret, t(900), &amr)
        .await
        .unwrap();

    let expected = BrowserSession {
        secret_hash: new_secret.clone(),
        auth_time: t(900),
        last_seen_at: t(900),
        amr,
        ..original.clone()
    };
    assert_eq!(
        store.find_session(&original.sid).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.find_session_by_secret(&new_secret).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store
            .find_session_by_secret(&old_secret.hash())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_session_by_secret(&other_secret.hash())
            .await
            .unwrap(),
        Some(other)
    );

    // An empty amr is stored as such.
    let newer = fresh_hash();
    store
        .reauthenticate_session(&original.sid, &newer, t(1000), &[])
        .await
        .unwrap();
    let found = store.find_session(&original.sid).await.unwrap().unwrap();
    assert!(found.amr.is_empty());
    assert_eq!((found.auth_time, found.secret_hash), (t(1000), newer));
    assert_eq!(
        store.find_session_by_secret(&new_secret).await.unwrap(),
        None
    );
}

/// Re-authenticating a missing session is `NotFound`; taking another session's secret is a
/// conflict; either way nothing changes.
pub async fn sessions_reauthenticate_missing_or_clashing(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (mine, _) = session(&ada, 3600);
    let (theirs, _) = session(&ada, 3600);
    store.create_session(&mine).await.unwrap();
    store.create_session(&theirs).await.unwrap();

    let unused = fresh_hash();
    let err = store
        .reauthenticate_session(&SessionId::generate(), &unused, t(5), &strings(&["pwd"]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.find_session_by_secret(&unused).await.unwrap(), None);

    let err = store
        .reauthenticate_session(&mine.sid, &theirs.secret_hash, t(5), &strings(&["otp"]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.find_session(&mine.sid).await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(
        store
            .find_session_by_secret(&theirs.secret_hash)
            .await
            .unwrap(),
        Some(theirs)
    );
}

/// Deleting removes exactly one session; deleting again is `NotFound`. Codes and refresh
/// tokens carrying the sid outlive it (they are revoked by sid explicitly when they must be).
pub async fn sessions_delete_keeps_tokens_bound_to_the_sid(store: &dyn ProbedStore) {
    let (ada, app) = user_and_client(store, "ada@example.com", "app").await;
    let (gone, secret) = session(&ada, 3600);
    let (kept, _) = session(&ada, 3600);
    store.create_session(&gone).await.unwrap();
    store.create_session(&kept).await.unwrap();
    let mut bound_code = code(&ada, &app, 60);
    bound_code.sid = gone.sid.clone();
    store.create_code(&bound_code).await.unwrap();
    let mut bound_token = refresh(&ada, &app, "family");
    bound_token.sid = gone.sid.clone();
    store.create_refresh_token(&bound_token).await.unwrap();

    store.delete_session(&gone.sid).await.unwrap();
    assert_eq!(store.find_session(&gone.sid).await.unwrap(), None);
    assert_eq!(
        store.find_session_by_secret(&secret.hash()).await.unwrap(),
        None
    );
    assert_eq!(store.find_session(&kept.sid).await.unwrap(), Some(kept));

    let err = store.delete_session(&gone.sid).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .delete_session(&SessionId::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    assert_eq!(
        store
            .redeem_code(&bound_code.code_hash, t(1))
            .await
            .unwrap(),
        CodeRedemption::First(bound_code)
    );
    let found = store
        .find_refresh_token(&bound_token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.token, bound_token);
}

/// `delete_expired_sessions(now)` deletes sessions with `expires_at <= now`: one ending exactly
/// at `now` goes, one ending a second later stays.
pub async fn sessions_delete_expired_boundary(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (long_gone, _) = session(&ada, 10);
    let (at_now, _) = session(&ada, 100);
    let (next_second, _) = session(&ada, 101);
    let (later, _) = session(&ada, 5000);
    for s in [&long_gone, &at_now, &next_second, &later] {
        store.create_session(s).await.unwrap();
    }

    assert_eq!(store.delete_expired_sessions(t(100)).await.unwrap(), 2);
    assert_eq!(store.find_session(&long_gone.sid).await.unwrap(), None);
    assert_eq!(store.find_session(&at_now.sid).await.unwrap(), None);
    assert_eq!(
        store.find_session(&next_second.sid).await.unwrap(),
        Some(next_second.clone())
    );
    assert_eq!(store.delete_expired_sessions(t(100)).await.unwrap(), 0);
    assert_eq!(store.delete_expired_sessions(t(101)).await.unwrap(), 1);
    assert_eq!(store.find_session(&next_second.sid).await.unwrap(), None);
    assert_eq!(store.find_session(&later.sid).await.unwrap(), Some(later));
}

/// `list_user_sessions` lists the user's sessions newest first, each with the clients that
/// received a code in it (once each, in id order); codes for a sid without a session record no
/// participation, and deleting a client removes it from the lists.
pub async fn sessions_list_user_sessions_newest_first_with_clients(store: &dyn ProbedStore) {
    let (ada, b_app) = user_and_client(store, "ada@example.com", "b-app").await;
    let a_app = super::public("a-app");
    let c_app = super::public("c-app");
    store.create_client(&a_app).await.unwrap();
    store.create_client(&c_app).await.unwrap();
    let bob = user("bob@example.com");
    store.create_user(&bob).await.unwrap();
    assert!(store.list_user_sessions(&ada.id).await.unwrap().is_empty());

    let begun_at = |secs: i64, user| {
        let (mut s, _) = session(user, 3600);
        s.created_at = t(secs);
        s.auth_time = t(secs);
        s
    };
    let oldest = begun_at(0, &ada);
    let newest = begun_at(50, &ada);
    let middle = begun_at(20, &ada);
    let bobs = begun_at(100, &bob);
    for s in [&oldest, &newest, &middle, &bobs] {
        store.create_session(s).await.unwrap();
    }
    let give_code = |client, sid: &SessionId, user| {
        let mut issued = code(user, client, 60);
        issued.sid = sid.clone();
        issued
    };
    for issued in [
        give_code(&b_app, &newest.sid, &ada),
        give_code(&a_app, &newest.sid, &ada),
        give_code(&a_app, &newest.sid, &ada),
        give_code(&c_app, &oldest.sid, &ada),
        give_code(&c_app, &SessionId::generate(), &ada),
        give_code(&a_app, &bobs.sid, &bob),
    ] {
        store.create_code(&issued).await.unwrap();
    }

    let summary = |session: &BrowserSession, clients: &[&tessera_core::Client]| SessionSummary {
        session: session.clone(),
        clients: clients.iter().map(|c| c.id.clone()).collect(),
    };
    assert_eq!(
        store.list_user_sessions(&ada.id).await.unwrap(),
        vec![
            summary(&newest, &[&a_app, &b_app]),
            summary(&middle, &[]),
            summary(&oldest, &[&c_app]),
        ]
    );
    assert_eq!(
        store.list_user_sessions(&bob.id).await.unwrap(),
        vec![summary(&bobs, &[&a_app])]
    );
    assert!(store
        .list_user_sessions(&tessera_core::UserId::generate())
        .await
        .unwrap()
        .is_empty());

    store.delete_client(&b_app.id).await.unwrap();
    store.delete_session(&middle.sid).await.unwrap();
    assert_eq!(
        store.list_user_sessions(&ada.id).await.unwrap(),
        vec![summary(&newest, &[&a_app]), summary(&oldest, &[&c_app])]
    );
}
