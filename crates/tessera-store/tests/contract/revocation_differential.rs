//! A differential test of the store's revocation queries against the core's rule,
//! [`Revocation::covers`]: for every pair of an entry from a grid of entries and a token from a
//! grid of tokens, the store's answer must be the rule's. Any SQL condition that covers less or
//! more than the rule shows up as a pair that disagrees.
//!
//! The entries are spread far apart in time (further than any of them lives), each with its
//! own user, session and jti, so every pair is decided by the one entry it was built around;
//! the expected answer is still computed over all entries, so nothing here assumes that.

use super::sign_in::{random_id, refresh, session};
use super::{confidential, t, user};
use tessera_core::revocation::new_jti;
use tessera_core::{
    Revocation, RevocationKind, RevocationReason, RevocationTarget, SessionId, TokenFacts, User,
    UserId,
};
use tessera_store::ProbedStore;
use time::{Duration, OffsetDateTime};

/// How long access tokens live in this test: entries are kept about this long.
const ACCESS_LIFETIME: Duration = Duration::minutes(5);

/// One entry of the grid with the identities its tokens are built from.
struct Case {
    revocation: Revocation,
    /// The entry's user (the owner of `sid`).
    user: User,
    /// A stored session of `user`; session entries name it.
    sid: SessionId,
    /// The jti token entries name.
    jti: String,
    /// The instant the token grid's `iat`s are placed around: `not_before` for user, claims and
    /// global entries, the next whole second after `revoked_at` for token and session entries.
    pivot: i64,
}

/// Builds the grid of entries on `store`: every kind, with `revoked_at` both on a whole second
/// and inside one (where `not_before` rounds up). Entries are 10 000 s apart; each lives for
/// about [`ACCESS_LIFETIME`]. Global entries come first, so when they are live no other entry's
/// tokens are being asked about.
async fn entries(store: &dyn ProbedStore) -> Vec<Case> {
    let kinds = [
        RevocationKind::GlobalRevoked,
        RevocationKind::TokenRevoked,
        RevocationKind::SessionRevoked,
        RevocationKind::CredentialChange,
        RevocationKind::TokenClaimsChange,
    ];
    let mut cases = Vec::new();
    let mut slot = 1;
    for kind in kinds {
        for fraction_ms in [0, 500] {
            let revoked_at = t(slot * 10_000) + Duration::milliseconds(fraction_ms);
            slot += 1;
            let owner = user(&format!("{}@grid.example", random_id().to_lowercase()));
            store.create_user(&owner).await.unwrap();
            let (browser, _) = session(&owner, 1_000_000);
            store.create_session(&browser).await.unwrap();
            let jti = new_jti();
            let target = match kind {
                RevocationKind::TokenRevoked => RevocationTarget::Token {
                    jti: jti.clone(),
                    expires_at: revoked_at + ACCESS_LIFETIME,
                },
                RevocationKind::SessionRevoked => RevocationTarget::Session {
                    sid: browser.sid.clone(),
                    user_id: owner.id.clone(),
                },
                RevocationKind::CredentialChange => RevocationTarget::User {
                    user_id: owner.id.clone(),
                },
                RevocationKind::TokenClaimsChange => RevocationTarget::UserClaims {
                    user_id: owner.id.clone(),
                },
                RevocationKind::GlobalRevoked => RevocationTarget::Global,
            };
            let revocation = Revocation::new(
                target,
                revoked_at,
                ACCESS_LIFETIME,
                RevocationReason::AdminRevoke,
                "cli",
            );
            assert_eq!(revocation.kind(), kind);
            let pivot = revocation
                .not_before
                .unwrap_or_else(|| tessera_core::revocation::not_before_after(revoked_at))
                .unix_timestamp();
            assert!(
                store.revoke(&revocation).await.unwrap().is_some(),
                "{kind} entry stored"
            );
            cases.push(Case {
                revocation,
                user: owner,
                sid: browser.sid,
                jti,
                pivot,
            });
        }
    }
    cases
}

/// The instants a case's entry is asked about: when it was made, its last live second, and its
/// expiry (from which it covers nothing).
fn instants(case: &Case) -> [OffsetDateTime; 3] {
    let expires_at = case.revocation.expires_at;
    [
        case.revocation.revoked_at,
        expires_at - Duration::seconds(1),
        expires_at,
    ]
}

/// `is_access_token_revoked`, `latest_not_before` and the "born revoked" check of
/// `create_refresh_token` agree with [`Revocation::covers`] over a grid of entries (token,
/// session, user, claims and global kinds; `revoked_at` on and inside a second) and tokens
/// (the entry's jti or another; its sid, another sid of the user, or none; its user or
/// another; `iat` one second before, at and after `not_before`; asked while the entry is
/// live, in its last second and at its expiry).
pub async fn revocations_queries_agree_with_covers(store: &dyn ProbedStore) {
    let (client, _) = confidential("grid-app");
    store.create_client(&client).await.unwrap();
    let bystander = user("bystander@grid.example");
    store.create_user(&bystander).await.unwrap();
    let cases = entries(store).await;
    let revocations: Vec<&Revocation> = cases.iter().map(|c| &c.revocation).collect();
    let expect = |token: &TokenFacts<'_>, now: OffsetDateTime| {
        revocations.iter().any(|r| r.covers(token, now))
    };

    let mut pairs = 0;
    for case in &cases {
        let kind = case.revocation.kind();
        let other_jti = new_jti();
        let other_sid = SessionId::generate();
        for jti in [case.jti.as_str(), other_jti.as_str()] {
            for sid in [Some(case.sid.as_str()), Some(other_sid.as_str()), None] {
                for sub in [case.user.id.as_str(), bystander.id.as_str()] {
                    for iat in [case.pivot - 1, case.pivot, case.pivot + 1] {
                        for now in instants(case) {
                            let token = TokenFacts { jti, sid, sub, iat };
                            let got = store.is_access_token_revoked(&token, now).await.unwrap();
                            assert_eq!(
                                got,
                                expect(&token, now),
                                "is_access_token_revoked for a {kind} entry: {token:?} at {now}"
                            );
                            pairs += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(pairs, cases.len() * 2 * 3 * 2 * 3 * 3);

    // latest_not_before(user) is the threshold below which a user's token (with a sid, so a
    // user's token, and with a jti and sid no token or session entry names) is covered by a
    // user, claims or global entry: exactly the entries covers() lets reach such a token.
    let user_kinds = [
        RevocationKind::CredentialChange,
        RevocationKind::TokenClaimsChange,
        RevocationKind::GlobalRevoked,
    ];
    for case in &cases {
        let fresh_jti = new_jti();
        let fresh_sid = SessionId::generate();
        let users: [Option<&UserId>; 3] = [Some(&case.user.id), Some(&bystander.id), None];
        for who in users {
            for now in instants(case) {
                let latest = store.latest_not_before(who, now).await.unwrap();
                // For `None` (a client's token), no user's entry can concern the subject.
                let sub = who.map_or("client:grid-app", UserId::as_str);
                for iat in [case.pivot - 1, case.pivot, case.pivot + 1] {
                    let token = TokenFacts {
                        jti: &fresh_jti,
                        sid: Some(fresh_sid.as_str()),
                        sub,
                        iat,
                    };
                    let covered = revocations
                        .iter()
                        .filter(|r| user_kinds.contains(&r.kind()))
                        .any(|r| r.covers(&token, now));
                    let below = latest.is_some_and(|nb| iat < nb.unix_timestamp());
                    assert_eq!(
                        below,
                        covered,
                        "latest_not_before({who:?}) at {now} is {latest:?}; a {} entry's \
                         token at iat {iat}",
                        case.revocation.kind()
                    );
                }
            }
        }
    }

    // A refresh token is born revoked when a session entry names its sid, or a user
    // (credential-change) or global entry covers a token of its user issued when it was: the
    // entries covers() lets reach an access token of the same sid, user and iat while the
    // entry lives. Claims entries leave refresh tokens alone; token entries name access tokens.
    let refresh_kinds = [
        RevocationKind::SessionRevoked,
        RevocationKind::CredentialChange,
        RevocationKind::GlobalRevoked,
    ];
    for case in &cases {
        let other_sid = SessionId::generate();
        for owner in [&case.user, &bystander] {
            for sid in [&case.sid, &other_sid] {
                for iat in [case.pivot - 1, case.pivot, case.pivot + 1] {
                    let issued_at = OffsetDateTime::from_unix_timestamp(iat).unwrap();
                    let token = tessera_core::RefreshToken {
                        sid: sid.clone(),
                        issued_at,
                        auth_time: issued_at,
                        idle_expires_at: issued_at + Duration::days(1),
                        absolute_expires_at: issued_at + Duration::days(2),
                        ..refresh(owner, &client, &random_id())
                    };
                    let live = store.create_refresh_token(&token).await.unwrap();
                    let facts = TokenFacts {
                        jti: "never-a-revoked-jti",
                        sid: Some(sid.as_str()),
                        sub: owner.id.as_str(),
                        iat,
                    };
                    let born_revoked = revocations
                        .iter()
                        .filter(|r| refresh_kinds.contains(&r.kind()))
                        .any(|r| r.covers(&facts, r.revoked_at));
                    assert_eq!(
                        live,
                        !born_revoked,
                        "refresh token next to a {} entry: user {}, sid {}, issued {iat}",
                        case.revocation.kind(),
                        if owner.id == case.user.id {
                            "its own"
                        } else {
                            "another"
                        },
                        if *sid == case.sid {
                            "its own"
                        } else {
                            "another"
                        },
                    );
                    let stored = store
                        .find_refresh_token(&token.token_hash)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(stored.revoked_at.is_none(), live);
                }
            }
        }
    }
}
