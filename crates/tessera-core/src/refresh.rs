//! Refresh tokens: opaque, stored hashed, bound to a client and a browser session, rotated on
//! every use, with reuse detection.
//!
//! All refresh tokens descending from one authorization code form a *family*. Rotation replaces
//! the presented token with a new one; presenting a replaced token again is *reuse* — someone
//! holds a copy — and revokes the whole family.

use crate::client::SecretHash;
use crate::ids::{ClientId, UserId};
use crate::revocation::{Revocation, RevocationReason, RevocationTarget};
use crate::scope::ScopeSet;
use crate::session::SessionId;
use time::{Duration, OffsetDateTime};

/// Bytes of entropy in a refresh token (256 bits).
pub const REFRESH_TOKEN_BYTES: usize = 32;

/// Refresh-token lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshLifetimes {
    /// A token unused for this long expires (default 14 days).
    pub idle: Duration,
    /// No token of a family outlives sign-in plus this (default 30 days); rotation never extends it.
    pub absolute: Duration,
}

impl Default for RefreshLifetimes {
    fn default() -> Self {
        Self {
            idle: Duration::days(14),
            absolute: Duration::days(30),
        }
    }
}

/// A refresh token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Hash of the token.
    pub token_hash: SecretHash,
    /// The family (one per sign-in of one client).
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user.
    pub user_id: UserId,
    /// The browser session it is bound to.
    pub sid: SessionId,
    /// The scope granted at sign-in; a refresh may ask for less, never more.
    pub scope: ScopeSet,
    /// When the user authenticated (kept through rotations).
    pub auth_time: OffsetDateTime,
    /// How the user authenticated.
    pub amr: Vec<String>,
    /// Authentication context class, when one was requested at sign-in.
    pub acr: Option<String>,
    /// When this token was issued.
    pub issued_at: OffsetDateTime,
    /// When this token expires if unused.
    pub idle_expires_at: OffsetDateTime,
    /// When the family ends, whatever happens.
    pub absolute_expires_at: OffsetDateTime,
    /// The access token issued together with this refresh token, so that revoking the grant
    /// revokes it too. `None` for seeded sign-ins (no access token was issued).
    pub access_token: Option<IssuedAccessToken>,
}

/// An access token issued with a refresh token, as its grant remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedAccessToken {
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: OffsetDateTime,
}

impl IssuedAccessToken {
    /// The entry that takes this access token back when its grant is revoked at `revoked_at`
    /// (reuse of a refresh token, RFC 7009 revocation of one, a replayed code): a token entry
    /// kept until the token's `exp`, or nothing once it has expired on its own.
    pub fn revocation(
        &self,
        revoked_at: OffsetDateTime,
        reason: RevocationReason,
        actor: &str,
    ) -> Option<Revocation> {
        (self.expires_at > revoked_at).then(|| {
            Revocation::new(
                RevocationTarget::Token {
                    jti: self.jti.clone(),
                    expires_at: self.expires_at,
                },
                revoked_at,
                // Unused for a token entry: it is kept until the token's own `exp`.
                Duration::ZERO,
                reason,
                actor,
            )
        })
    }
}

impl RefreshToken {
    /// When this token stops being usable: the earlier of its idle and absolute limits.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.idle_expires_at.min(self.absolute_expires_at)
    }

    /// The successor issued on rotation at `now` with `access_token`: same family, binding and
    /// scope, a fresh idle window that never passes the family's absolute limit.
    pub fn successor(
        &self,
        token_hash: SecretHash,
        now: OffsetDateTime,
        idle: Duration,
        access_token: IssuedAccessToken,
    ) -> Self {
        Self {
            token_hash,
            issued_at: now,
            idle_expires_at: (now + idle).min(self.absolute_expires_at),
            access_token: Some(access_token),
            ..self.clone()
        }
    }
}

/// A refresh token with its rotation and revocation state, as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRefreshToken {
    /// The token's data.
    pub token: RefreshToken,
    /// When it was replaced by a successor; presenting it after that is reuse.
    pub rotated_at: Option<OffsetDateTime>,
    /// When it (with its family) was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// What presenting a stored refresh token at some instant means, decided by
/// [`StoredRefreshToken::presented_at`] before the store writes anything. Every backend's atomic
/// rotation acts on this one decision, so the rule lives here, beside the type, and not in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshPresentation {
    /// The token was current: replace it with its successor.
    Rotate,
    /// The token had already been replaced, but within the configured reuse grace of that
    /// replacement and with its family not revoked: two tabs (or a retry after a lost answer)
    /// refreshing at once. Issue another successor beside the first, revoke nothing. Only with
    /// a non-zero grace (`insecure_reuse_grace_seconds`, off by default).
    RotateAgain,
    /// The token had already been replaced: someone holds a copy, so nobody's copy of any token
    /// of the family can be trusted any more. Revoke the family.
    Reuse,
    /// Revoked, or past its lifetime: refuse, change nothing.
    Invalid,
}

impl StoredRefreshToken {
    /// What presenting this token at `now` means.
    ///
    /// Past its lifetime a token answers as it will once the sweep has deleted it: invalid,
    /// even if it was replaced (reuse of an expired token reveals nothing a deleted one would
    /// not). A replaced token is reuse even when its family is already revoked, so a thief
    /// retrying keeps being reported. A revoked token that was never replaced is just invalid.
    pub fn presented_at(&self, now: OffsetDateTime) -> RefreshPresentation {
        self.presented_with_grace(now, Duration::ZERO)
    }

    /// What presenting this token at `now` means when a replaced token may be presented again
    /// for `reuse_grace` after its replacement ([`RefreshPresentation::RotateAgain`]).
    ///
    /// The grace is a trade-off the operator chooses: during it, a thief replaying a copy of
    /// the token gets a live branch of the grant and is *not* detected; after it, reuse is
    /// detected as without a grace. With a zero grace this is [`presented_at`](Self::presented_at).
    pub fn presented_with_grace(
        &self,
        now: OffsetDateTime,
        reuse_grace: Duration,
    ) -> RefreshPresentation {
        if self.token.expires_at() <= now {
            RefreshPresentation::Invalid
        } else if let Some(rotated_at) = self.rotated_at {
            // A zero grace allows nothing, even to a presentation timed before the rotation
            // (another node's clock, or a request that raced it).
            let within_grace = reuse_grace > Duration::ZERO && now < rotated_at + reuse_grace;
            if self.revoked_at.is_none() && within_grace {
                RefreshPresentation::RotateAgain
            } else {
                RefreshPresentation::Reuse
            }
        } else if self.revoked_at.is_some() {
            RefreshPresentation::Invalid
        } else {
            RefreshPresentation::Rotate
        }
    }
}

/// What presenting a refresh token found. Rotation is one atomic store operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshRotation {
    /// The presented token was current; it is replaced by the new one.
    Rotated(RefreshToken),
    /// The presented token had already been replaced: reuse. The grant is now revoked: every
    /// token of the family, and the access tokens issued with them.
    Reused(RefreshToken),
    /// Unknown, revoked, or past its lifetime.
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_expiring_at(t0: OffsetDateTime, idle: Duration, absolute: Duration) -> RefreshToken {
        RefreshToken {
            token_hash: SecretHash::of("a"),
            family_id: "f".into(),
            client_id: crate::ClientId::parse("app").unwrap(),
            user_id: crate::UserId::generate(),
            sid: crate::session::SessionId::generate(),
            scope: ScopeSet::parse("openid").unwrap(),
            auth_time: t0,
            amr: vec!["pwd".into()],
            acr: None,
            issued_at: t0,
            idle_expires_at: t0 + idle,
            absolute_expires_at: t0 + absolute,
            access_token: None,
        }
    }

    /// One row per combination of (rotated, revoked, expired by idle, expired by absolute,
    /// presented exactly at the limit): the decision every backend's rotation acts on.
    #[test]
    fn what_presenting_a_stored_token_means() {
        use RefreshPresentation::{Invalid, Reuse, Rotate};
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let token = token_expiring_at(t0, Duration::days(14), Duration::days(30));
        let (before, at_limit, after) = (
            t0 + Duration::days(13),
            t0 + Duration::days(14),
            t0 + Duration::days(15),
        );
        let some = Some(t0 + Duration::days(1));
        // (rotated_at, revoked_at, now, expect)
        let table = [
            (None, None, before, Rotate),
            (None, None, at_limit, Invalid),
            (None, None, after, Invalid),
            (some, None, before, Reuse),
            (some, None, at_limit, Invalid),
            (some, None, after, Invalid),
            (None, some, before, Invalid),
            (None, some, after, Invalid),
            (some, some, before, Reuse),
            (some, some, after, Invalid),
        ];
        for (rotated_at, revoked_at, now, expect) in table {
            let stored = StoredRefreshToken {
                token: token.clone(),
                rotated_at,
                revoked_at,
            };
            assert_eq!(
                stored.presented_at(now),
                expect,
                "rotated {rotated_at:?}, revoked {revoked_at:?}, at {now}"
            );
        }
        // The absolute limit counts too, even while the idle window is still open.
        let short = StoredRefreshToken {
            token: token_expiring_at(t0, Duration::days(14), Duration::days(2)),
            rotated_at: None,
            revoked_at: None,
        };
        assert_eq!(short.presented_at(t0 + Duration::days(1)), Rotate);
        assert_eq!(short.presented_at(t0 + Duration::days(2)), Invalid);
    }

    /// Within the grace a replaced token may be presented again; at its end, or once the
    /// family is revoked, it is reuse again. A zero grace never allows it.
    #[test]
    fn a_replaced_token_within_the_reuse_grace_rotates_again() {
        use RefreshPresentation::{Reuse, RotateAgain};
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let rotated_at = t0 + Duration::hours(1);
        let grace = Duration::seconds(10);
        let mut stored = StoredRefreshToken {
            token: token_expiring_at(t0, Duration::days(14), Duration::days(30)),
            rotated_at: Some(rotated_at),
            revoked_at: None,
        };
        assert_eq!(stored.presented_with_grace(rotated_at, grace), RotateAgain);
        assert_eq!(
            stored.presented_with_grace(rotated_at + Duration::seconds(9), grace),
            RotateAgain
        );
        assert_eq!(
            stored.presented_with_grace(rotated_at + grace, grace),
            Reuse
        );
        assert_eq!(
            stored.presented_with_grace(rotated_at, Duration::ZERO),
            Reuse
        );
        assert_eq!(stored.presented_at(rotated_at), Reuse);
        // Timed before the rotation (a racing request, another node's clock): reuse without a
        // grace, within it with one.
        let earlier = rotated_at - Duration::seconds(5);
        assert_eq!(stored.presented_with_grace(earlier, Duration::ZERO), Reuse);
        assert_eq!(stored.presented_at(earlier), Reuse);
        assert_eq!(stored.presented_with_grace(earlier, grace), RotateAgain);
        stored.revoked_at = Some(rotated_at);
        assert_eq!(stored.presented_with_grace(rotated_at, grace), Reuse);
    }

    #[test]
    fn rotation_never_extends_the_absolute_limit() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let lifetimes = RefreshLifetimes::default();
        let first = RefreshToken {
            token_hash: SecretHash::of("a"),
            family_id: "f".into(),
            client_id: crate::ClientId::parse("app").unwrap(),
            user_id: crate::UserId::generate(),
            sid: crate::session::SessionId::generate(),
            scope: ScopeSet::parse("openid").unwrap(),
            auth_time: t0,
            amr: vec!["pwd".into()],
            acr: None,
            issued_at: t0,
            idle_expires_at: t0 + lifetimes.idle,
            absolute_expires_at: t0 + lifetimes.absolute,
            access_token: None,
        };
        let day20 = t0 + Duration::days(20);
        let access = |jti: &str, at: OffsetDateTime| IssuedAccessToken {
            jti: jti.into(),
            expires_at: at + Duration::minutes(15),
        };
        let next = first.successor(
            SecretHash::of("b"),
            day20,
            lifetimes.idle,
            access("j2", day20),
        );
        assert_eq!(
            next.idle_expires_at,
            t0 + lifetimes.absolute,
            "capped by the absolute limit"
        );
        assert_eq!(next.expires_at(), t0 + Duration::days(30));
        assert_eq!(next.auth_time, t0, "auth_time survives rotation");
        let day1 = t0 + Duration::days(1);
        let early = first.successor(
            SecretHash::of("c"),
            day1,
            lifetimes.idle,
            access("j3", day1),
        );
        assert_eq!(early.expires_at(), day1 + lifetimes.idle);
        assert_eq!(early.access_token, Some(access("j3", day1)));
    }

    /// Revoking a grant takes back the access tokens issued with it until their `exp`, and
    /// writes nothing for one that has already expired.
    #[test]
    fn a_revoked_grant_revokes_its_live_access_tokens_until_their_exp() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let issued = IssuedAccessToken {
            jti: "j".into(),
            expires_at: t0 + Duration::minutes(15),
        };
        let entry = issued
            .revocation(
                t0 + Duration::minutes(1),
                RevocationReason::ClientRequest,
                "client:app",
            )
            .expect("a live token is revoked");
        assert_eq!(
            entry.target,
            RevocationTarget::Token {
                jti: "j".into(),
                expires_at: issued.expires_at
            }
        );
        assert_eq!(entry.expires_at, issued.expires_at);
        assert_eq!(entry.actor, "client:app");
        assert_eq!(
            issued.revocation(issued.expires_at, RevocationReason::ClientRequest, "x"),
            None
        );
    }
}
