//! The audit trail.

use super::revocations::{revocation_at, revoke_new, revoke_token, session_target};
use super::sign_in::session;
use super::{t, user};
use tessera_core::revocation::new_jti;
use tessera_core::{AuditEvent, Revocation, RevocationReason, RevocationTarget, SessionId, UserId};
use tessera_store::{ProbedStore, StoreError};

/// The `cursor` field of a revocation record's detail, which must be a JSON object.
fn detail_cursor(event: &AuditEvent) -> i64 {
    let detail: serde_json::Value = serde_json::from_str(&event.detail)
        .unwrap_or_else(|e| panic!("detail {:?} is not JSON: {e}", event.detail));
    assert!(detail.is_object(), "{detail}");
    detail["cursor"]
        .as_i64()
        .unwrap_or_else(|| panic!("no cursor in {detail}"))
}

/// Every revocation appends exactly one record, in the same step: its kind as the action, what
/// it names as the target, its reason, actor and time, and its feed cursor in the detail. A
/// repeat or a failed revocation appends nothing.
pub async fn audit_each_revocation_appends_one_record(store: &dyn ProbedStore) {
    let ada = user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    let (signed_in, _) = session(&ada, 3600);
    store.create_session(&signed_in).await.unwrap();
    let jti = new_jti();

    let revocations = [
        Revocation::new(
            RevocationTarget::Token {
                jti: jti.clone(),
                expires_at: t(900),
            },
            t(10),
            super::revocations::ACCESS_LIFETIME,
            RevocationReason::ClientRequest,
            "client:app",
        ),
        Revocation::new(
            session_target(&signed_in),
            t(20),
            super::revocations::ACCESS_LIFETIME,
            RevocationReason::Logout,
            format!("user:{}", ada.id),
        ),
        revocation_at(
            RevocationTarget::User {
                user_id: ada.id.clone(),
            },
            30,
        ),
        revocation_at(
            RevocationTarget::UserClaims {
                user_id: ada.id.clone(),
            },
            40,
        ),
        Revocation::new(
            RevocationTarget::Global,
            t(50),
            super::revocations::ACCESS_LIFETIME,
            RevocationReason::KeyRotation,
            "system",
        ),
    ];
    let targets = [
        jti.clone(),
        signed_in.sid.to_string(),
        ada.id.to_string(),
        ada.id.to_string(),
        "*".to_owned(),
    ];
    let mut cursors = Vec::new();
    for (i, revocation) in revocations.iter().enumerate() {
        cursors.push(revoke_new(store, revocation).await.entry.cursor);
        assert_eq!(
            store.recent_audit(100).await.unwrap().len(),
            i + 1,
            "one record per revocation"
        );
    }

    let trail = store.recent_audit(100).await.unwrap();
    for (((event, revocation), target), cursor) in
        trail.iter().zip(&revocations).zip(&targets).zip(&cursors)
    {
        assert_eq!(event.action, revocation.kind().as_str());
        assert_eq!(&event.target, target);
        assert_eq!(event.reason.as_deref(), Some(revocation.reason.as_str()));
        assert_eq!(event.actor, revocation.actor);
        assert_eq!(event.at, revocation.revoked_at);
        assert_eq!(detail_cursor(event), *cursor);
    }
    assert!(trail.windows(2).all(|w| w[0].id < w[1].id));

    // Revoking again, or something that does not exist, leaves no trace.
    assert!(!revoke_token(store, &jti, t(900)).await);
    assert_eq!(
        store
            .revoke(&revocation_at(session_target(&signed_in), 60))
            .await
            .unwrap(),
        None
    );
    let unknown_session = RevocationTarget::Session {
        sid: SessionId::generate(),
        user_id: ada.id.clone(),
    };
    let err = store
        .revoke(&revocation_at(unknown_session, 60))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let ghost = RevocationTarget::User {
        user_id: UserId::generate(),
    };
    let err = store.revoke(&revocation_at(ghost, 60)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.recent_audit(100).await.unwrap(), trail);
}

fn event(at: i64, action: &str, reason: Option<&str>, detail: &str) -> AuditEvent {
    AuditEvent::new(
        t(at),
        "system",
        action,
        "family-🙂 \"quoted\"",
        reason.map(str::to_owned),
        detail.to_owned(),
    )
}

/// `append_audit` returns increasing ids and stores the record as given; `recent_audit(n)` is
/// the newest `n`, oldest first; `audit_after` pages through the trail.
pub async fn audit_append_and_read_back(store: &dyn ProbedStore) {
    assert!(store.recent_audit(10).await.unwrap().is_empty());
    assert!(store.audit_after(0, 10).await.unwrap().is_empty());

    let mut stored = Vec::new();
    for i in 0..5 {
        let reason = (i % 2 == 0).then_some("connection refused");
        let mut record = event(
            i * 10,
            tessera_core::audit::action::BACKCHANNEL_ABANDONED,
            reason,
            &format!(r#"{{"attempt":{i},"client":"app"}}"#),
        );
        record.id = store.append_audit(&record).await.unwrap();
        if let Some(previous) = stored.last() {
            let previous: &AuditEvent = previous;
            assert!(
                record.id > previous.id,
                "{} after {}",
                record.id,
                previous.id
            );
        }
        stored.push(record);
    }

    // Read back exactly as given, with the assigned ids.
    assert_eq!(store.recent_audit(100).await.unwrap(), stored);
    assert_eq!(store.recent_audit(5).await.unwrap(), stored);
    assert_eq!(store.recent_audit(3).await.unwrap(), stored[2..]);
    assert_eq!(store.recent_audit(1).await.unwrap(), stored[4..]);
    assert!(store.recent_audit(0).await.unwrap().is_empty());

    assert_eq!(store.audit_after(0, 2).await.unwrap(), stored[..2]);
    assert_eq!(
        store.audit_after(stored[1].id, 2).await.unwrap(),
        stored[2..4]
    );
    assert_eq!(
        store.audit_after(stored[3].id, 2).await.unwrap(),
        stored[4..]
    );
    assert!(store.audit_after(stored[4].id, 2).await.unwrap().is_empty());

    // Paging from the start reads every record once, in order.
    let mut after = 0;
    let mut read = Vec::new();
    loop {
        let page = store.audit_after(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        read.extend(page);
    }
    assert_eq!(read, stored);

    // Revocation records share the trail and its ids.
    assert!(revoke_token(store, &new_jti(), t(900)).await);
    let newest = store.recent_audit(1).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert!(newest[0].id > stored[4].id);
    assert_eq!(newest[0].action, "token-revoked");
    assert_eq!(store.audit_after(stored[4].id, 10).await.unwrap(), newest);
}
