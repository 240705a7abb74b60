//! The back-channel logout queue: deliveries queued by revocations for the clients that took
//! part in the sessions that ended.

use super::revocations::{revocation_at, revoke_new, session_target};
use super::sign_in::{code, refresh, session};
use super::{strings, t, user};
use tessera_core::{
    BackchannelDelivery, BrowserSession, Client, ClientId, NewClient, RevocationTarget, SessionId,
    User,
};
use tessera_store::ProbedStore;

const BC_URI: &str = "https://rp.example/bc";

/// A stored public client that registered a back-channel logout URI.
pub(super) async fn rp_with_uri(store: &dyn ProbedStore, id: &str) -> Client {
    let (client, _) = Client::register(
        NewClient {
            id: id.into(),
            redirect_uris: strings(&["https://rp.example/cb"]),
            is_public: true,
            backchannel_logout_uri: Some(BC_URI.into()),
            ..Default::default()
        },
        t(0),
    )
    .unwrap();
    store.create_client(&client).await.unwrap();
    client
}

/// A stored public client without a back-channel logout URI.
async fn rp_without_uri(store: &dyn ProbedStore, id: &str) -> Client {
    let client = super::public(id);
    assert!(client.backchannel_logout_uri.is_none());
    store.create_client(&client).await.unwrap();
    client
}

/// A stored user with a stored session.
pub(super) async fn signed_in(store: &dyn ProbedStore, email: &str) -> (User, BrowserSession) {
    let user = user(email);
    store.create_user(&user).await.unwrap();
    let (session, _) = session(&user, 3600);
    store.create_session(&session).await.unwrap();
    (user, session)
}

/// `client` takes part in `session`: it is given a code there.
pub(super) async fn take_part(
    store: &dyn ProbedStore,
    user: &User,
    client: &Client,
    session: &BrowserSession,
) {
    let mut issued = code(user, client, 60);
    issued.sid = session.sid.clone();
    store.create_code(&issued).await.unwrap();
}

/// The (sid, client) pairs of `deliveries`, sorted.
fn pairs(deliveries: &[BackchannelDelivery]) -> Vec<(SessionId, ClientId)> {
    let mut pairs: Vec<_> = deliveries
        .iter()
        .map(|d| (d.sid.clone(), d.client_id.clone()))
        .collect();
    pairs.sort();
    pairs
}

/// Ending a session queues exactly one delivery for each client that took part in it and has a
/// back-channel logout URI, however many codes (and refresh tokens) it got there; a client
/// without a URI, or one that took part only elsewhere, gets none.
pub async fn backchannel_session_revocation_queues_one_delivery_per_client(
    store: &dyn ProbedStore,
) {
    let (ada, ended) = signed_in(store, "ada@example.com").await;
    let (elsewhere, _) = session(&ada, 3600);
    store.create_session(&elsewhere).await.unwrap();
    let rp = rp_with_uri(store, "rp").await;
    let plain = rp_without_uri(store, "plain").await;
    let other_rp = rp_with_uri(store, "other-rp").await;
    take_part(store, &ada, &rp, &ended).await;
    take_part(store, &ada, &rp, &ended).await;
    take_part(store, &ada, &plain, &ended).await;
    take_part(store, &ada, &other_rp, &elsewhere).await;
    let mut token = refresh(&ada, &rp, "family");
    token.sid = ended.sid.clone();
    assert!(store.create_refresh_token(&token).await.unwrap());
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 0);

    let outcome = revoke_new(store, &revocation_at(session_target(&ended), 10)).await;
    assert_eq!(outcome.logout_notifications, 1);
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 1);

    let claimed = store
        .claim_backchannel_deliveries(t(10), t(40), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let delivery = &claimed[0];
    assert_eq!(delivery.client_id, rp.id);
    assert_eq!(delivery.uri, BC_URI);
    assert_eq!(delivery.user_id, ada.id);
    assert_eq!(delivery.sid, ended.sid);
    assert_eq!(delivery.created_at, t(10));
    assert_eq!(delivery.attempts, 1);
    assert!(!delivery.jti.is_empty());

    // The other session's client is told when its own session ends, not before.
    let outcome = revoke_new(store, &revocation_at(session_target(&elsewhere), 20)).await;
    assert_eq!(outcome.logout_notifications, 1);
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 2);
    let claimed = store
        .claim_backchannel_deliveries(t(20), t(50), 10)
        .await
        .unwrap();
    assert_eq!(pairs(&claimed), vec![(elsewhere.sid.clone(), other_rp.id)]);
}

/// A claimed delivery is hidden until its lease ends, then comes back with its attempt count
/// raised and the same jti; a retry reschedules it; finishing removes it.
pub async fn backchannel_claim_lease_retry_and_finish(store: &dyn ProbedStore) {
    let (ada, ended) = signed_in(store, "ada@example.com").await;
    let rp = rp_with_uri(store, "rp").await;
    take_part(store, &ada, &rp, &ended).await;
    revoke_new(store, &revocation_at(session_target(&ended), 10)).await;

    // Not due before it was queued.
    assert!(store
        .claim_backchannel_deliveries(t(9), t(40), 10)
        .await
        .unwrap()
        .is_empty());
    let first = store
        .claim_backchannel_deliveries(t(10), t(40), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    // Leased: no other claimer gets it, at the same instant or before the lease ends.
    for now in [10, 39] {
        assert!(
            store
                .claim_backchannel_deliveries(t(now), t(now + 30), 10)
                .await
                .unwrap()
                .is_empty(),
            "claimed again at t({now})"
        );
    }
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 1);
    // The lease lapsed (the worker died): it comes back.
    let second = store
        .claim_backchannel_deliveries(t(40), t(70), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    assert_eq!(
        BackchannelDelivery {
            attempts: 1,
            ..second[0].clone()
        },
        first[0],
        "the same delivery, same jti"
    );

    // A failed attempt is rescheduled, whatever the lease said.
    store
        .retry_backchannel_delivery(second[0].id, t(100), "connection refused")
        .await
        .unwrap();
    assert!(store
        .claim_backchannel_deliveries(t(99), t(130), 10)
        .await
        .unwrap()
        .is_empty());
    let third = store
        .claim_backchannel_deliveries(t(100), t(130), 10)
        .await
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!((third[0].id, third[0].attempts), (first[0].id, 3));

    // Sent: gone for good.
    store
        .finish_backchannel_delivery(third[0].id)
        .await
        .unwrap();
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 0);
    assert!(store
        .claim_backchannel_deliveries(t(1_000_000), t(1_000_030), 10)
        .await
        .unwrap()
        .is_empty());
}

/// Claims take the oldest due deliveries first, at most `limit`; deleting a client drops its
/// deliveries.
pub async fn backchannel_claims_are_limited_and_go_with_the_client(store: &dyn ProbedStore) {
    let (ada, ended) = signed_in(store, "ada@example.com").await;
    let first = rp_with_uri(store, "rp-1").await;
    let second = rp_with_uri(store, "rp-2").await;
    let third = rp_with_uri(store, "rp-3").await;
    for client in [&first, &second, &third] {
        take_part(store, &ada, client, &ended).await;
    }
    let outcome = revoke_new(store, &revocation_at(session_target(&ended), 10)).await;
    assert_eq!(outcome.logout_notifications, 3);

    store.delete_client(&second.id).await.unwrap();
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 2);

    let one = store
        .claim_backchannel_deliveries(t(10), t(40), 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let other = store
        .claim_backchannel_deliveries(t(10), t(40), 10)
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert!(one[0].id < other[0].id, "oldest first");
    let mut clients = vec![one[0].client_id.clone(), other[0].client_id.clone()];
    clients.sort();
    assert_eq!(clients, vec![first.id.clone(), third.id.clone()]);

    store.delete_client(&first.id).await.unwrap();
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 1);
    let left = store
        .claim_backchannel_deliveries(t(40), t(70), 10)
        .await
        .unwrap();
    assert_eq!(pairs(&left), vec![(ended.sid.clone(), third.id.clone())]);
}

/// A user entry ends every session of the user and queues one delivery per (session, client
/// with a URI that took part in it); other users' sessions are not touched.
pub async fn backchannel_user_revocation_notifies_every_session_and_client(
    store: &dyn ProbedStore,
) {
    let (ada, first) = signed_in(store, "ada@example.com").await;
    let (second, _) = session(&ada, 3600);
    let (quiet, _) = session(&ada, 3600);
    store.create_session(&second).await.unwrap();
    store.create_session(&quiet).await.unwrap();
    let (bob, bobs) = signed_in(store, "bob@example.com").await;
    let rp_a = rp_with_uri(store, "rp-a").await;
    let rp_b = rp_with_uri(store, "rp-b").await;
    let plain = rp_without_uri(store, "plain").await;
    take_part(store, &ada, &rp_a, &first).await;
    take_part(store, &ada, &rp_b, &first).await;
    take_part(store, &ada, &plain, &first).await;
    take_part(store, &ada, &rp_a, &second).await;
    take_part(store, &ada, &plain, &quiet).await;
    take_part(store, &bob, &rp_a, &bobs).await;

    let target = RevocationTarget::User {
        user_id: ada.id.clone(),
    };
    let outcome = revoke_new(store, &revocation_at(target, 10)).await;
    assert_eq!(outcome.sessions_ended.len(), 3);
    assert_eq!(outcome.logout_notifications, 3);
    assert_eq!(store.count_backchannel_deliveries().await.unwrap(), 3);

    let claimed = store
        .claim_backchannel_deliveries(t(10), t(40), 10)
        .await
        .unwrap();
    let mut expected = vec![
        (first.sid.clone(), rp_a.id.clone()),
        (first.sid.clone(), rp_b.id.clone()),
        (second.sid.clone(), rp_a.id.clone()),
    ];
    expected.sort();
    assert_eq!(pairs(&claimed), expected);
    assert!(claimed
        .iter()
        .all(|d| d.user_id == ada.id && d.uri == BC_URI));
    let mut jtis: Vec<&str> = claimed.iter().map(|d| d.jti.as_str()).collect();
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "every logout token has its own jti");
    assert_eq!(
        store.find_session(&bobs.sid).await.unwrap(),
        Some(bobs.clone())
    );
}
