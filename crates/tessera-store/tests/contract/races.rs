//! Races between the operations the contract declares atomic, run as concurrent tasks on one
//! store (so, for a server backend, on several connections at once). A backend that serialises
//! writers passes them trivially; one that does not must show that its transactions and locks
//! keep each rule when the calls really overlap.

use super::backchannel::{rp_with_uri, signed_in, take_part};
use super::revocations::{revocation_at, revoke_token, session_target};
use super::sign_in::{code, random_id, refresh, session, user_and_client};
use super::{key, race, t};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::revocation::new_jti;
use tessera_core::{AuditEvent, RefreshToken, RevocationReason, RevocationTarget};
use tessera_store::{FeedRead, ProbedStore};

/// How long a follower waits between polls that found nothing new.
const POLL: Duration = Duration::from_millis(2);

/// Of concurrent revocations of one jti, and of one session, exactly one records an entry (and
/// an audit record); the others change nothing.
pub async fn revocations_concurrent_repeats_have_one_winner(store: Arc<dyn ProbedStore>) {
    let jti = new_jti();
    let recorded = race(&store, 8, |store, _| {
        let jti = jti.clone();
        async move { revoke_token(&*store, &jti, t(900)).await }
    })
    .await;
    assert_eq!(
        recorded.iter().filter(|new| **new).count(),
        1,
        "{recorded:?}"
    );

    let (ada, _app) = user_and_client(&*store, "ada@example.com", "app").await;
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    let revocation = revocation_at(session_target(&signed_in), 10);
    let outcomes = race(&store, 8, |store, _| {
        let revocation = revocation.clone();
        async move { store.revoke(&revocation).await.unwrap() }
    })
    .await;
    let winners: Vec<_> = outcomes.iter().flatten().collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(winners[0].sessions_ended, vec![signed_in.sid.clone()]);

    assert_eq!(store.count_revocations().await.unwrap(), 2);
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 2);
}

/// A feed follower polling while many revocations are made concurrently sees every entry
/// exactly once, in cursor order; so does a reader that starts from a snapshot taken in the
/// middle of the writes and follows on from its cursor. (A store whose cursors could become
/// visible out of order, or whose snapshot cursor ran ahead of what it had committed, would
/// make such a reader skip an entry for ever.)
pub async fn revocations_feed_followers_miss_no_entry_under_concurrent_writers(
    store: Arc<dyn ProbedStore>,
) {
    const WRITERS: usize = 40;
    let finished = Arc::new(AtomicBool::new(false));

    let follower = tokio::spawn(follow_feed(store.clone(), 0, finished.clone()));
    let from_snapshot = {
        let store = store.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            // Wait for the writers to be under way, then take the snapshot among them.
            while store.count_revocations().await.unwrap() < 3 {
                tokio::time::sleep(POLL).await;
            }
            let snapshot = store.revocation_snapshot(t(0)).await.unwrap();
            let mut entries = snapshot.entries;
            entries.extend(follow_feed(store, snapshot.cursor, finished).await);
            entries
        })
    };

    let jtis: Vec<String> = (0..WRITERS).map(|_| new_jti()).collect();
    let recorded = race(&store, WRITERS, |store, i| {
        let jti = jtis[i].clone();
        async move { revoke_token(&*store, &jti, t(900)).await }
    })
    .await;
    assert!(recorded.iter().all(|new| *new));
    finished.store(true, Ordering::SeqCst);

    let all: BTreeSet<String> = jtis.into_iter().collect();
    for (who, entries) in [
        ("the follower", follower.await.unwrap()),
        ("the snapshot reader", from_snapshot.await.unwrap()),
    ] {
        assert!(
            entries.windows(2).all(|w| w[0].cursor < w[1].cursor),
            "{who} read cursors out of order"
        );
        let seen: BTreeSet<String> = entries
            .iter()
            .map(|e| match &e.revocation.target {
                RevocationTarget::Token { jti, .. } => jti.clone(),
                other => panic!("unexpected entry {other:?}"),
            })
            .collect();
        assert_eq!(seen.len(), entries.len(), "{who} read an entry twice");
        assert_eq!(seen, all, "{who} missed entries");
    }
}

/// Follows the feed from `cursor` until `finished` is set and a poll made after that finds
/// nothing new; returns what it read.
async fn follow_feed(
    store: Arc<dyn ProbedStore>,
    mut cursor: i64,
    finished: Arc<AtomicBool>,
) -> Vec<tessera_core::RevocationEntry> {
    let mut read = Vec::new();
    loop {
        // Read before polling: once set, every write is committed, so an empty poll after it
        // means the follower has everything.
        let done = finished.load(Ordering::SeqCst);
        let page = match store.revocations_after(cursor, 7).await.unwrap() {
            FeedRead::Entries(page) => page,
            other => panic!("a follower at {cursor} was told {other:?}"),
        };
        match page.last() {
            Some(last) => cursor = last.cursor,
            None if done => return read,
            None => tokio::time::sleep(POLL).await,
        }
        read.extend(page);
    }
}

/// An audit follower (`audit tail --follow`) polling by id while records are appended
/// concurrently sees every record exactly once.
pub async fn audit_followers_miss_no_record_under_concurrent_appends(store: Arc<dyn ProbedStore>) {
    // More writers than the feed's race: each append is a tiny transaction, so the window in
    // which ids could become visible out of order is narrow, and a store that lets it happen
    // is caught only some of the time (about one run in six on PostgreSQL without its lock).
    const WRITERS: usize = 100;
    let finished = Arc::new(AtomicBool::new(false));
    let follower = {
        let store = store.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            let (mut last, mut read) = (0, Vec::new());
            loop {
                let done = finished.load(Ordering::SeqCst);
                let page = store.audit_after(last, 7).await.unwrap();
                match page.last() {
                    Some(newest) => last = newest.id,
                    None if done => return read,
                    None => tokio::time::sleep(POLL).await,
                }
                read.extend(page.into_iter().map(|event| event.target));
            }
        })
    };
    let ids = race(&store, WRITERS, |store, i| async move {
        let event = AuditEvent::new(
            t(0),
            "cli",
            "test",
            format!("target-{i}"),
            None,
            "{}".into(),
        );
        store.append_audit(&event).await.unwrap()
    })
    .await;
    finished.store(true, Ordering::SeqCst);
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), WRITERS, "ids are unique");

    let read = follower.await.unwrap();
    let seen: BTreeSet<&String> = read.iter().collect();
    assert_eq!(seen.len(), read.len(), "a record was read twice");
    assert_eq!(read.len(), WRITERS, "the follower missed records: {read:?}");
}

/// "Revoke the family" racing "store its first token": whichever comes second, the family ends
/// revoked. The token is stored revoked at the family's revocation time, and it was reported
/// live exactly when the revocation came second (and so revoked it).
pub async fn refresh_family_revocation_racing_its_first_token_ends_revoked(
    store: Arc<dyn ProbedStore>,
) {
    const FAMILIES: usize = 12;
    let (ada, app) = user_and_client(&*store, "ada@example.com", "app").await;
    let tokens: Vec<RefreshToken> = (0..FAMILIES)
        .map(|_| refresh(&ada, &app, &random_id()))
        .collect();
    let results = race(&store, 2 * FAMILIES, |store, i| {
        let token = tokens[i / 2].clone();
        async move {
            if i % 2 == 0 {
                let live = store.create_refresh_token(&token).await.unwrap();
                (i / 2, Race::Stored { live })
            } else {
                let revoked = store
                    .revoke_refresh_family(
                        &token.family_id,
                        t(50),
                        RevocationReason::ClientRequest,
                        "test",
                    )
                    .await
                    .unwrap()
                    .refresh_tokens_revoked;
                (i / 2, Race::Revoked { revoked })
            }
        }
    })
    .await;

    for (family, token) in tokens.iter().enumerate() {
        let mut live = None;
        let mut revoked = None;
        for (f, result) in &results {
            match result {
                Race::Stored { live: l } if *f == family => live = Some(*l),
                Race::Revoked { revoked: r } if *f == family => revoked = Some(*r),
                _ => {}
            }
        }
        let (live, revoked) = (live.unwrap(), revoked.unwrap());
        assert_eq!(
            live,
            revoked == 1,
            "family {family}: live {live}, revoked {revoked}"
        );
        let stored = store
            .find_refresh_token(&token.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revoked_at, Some(t(50)), "family {family}");
    }
}

/// What one racer of a mixed race did.
#[derive(Debug)]
enum Race {
    Stored { live: bool },
    Revoked { revoked: u64 },
}

/// A session entry racing the storing of refresh tokens bound to that session: no token ends
/// up live. Each token was either stored before the entry (and revoked by it) or stored after
/// it (born revoked, reported not live).
pub async fn revocations_session_entry_racing_new_refresh_tokens_leaves_none_live(
    store: Arc<dyn ProbedStore>,
) {
    const TOKENS: usize = 10;
    let (ada, app) = user_and_client(&*store, "ada@example.com", "app").await;
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    let tokens: Vec<RefreshToken> = (0..TOKENS)
        .map(|_| RefreshToken {
            sid: signed_in.sid.clone(),
            ..refresh(&ada, &app, &random_id())
        })
        .collect();
    let revocation = revocation_at(session_target(&signed_in), 10);
    let results = race(&store, TOKENS + 1, |store, i| {
        let revocation = revocation.clone();
        let token = tokens.get(i).cloned();
        async move {
            match token {
                Some(token) => Race::Stored {
                    live: store.create_refresh_token(&token).await.unwrap(),
                },
                None => Race::Revoked {
                    revoked: store
                        .revoke(&revocation)
                        .await
                        .unwrap()
                        .expect("a new entry")
                        .refresh_tokens_revoked,
                },
            }
        }
    })
    .await;

    let mut revoked_by_entry = 0;
    let mut born_revoked = 0;
    for result in &results {
        match result {
            Race::Revoked { revoked } => revoked_by_entry += *revoked,
            Race::Stored { live: false } => born_revoked += 1,
            Race::Stored { live: true } => {}
        }
    }
    assert_eq!(
        revoked_by_entry + born_revoked,
        TOKENS as u64,
        "every token is revoked once: {results:?}"
    );
    for token in &tokens {
        let stored = store
            .find_refresh_token(&token.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.revoked_at.is_some(), "a token stayed live");
    }
}

/// Concurrent rotations of one algorithm's key leave exactly one key of it active.
pub async fn keys_concurrent_rotations_leave_one_active_key(store: Arc<dyn ProbedStore>) {
    const ROTATIONS: usize = 10;
    store
        .create_signing_key(&key("rs-first", "RS256", 0))
        .await
        .unwrap();
    race(&store, ROTATIONS, |store, i| async move {
        let new = key(&format!("rs-{i}"), "RS256", 10 + i as i64);
        store
            .rotate_signing_key(&new, new.created_at, t(5000))
            .await
            .unwrap()
    })
    .await;
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), ROTATIONS + 1);
    let active: Vec<&str> = keys
        .iter()
        .filter(|k| k.rotated_at.is_none())
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
}

/// Concurrent claimers never lease one delivery twice, and between them claim every due one.
pub async fn backchannel_concurrent_claims_never_share_a_delivery(store: Arc<dyn ProbedStore>) {
    const CLIENTS: usize = 6;
    let (ada, ended) = signed_in(&*store, "ada@example.com").await;
    for i in 0..CLIENTS {
        let rp = rp_with_uri(&*store, &format!("rp-{i}")).await;
        take_part(&*store, &ada, &rp, &ended).await;
    }
    let outcome = store
        .revoke(&revocation_at(session_target(&ended), 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.logout_notifications, CLIENTS as u64);

    let claims = race(&store, 3, |store, _| async move {
        store
            .claim_backchannel_deliveries(t(10), t(40), 2)
            .await
            .unwrap()
    })
    .await;
    let ids: Vec<i64> = claims.iter().flatten().map(|d| d.id).collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "a delivery was leased twice: {claims:?}"
    );
    assert_eq!(ids.len(), CLIENTS, "{claims:?}");
}

/// Issuing a code in a session while that session is being revoked never fails: the code is
/// stored whichever comes first.
pub async fn codes_issued_while_their_session_is_revoked_are_stored(store: Arc<dyn ProbedStore>) {
    const SESSIONS: usize = 8;
    let (ada, _) = user_and_client(&*store, "ada@example.com", "app").await;
    let rp = rp_with_uri(&*store, "rp").await;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let (s, _) = session(&ada, 3600);
        store.create_session(&s).await.unwrap();
        sessions.push(s);
    }
    let codes: Vec<_> = sessions
        .iter()
        .map(|s| {
            let mut issued = code(&ada, &rp, 60);
            issued.sid = s.sid.clone();
            issued
        })
        .collect();
    race(&store, 2 * SESSIONS, |store, i| {
        let issued = codes[i / 2].clone();
        let revocation = revocation_at(session_target(&sessions[i / 2]), 10);
        async move {
            if i % 2 == 0 {
                store.create_code(&issued).await.unwrap();
            } else {
                store
                    .revoke(&revocation)
                    .await
                    .unwrap()
                    .expect("a new entry");
            }
        }
    })
    .await;
    for issued in &codes {
        assert!(store.find_session(&issued.sid).await.unwrap().is_none());
    }
    // One delivery at most per session: the client took part in it only if its code came
    // first.
    assert!(store.count_backchannel_deliveries().await.unwrap() <= SESSIONS as u64);
}
