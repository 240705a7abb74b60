//! The browser session: reading it from the cookie, and starting or renewing it when a sign-in
//! has authenticated the user.

use crate::app::AppState;
use crate::cookies;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use tessera_core::client::SecretHash;
use tessera_core::sign_in::{Authentication, SessionFacts};
use tessera_core::{BearerSecret, BrowserSession, SessionId, User};
use tessera_store::StoreError;

/// The live browser session of this request and its enabled user, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(BrowserSession, User)>, StoreError> {
    let Some(secret) = cookies::read(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some(mut session) = state
        .services
        .store
        .find_session_by_secret(&SecretHash::of(&secret))
        .await?
    else {
        return Ok(None);
    };
    let now = state.services.clock.now();
    if !session.is_live(now) {
        return Ok(None);
    }
    let user = match state.services.store.find_user(&session.user_id).await? {
        Some(user) if !user.is_disabled => user,
        _ => return Ok(None),
    };
    if session.needs_seen_update(now) {
        state
            .services
            .store
            .record_session_seen(&session.sid, now)
            .await?;
        session.last_seen_at = now;
    }
    Ok(Some((session, user)))
}

/// What the sign-in engine needs to know of a session.
pub fn facts(session: &BrowserSession) -> SessionFacts {
    SessionFacts {
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
    }
}

/// Starts a session for a sign-in the engine has authenticated, or renews this browser's session
/// of the same user: a new cookie secret (no fixation), the new `auth_time` and `amr`, the same
/// `sid`. Returns the session and the `Set-Cookie` header for it.
pub async fn establish(
    state: &AppState,
    headers: &HeaderMap,
    authentication: &Authentication,
) -> Result<(BrowserSession, (HeaderName, HeaderValue)), StoreError> {
    let now = state.services.clock.now();
    let secret = BearerSecret::generate(cookies::COOKIE_SECRET_BYTES);
    let cookie = (
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION,
            secret.expose(),
            state.settings.session_lifetime.whole_seconds(),
        ),
    );
    let amr = authentication.amr.clone();
    if let Some((mut session, current)) = current_session(state, headers).await? {
        if current.id == authentication.user_id {
            state
                .services
                .store
                .reauthenticate_session(
                    &session.sid,
                    &secret.hash(),
                    authentication.auth_time,
                    &amr,
                )
                .await?;
            session.secret_hash = secret.hash();
            session.auth_time = authentication.auth_time;
            session.amr = amr;
            session.last_seen_at = authentication.auth_time;
            return Ok((session, cookie));
        }
    }
    let session = BrowserSession {
        sid: SessionId::generate(),
        secret_hash: secret.hash(),
        user_id: authentication.user_id.clone(),
        auth_time: authentication.auth_time,
        amr,
        created_at: now,
        expires_at: now + state.settings.session_lifetime,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .and_then(BrowserSession::user_agent_to_keep),
        last_seen_at: now,
    };
    state.services.store.create_session(&session).await?;
    Ok((session, cookie))
}
