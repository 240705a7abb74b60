//! The audit trail: who did what to whose tokens and sessions, when and why.
//!
//! Every revocation (each kind, whatever triggered it), every logout and every detected reuse
//! of a code or refresh token is recorded, and logged when it is recorded. Records are written
//! by the store in the same transaction as the change they describe where there is one, so the
//! trail never claims a change that was rolled back nor misses one that was made.

use time::OffsetDateTime;

/// What happened. Revocations use their feed kind (`session-revoked`, …); the others are named
/// here.
pub mod action {
    /// An authorization code was presented a second time.
    pub const CODE_REPLAY: &str = "code-replay";
    /// A rotated refresh token was presented again; its family was revoked.
    pub const REFRESH_REUSE: &str = "refresh-reuse";
    /// A refresh-token family was revoked at the revocation endpoint.
    pub const REFRESH_FAMILY_REVOKED: &str = "refresh-family-revoked";
    /// A back-channel logout token could not be delivered after every retry.
    pub const BACKCHANNEL_ABANDONED: &str = "backchannel-logout-abandoned";
}

/// One record of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the trail, assigned by the store (0 before it is stored).
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Who: `cli`, `client:<id>`, `user:<id>` or `system`.
    pub actor: String,
    /// What (see [`action`] and the revocation kinds).
    pub action: String,
    /// Whom or what it concerned: a sid, a user id, a client id, a jti, or `*`.
    pub target: String,
    /// Why, when there is a reason (a revocation reason, a delivery error).
    pub reason: Option<String>,
    /// Further facts as a JSON object (counts, the client involved, …); `{}` when none.
    pub detail: String,
}

impl AuditEvent {
    /// A record not yet stored.
    pub fn new(
        at: OffsetDateTime,
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        reason: Option<String>,
        detail: String,
    ) -> Self {
        Self {
            id: 0,
            at,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            reason,
            detail,
        }
    }
}
