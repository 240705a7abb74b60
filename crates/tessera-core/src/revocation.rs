//! Revocation: taking back tokens before they expire.
//!
//! The model has four kinds of entry, each a [`Revocation`]:
//!
//! - **token** ([`RevocationTarget::Token`]): one access token, by its `jti`;
//! - **session** ([`RevocationTarget::Session`]): every token carrying a `sid` (a device
//!   sign-in). It also ends the browser session and revokes the refresh tokens of that sid;
//! - **user** ([`RevocationTarget::User`]): every token of a user issued before the entry's
//!   `not_before`, which also ends the user's browser sessions and revokes their refresh tokens
//!   ("log out everywhere", password change, disable, removal). Its variant
//!   [`RevocationTarget::UserClaims`] covers only the user's *access* tokens: after a change of
//!   roles the old access tokens die, but refresh goes on and brings tokens with the new roles;
//! - **global** ([`RevocationTarget::Global`]): every token issued before `not_before`
//!   (emergency; pairs with key rotation).
//!
//! Refresh tokens are stored, so they are revoked in the store itself, in the same transaction
//! that records the entry; access tokens are self-contained JWTs, so the entry is what refuses
//! them. Whoever checks an access token (introspection, UserInfo, a resource server mirroring the
//! revocation feed) asks [`Revocation::covers`].
//!
//! # Time and the `not_before` second
//!
//! Tokens carry whole seconds (`iat`). An entry made at instant `t` gets `not_before` = the
//! second after `t` ([`not_before_after`]), so it covers every token issued in `t`'s second,
//! including those issued a moment before it. A token issued in that same second *after* the
//! entry would be covered too, so issuance for a covered user waits for `not_before` before
//! stamping `iat` (at most a second, and only right after a revocation).
//!
//! # Bounded state
//!
//! Every entry is kept only as long as a token it covers could still be accepted
//! ([`Revocation::expires_at`]): a token entry until the token's `exp`; the others until
//! `not_before` plus the longest access-token lifetime plus [`ISSUANCE_SLACK`]. After that, every
//! access token the entry covers has expired on its own, and the refresh tokens it covers were
//! revoked in the store when it was made. The state therefore holds only what happened within
//! one access-token lifetime.

use crate::audit::AuditEvent;
use crate::code::AuthorizationCode;
use crate::ids::UserId;
use crate::session::SessionId;
use std::fmt;
use time::{Duration, OffsetDateTime};

/// Bytes of entropy in an access token's `jti` (128 bits).
pub const JTI_BYTES: usize = 16;

/// Slack added to how long session, user and global entries are kept, beyond the access-token
/// lifetime: a token whose issuance checked the revocation state just before an entry was
/// written may be signed a moment after it (an authorization code can be in flight for its 60
/// seconds). A minute more than that covers it with room to spare.
pub const ISSUANCE_SLACK: Duration = Duration::seconds(120);

/// A fresh, unguessable access-token id.
///
/// A code gets the id of its access token when it is issued (see
/// [`AuthorizationCode::access_token_jti`]), so a replay of the code knows which token to revoke
/// without the first redemption having written anything.
pub fn new_jti() -> String {
    crate::random::token(JTI_BYTES)
}

/// The `not_before` of an entry made at `revoked_at`: the start of the next whole second, so
/// every token stamped with `revoked_at`'s second is covered (see the module docs).
pub fn not_before_after(revoked_at: OffsetDateTime) -> OffsetDateTime {
    let second =
        OffsetDateTime::from_unix_timestamp(revoked_at.unix_timestamp()).unwrap_or(revoked_at);
    second + Duration::seconds(1)
}

/// What a revocation takes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationTarget {
    /// One access token.
    Token {
        /// Its `jti`.
        jti: String,
        /// Its `exp`: the entry is kept until then.
        expires_at: OffsetDateTime,
    },
    /// Every token of one device sign-in; ends the browser session and its refresh tokens.
    Session {
        /// The session.
        sid: SessionId,
        /// Its user (the `sub` of its tokens), for the feed and back-channel logout.
        user_id: UserId,
    },
    /// Every token of a user issued before `not_before`; ends the user's browser sessions and
    /// revokes their refresh tokens.
    User {
        /// The user.
        user_id: UserId,
    },
    /// The user's access tokens issued before `not_before` only: their claims are out of date.
    /// Sessions and refresh tokens stay.
    UserClaims {
        /// The user.
        user_id: UserId,
    },
    /// Every token issued before `not_before`.
    Global,
}

/// The identifiers a [`RevocationTarget`] names, each present only for the kinds that have it:
/// how the store keeps a target in columns and the feed spells it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetIds<'a> {
    /// The token's `jti` ([`RevocationTarget::Token`]).
    pub jti: Option<&'a str>,
    /// The session ([`RevocationTarget::Session`]).
    pub sid: Option<&'a str>,
    /// The user (session, user and claims targets).
    pub user_id: Option<&'a str>,
}

impl RevocationTarget {
    /// The identifiers this target names.
    pub fn ids(&self) -> TargetIds<'_> {
        let (jti, sid, user_id) = match self {
            RevocationTarget::Token { jti, .. } => (Some(jti.as_str()), None, None),
            RevocationTarget::Session { sid, user_id } => {
                (None, Some(sid.as_str()), Some(user_id.as_str()))
            }
            RevocationTarget::User { user_id } | RevocationTarget::UserClaims { user_id } => {
                (None, None, Some(user_id.as_str()))
            }
            RevocationTarget::Global => (None, None, None),
        };
        TargetIds { jti, sid, user_id }
    }
}

/// The kind of a feed entry: one per [`RevocationTarget`] variant. The names of session, user
/// and claims entries follow the OpenID Shared Signals / CAEP event vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationKind {
    /// [`RevocationTarget::Token`].
    TokenRevoked,
    /// [`RevocationTarget::Session`] (CAEP `session-revoked`).
    SessionRevoked,
    /// [`RevocationTarget::User`] (CAEP `credential-change`).
    CredentialChange,
    /// [`RevocationTarget::UserClaims`] (CAEP `token-claims-change`).
    TokenClaimsChange,
    /// [`RevocationTarget::Global`].
    GlobalRevoked,
}

impl RevocationKind {
    /// Every kind.
    pub const ALL: [RevocationKind; 5] = [
        RevocationKind::TokenRevoked,
        RevocationKind::SessionRevoked,
        RevocationKind::CredentialChange,
        RevocationKind::TokenClaimsChange,
        RevocationKind::GlobalRevoked,
    ];

    /// The wire name, used in the feed, the store and the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            RevocationKind::TokenRevoked => "token-revoked",
            RevocationKind::SessionRevoked => "session-revoked",
            RevocationKind::CredentialChange => "credential-change",
            RevocationKind::TokenClaimsChange => "token-claims-change",
            RevocationKind::GlobalRevoked => "global-revoked",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RevocationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a revocation was made. Kept in the feed and the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// RP-initiated logout.
    Logout,
    /// An operator revoked a session or a user's tokens.
    AdminRevoke,
    /// The user's password was set.
    PasswordChange,
    /// The user was disabled.
    AccountDisabled,
    /// The user was removed.
    AccountRemoved,
    /// The user's roles changed.
    RolesChange,
    /// `keys rotate --revoke-all`.
    KeyRotation,
    /// A client revoked a token at the RFC 7009 endpoint.
    ClientRequest,
    /// An authorization code was redeemed twice.
    CodeReplay,
    /// A refresh token that had already been rotated was presented again.
    RefreshReuse,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 10] = [
        RevocationReason::Logout,
        RevocationReason::AdminRevoke,
        RevocationReason::PasswordChange,
        RevocationReason::AccountDisabled,
        RevocationReason::AccountRemoved,
        RevocationReason::RolesChange,
        RevocationReason::KeyRotation,
        RevocationReason::ClientRequest,
        RevocationReason::CodeReplay,
        RevocationReason::RefreshReuse,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RevocationReason::Logout => "logout",
            RevocationReason::AdminRevoke => "admin-revoke",
            RevocationReason::PasswordChange => "password-change",
            RevocationReason::AccountDisabled => "account-disabled",
            RevocationReason::AccountRemoved => "account-removed",
            RevocationReason::RolesChange => "roles-change",
            RevocationReason::KeyRotation => "key-rotation",
            RevocationReason::ClientRequest => "client-request",
            RevocationReason::CodeReplay => "code-replay",
            RevocationReason::RefreshReuse => "refresh-reuse",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One revocation: what it covers, when and why it was made, and until when it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// What it takes back.
    pub target: RevocationTarget,
    /// When it was made.
    pub revoked_at: OffsetDateTime,
    /// For user, claims and global entries: tokens with `iat` before this are covered.
    /// `None` for token and session entries, which cover by id whatever the time.
    pub not_before: Option<OffsetDateTime>,
    /// Until when the entry is kept; past it, nothing it covers can still be valid.
    pub expires_at: OffsetDateTime,
    /// Why.
    pub reason: RevocationReason,
    /// Who: `cli`, `client:<id>`, `user:<id>`, or `system`.
    pub actor: String,
}

/// What a revocation check needs to know of an access token.
#[derive(Clone, Copy, Debug)]
pub struct TokenFacts<'a> {
    /// `jti`.
    pub jti: &'a str,
    /// `sid`, for a user's token.
    pub sid: Option<&'a str>,
    /// `sub`: the user's id for a user's token, the client id for `client_credentials`.
    pub sub: &'a str,
    /// `iat`, in unix seconds.
    pub iat: i64,
}

impl Revocation {
    /// A revocation of `target` made at `revoked_at`, kept as long as the model needs it given
    /// the longest access-token lifetime `access_lifetime` (see the module docs).
    pub fn new(
        target: RevocationTarget,
        revoked_at: OffsetDateTime,
        access_lifetime: Duration,
        reason: RevocationReason,
        actor: impl Into<String>,
    ) -> Self {
        let (not_before, expires_at) = match &target {
            RevocationTarget::Token { expires_at, .. } => (None, *expires_at),
            RevocationTarget::Session { .. } => {
                (None, revoked_at + access_lifetime + ISSUANCE_SLACK)
            }
            RevocationTarget::User { .. }
            | RevocationTarget::UserClaims { .. }
            | RevocationTarget::Global => {
                let not_before = not_before_after(revoked_at);
                (
                    Some(not_before),
                    not_before + access_lifetime + ISSUANCE_SLACK,
                )
            }
        };
        Self {
            target,
            revoked_at,
            not_before,
            expires_at,
            reason,
            actor: actor.into(),
        }
    }

    /// The feed kind of this entry.
    pub fn kind(&self) -> RevocationKind {
        match self.target {
            RevocationTarget::Token { .. } => RevocationKind::TokenRevoked,
            RevocationTarget::Session { .. } => RevocationKind::SessionRevoked,
            RevocationTarget::User { .. } => RevocationKind::CredentialChange,
            RevocationTarget::UserClaims { .. } => RevocationKind::TokenClaimsChange,
            RevocationTarget::Global => RevocationKind::GlobalRevoked,
        }
    }

    /// Whether this entry refuses the access token described by `token` at `now`. An entry past
    /// its `expires_at` covers nothing (every token it covered has expired).
    pub fn covers(&self, token: &TokenFacts<'_>, now: OffsetDateTime) -> bool {
        if self.expires_at <= now {
            return false;
        }
        let issued_before = |not_before: Option<OffsetDateTime>| {
            not_before.is_some_and(|nb| token.iat < nb.unix_timestamp())
        };
        match &self.target {
            RevocationTarget::Token { jti, .. } => jti == token.jti,
            RevocationTarget::Session { sid, .. } => token.sid == Some(sid.as_str()),
            RevocationTarget::User { user_id } | RevocationTarget::UserClaims { user_id } => {
                token.sid.is_some()
                    && user_id.as_str() == token.sub
                    && issued_before(self.not_before)
            }
            RevocationTarget::Global => issued_before(self.not_before),
        }
    }
}

/// What storing a [`Revocation`] did, as the audit trail records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationEffects {
    /// The entry's feed cursor.
    pub cursor: i64,
    /// Browser sessions deleted.
    pub sessions_ended: usize,
    /// Refresh tokens newly revoked.
    pub refresh_tokens_revoked: u64,
    /// Back-channel logout deliveries queued.
    pub logout_notifications: u64,
}

impl Revocation {
    /// What the audit trail records for this revocation, stored with `effects`: the kind as the
    /// action, the named token, session or user as the target (`*` for a global entry), the
    /// reason, and the effects as a JSON object in the detail. Every backend appends exactly
    /// this in the transaction that stores the entry, so the record is decided here once.
    pub fn audit_event(&self, effects: &RevocationEffects) -> AuditEvent {
        let target = match &self.target {
            RevocationTarget::Token { jti, .. } => jti.clone(),
            RevocationTarget::Session { sid, .. } => sid.to_string(),
            RevocationTarget::User { user_id } | RevocationTarget::UserClaims { user_id } => {
                user_id.to_string()
            }
            RevocationTarget::Global => "*".to_owned(),
        };
        // Numbers only, so the object is written directly; keys in sorted order, as a JSON
        // library with sorted maps writes them.
        let detail = format!(
            "{{\"cursor\":{},\"logout_notifications\":{},\"refresh_tokens_revoked\":{},\
             \"sessions_ended\":{}}}",
            effects.cursor,
            effects.logout_notifications,
            effects.refresh_tokens_revoked,
            effects.sessions_ended
        );
        AuditEvent::new(
            self.revoked_at,
            self.actor.clone(),
            self.kind().as_str(),
            target,
            Some(self.reason.as_str().to_owned()),
            detail,
        )
    }
}

/// A stored revocation with its position in the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationEntry {
    /// Position in the feed: strictly increasing in the order entries were stored, never
    /// reused.
    pub cursor: i64,
    /// The revocation.
    pub revocation: Revocation,
}

/// Until when the revocation of the access token issued from a replayed `code` must be kept:
/// no earlier than that token's `exp`.
///
/// The first redemption stamps its tokens with the instant it checked against the code's
/// `expires_at`, which it must have been before, so the token expires before
/// `code.expires_at + access_lifetime`. The replay's own `now + access_lifetime` is also a bound
/// whenever the first redemption decided before the replay did; which of two racing requests read
/// its clock first is unknown, so the later of the two bounds is kept.
pub fn replayed_code_revocation_expiry(
    code: &AuthorizationCode,
    now: OffsetDateTime,
    access_lifetime: Duration,
) -> OffsetDateTime {
    now.max(code.expires_at) + access_lifetime
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SecretHash;
    use crate::{ClientId, ScopeSet, SessionId, UserId};

    /// The audit record of each kind of revocation: action, target, reason, actor, time and the
    /// effects in the detail, for every target kind.
    #[test]
    fn audit_event_of_each_kind() {
        let user = UserId::generate();
        let sid = SessionId::generate();
        let effects = RevocationEffects {
            cursor: 42,
            sessions_ended: 2,
            refresh_tokens_revoked: 3,
            logout_notifications: 4,
        };
        let cases = [
            (
                RevocationTarget::Token {
                    jti: "j-1".into(),
                    expires_at: t(900),
                },
                "token-revoked",
                "j-1".to_owned(),
            ),
            (
                RevocationTarget::Session {
                    sid: sid.clone(),
                    user_id: user.clone(),
                },
                "session-revoked",
                sid.to_string(),
            ),
            (
                RevocationTarget::User {
                    user_id: user.clone(),
                },
                "credential-change",
                user.to_string(),
            ),
            (
                RevocationTarget::UserClaims {
                    user_id: user.clone(),
                },
                "token-claims-change",
                user.to_string(),
            ),
            (RevocationTarget::Global, "global-revoked", "*".to_owned()),
        ];
        for (target, action, expect_target) in cases {
            let revocation = Revocation::new(
                target,
                t(5),
                Duration::minutes(15),
                RevocationReason::AdminRevoke,
                "cli",
            );
            let event = revocation.audit_event(&effects);
            assert_eq!(event.action, action);
            assert_eq!(event.target, expect_target, "{action}");
            assert_eq!(event.reason.as_deref(), Some("admin-revoke"));
            assert_eq!(event.actor, "cli");
            assert_eq!(event.at, t(5));
            assert_eq!(
                event.detail,
                "{\"cursor\":42,\"logout_notifications\":4,\"refresh_tokens_revoked\":3,\
                 \"sessions_ended\":2}"
            );
        }
    }

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    fn code_expiring_at(expires: i64) -> AuthorizationCode {
        AuthorizationCode {
            code_hash: SecretHash::of("code"),
            client_id: ClientId::parse("app").unwrap(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_in_request: true,
            user_id: UserId::generate(),
            sid: SessionId::generate(),
            scope: ScopeSet::parse("openid").unwrap(),
            nonce: None,
            code_challenge: None,
            auth_time: t(0),
            amr: vec![],
            acr: None,
            family_id: "family".into(),
            access_token_jti: new_jti(),
            issued_at: t(expires - 60),
            expires_at: t(expires),
        }
    }

    #[test]
    fn jtis_have_128_bits_and_differ() {
        let (a, b) = (new_jti(), new_jti());
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
    }

    #[test]
    fn the_revocation_outlives_every_token_the_first_redemption_could_have_issued() {
        let lifetime = Duration::minutes(15);
        let code = code_expiring_at(60);
        // The first redemption decided at any instant before the code expired; the replay read
        // its clock earlier (a race), at the same time, or much later.
        for first in [0, 30, 59] {
            let token_exp = t(first) + lifetime;
            for replay in [0, first, 59, 60, 3600] {
                let kept_until = replayed_code_revocation_expiry(&code, t(replay), lifetime);
                assert!(kept_until >= token_exp, "first {first}, replay {replay}");
            }
        }
        // A replay long after the code expired keeps the entry for a lifetime from now.
        assert_eq!(
            replayed_code_revocation_expiry(&code, t(3600), lifetime),
            t(3600) + lifetime
        );
        // Otherwise the code's expiry bounds it.
        assert_eq!(
            replayed_code_revocation_expiry(&code, t(10), lifetime),
            t(60) + lifetime
        );
    }

    fn facts<'a>(jti: &'a str, sid: Option<&'a str>, sub: &'a str, iat: i64) -> TokenFacts<'a> {
        TokenFacts {
            jti,
            sid,
            sub,
            iat: t(iat).unix_timestamp(),
        }
    }

    #[test]
    fn not_before_is_the_next_whole_second() {
        let at = t(10) + Duration::milliseconds(400);
        assert_eq!(not_before_after(at), t(11));
        assert_eq!(not_before_after(t(10)), t(11));
    }

    #[test]
    fn each_kind_covers_exactly_its_tokens() {
        let lifetime = Duration::minutes(15);
        let alice = UserId::generate();
        let bob = UserId::generate();
        let sid = SessionId::generate();
        let now = t(100);
        let a = alice.as_str();
        let by_session = Revocation::new(
            RevocationTarget::Session {
                sid: sid.clone(),
                user_id: alice.clone(),
            },
            now,
            lifetime,
            RevocationReason::Logout,
            "cli",
        );
        assert!(by_session.covers(&facts("j", Some(sid.as_str()), a, 200), now));
        assert!(!by_session.covers(&facts("j", Some("other"), a, 50), now));
        assert!(!by_session.covers(&facts("j", None, a, 50), now));

        let by_token = Revocation::new(
            RevocationTarget::Token {
                jti: "j1".into(),
                expires_at: t(900),
            },
            now,
            lifetime,
            RevocationReason::ClientRequest,
            "client:app",
        );
        assert!(by_token.covers(&facts("j1", None, "app", 50), now));
        assert!(!by_token.covers(&facts("j2", None, "app", 50), now));
        assert!(
            !by_token.covers(&facts("j1", None, "app", 50), t(900)),
            "kept until exp only"
        );

        for target in [
            RevocationTarget::User {
                user_id: alice.clone(),
            },
            RevocationTarget::UserClaims {
                user_id: alice.clone(),
            },
        ] {
            let by_user =
                Revocation::new(target, now, lifetime, RevocationReason::AdminRevoke, "cli");
            assert_eq!(by_user.not_before, Some(t(101)));
            // Issued in the revocation's own second: covered.
            assert!(by_user.covers(&facts("j", Some("s"), a, 100), now));
            assert!(by_user.covers(&facts("j", Some("s"), a, 10), now));
            assert!(
                !by_user.covers(&facts("j", Some("s"), a, 101), now),
                "issued after"
            );
            assert!(
                !by_user.covers(&facts("j", Some("s"), bob.as_str(), 10), now),
                "other user"
            );
            // A client_credentials token whose subject happens to spell the user id: no sid.
            assert!(!by_user.covers(&facts("j", None, a, 10), now));
        }

        let global = Revocation::new(
            RevocationTarget::Global,
            now,
            lifetime,
            RevocationReason::KeyRotation,
            "cli",
        );
        assert!(global.covers(&facts("j", None, "app", 100), now));
        assert!(global.covers(&facts("j", Some("s"), bob.as_str(), 100), now));
        assert!(!global.covers(&facts("j", None, "app", 101), now));
    }

    #[test]
    fn entries_outlive_every_access_token_they_cover() {
        let lifetime = Duration::minutes(15);
        let now = t(100);
        for target in [
            RevocationTarget::Session {
                sid: SessionId::generate(),
                user_id: UserId::generate(),
            },
            RevocationTarget::User {
                user_id: UserId::generate(),
            },
            RevocationTarget::Global,
        ] {
            let entry =
                Revocation::new(target, now, lifetime, RevocationReason::AdminRevoke, "cli");
            // The newest token it can cover was issued in the revocation's second (or, for a
            // session, by a code already in flight); it expires a lifetime later.
            let newest_token_exp = now + Duration::seconds(60) + lifetime;
            assert!(entry.expires_at > newest_token_exp);
            assert!(entry.expires_at <= now + lifetime + ISSUANCE_SLACK + Duration::seconds(1));
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for kind in RevocationKind::ALL {
            assert_eq!(RevocationKind::parse(kind.as_str()), Some(kind));
        }
        for reason in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(RevocationKind::parse("nope"), None);
    }
}
