//! Making revocations, and issuing tokens after one.
//!
//! Every trigger (logout, the revocation endpoint, a replayed code, an operator command, a
//! password change, …) builds a [`Revocation`] and records it here, so each is logged the same
//! way and announced to the feed and the back-channel logout worker of this process at once
//! (other processes notice through the store: at once on its change notification, else within
//! a poll interval). Request handlers go through [`AppState::revoke`], operators through
//! [`Operator`](crate::admin::Operator); both end in [`record`].

use crate::app::{AppState, Signals};
use tessera_core::{AuditEvent, Revocation, RevocationReason, RevocationTarget, UserId};
use tessera_store::{AuditStore, FamilyRevocation, RevocationOutcome, RevocationStore, StoreError};
use time::OffsetDateTime;

/// Records `revocation` in the store (with its effects on sessions, refresh tokens and the
/// back-channel logout queue, and its audit record), logs it, and, given the `signals` of the
/// server it runs in, wakes that server's feed streams and back-channel logout worker. `None`
/// when it repeats a token or session revocation that exists already.
///
/// Without `signals` (the CLI, another process than the server's) the servers notice the entry
/// through the store.
pub async fn record(
    store: &dyn RevocationStore,
    signals: Option<&Signals>,
    revocation: &Revocation,
) -> Result<Option<RevocationOutcome>, StoreError> {
    let outcome = store.revoke(revocation).await?;
    match &outcome {
        Some(done) => tracing::info!(
            kind = %revocation.kind(),
            reason = %revocation.reason,
            actor = %revocation.actor,
            target = ?revocation.target,
            cursor = done.entry.cursor,
            sessions_ended = done.sessions_ended.len(),
            refresh_tokens_revoked = done.refresh_tokens_revoked,
            logout_notifications = done.logout_notifications,
            "revocation recorded"
        ),
        None => tracing::info!(
            kind = %revocation.kind(),
            target = ?revocation.target,
            "already revoked; nothing changed"
        ),
    }
    if let (Some(signals), Some(done)) = (signals, &outcome) {
        signals.announce(done);
    }
    Ok(outcome)
}

/// Appends `event` to the audit trail and logs it. A failure to write is logged, not returned:
/// the change the event describes has happened either way.
pub async fn audit(store: &dyn AuditStore, event: &AuditEvent) {
    // Routine changes (a client revoking its own token, an operator adding a user) are INFO;
    // only what an operator should look at is a warning.
    macro_rules! log_audit {
        ($level:ident) => {
            tracing::$level!(
                actor = %event.actor,
                action = %event.action,
                target = %event.target,
                reason = event.reason.as_deref().unwrap_or("-"),
                detail = %event.detail,
                "audit"
            )
        };
    }
    if tessera_core::audit::action::is_alarming(&event.action) {
        log_audit!(warn);
    } else {
        log_audit!(info);
    }
    if let Err(err) = store.append_audit(event).await {
        tracing::error!(error = %err, action = %event.action, "could not write the audit record");
    }
}

impl AppState {
    /// Revokes `target` now, for `reason`, on behalf of `actor` (see [`record`]), and wakes this
    /// server's feed streams and back-channel logout worker.
    pub async fn revoke(
        &self,
        target: RevocationTarget,
        reason: RevocationReason,
        actor: impl Into<String>,
    ) -> Result<Option<RevocationOutcome>, StoreError> {
        let revocation = Revocation::new(
            target,
            self.services.clock.now(),
            self.settings.lifetimes.access_token,
            reason,
            actor,
        );
        record(
            self.services.store.as_ref(),
            Some(&self.signals),
            &revocation,
        )
        .await
    }

    /// Revokes the grant `family_id` now, for `reason`, on behalf of `actor`: its refresh
    /// tokens and the access tokens issued with them, each of those with a feed entry (see
    /// `RefreshTokenStore::revoke_refresh_family`); logs it and wakes this server's feed
    /// streams.
    pub async fn revoke_grant(
        &self,
        family_id: &str,
        reason: RevocationReason,
        actor: impl Into<String>,
    ) -> Result<FamilyRevocation, StoreError> {
        let actor = actor.into();
        let revoked = self
            .services
            .store
            .revoke_refresh_family(family_id, self.services.clock.now(), reason, &actor)
            .await?;
        tracing::info!(
            family_id,
            reason = %reason,
            actor = %actor,
            refresh_tokens_revoked = revoked.refresh_tokens_revoked,
            access_tokens_revoked = revoked.access_tokens_revoked.len(),
            "grant revoked"
        );
        if let Some(last) = revoked.access_tokens_revoked.last() {
            self.signals.announce_cursor(last.cursor);
        }
        Ok(revoked)
    }

    /// Appends an event that changes nothing else to the audit trail, and logs it. A failure to
    /// write is logged, not returned: the change the event describes has happened either way.
    pub async fn audit(
        &self,
        actor: impl Into<String>,
        action: &str,
        target: &str,
        reason: Option<&str>,
        detail: serde_json::Value,
    ) {
        let event = AuditEvent::new(
            self.services.clock.now(),
            actor,
            action,
            target,
            reason.map(str::to_owned),
            detail.to_string(),
        );
        audit(self.services.store.as_ref(), &event).await;
    }

    /// The instant to stamp new tokens for `user` (or, with `None`, tokens of no user) with.
    ///
    /// Normally now. Right after a user or global revocation, tokens stamped with the current
    /// second would be covered by it (see `tessera_core::revocation`), so this waits until the
    /// entry's `not_before` (at most a second) and returns it.
    pub async fn issuance_time(&self, user: Option<&UserId>) -> Result<OffsetDateTime, StoreError> {
        let now = self.services.clock.now();
        match self.services.store.latest_not_before(user, now).await? {
            Some(not_before) if not_before > now => {
                tokio::time::sleep(self.services.clock.wait_until(not_before)).await;
                Ok(self.services.clock.now().max(not_before))
            }
            _ => Ok(now),
        }
    }
}
