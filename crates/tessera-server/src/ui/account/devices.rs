//! `/account/devices`: where the user is signed in (their browser sessions: the browser, when it
//! signed in, when it was last used, which apps it signed in to), with "sign out this device"
//! and "sign out everywhere else". Each is a session revocation (reason `logout`, by the
//! user): the session's tokens end, resource servers hear of it on the feed, and apps with
//! back-channel logout are told.
//!
//! This page needs a live session but not a recent sign-in: signing others out only protects
//! the account, and someone who finds a stranger in it should not first have to type a password
//! the stranger may have changed. A user can only sign out their own sessions.

use super::password::end_other_sessions;
use super::{read_form, with_session};
use crate::app::AppState;
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure, user_agent};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::{RevocationReason, RevocationTarget, SessionId};
use time::format_description::well_known::Rfc3339;

#[derive(Serialize)]
struct Device {
    sid: String,
    browser: String,
    created: String,
    last_seen: String,
    authenticated: String,
    methods: String,
    apps: String,
    current: bool,
}

#[derive(Serialize)]
struct DevicesPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    devices: Vec<Device>,
    others: bool,
}

/// `GET /account/devices`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, user) = match with_session(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let sessions = match state.services.store.list_user_sessions(&user.id).await {
        Ok(sessions) => sessions,
        Err(err) => return store_failure(err),
    };
    let now = state.services.clock.now();
    let when = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let devices: Vec<Device> = sessions
        .into_iter()
        .filter(|s| s.session.is_live(now))
        .map(|s| Device {
            current: s.session.sid == session.sid,
            sid: s.session.sid.to_string(),
            browser: user_agent::describe(s.session.user_agent.as_deref()),
            created: when(s.session.created_at),
            last_seen: when(s.session.last_seen_at),
            authenticated: when(s.session.auth_time),
            methods: s.session.amr.join(", "),
            apps: s
                .clients
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let others = devices.iter().any(|d| !d.current);
    let page = DevicesPage {
        action: routes::ACCOUNT_DEVICES,
        csrf_token: &csrf,
        devices,
        others,
    };
    ui::page(StatusCode::OK, "devices.html", page, extra)
}

/// `POST /account/devices` with `sid` (one device) or `everywhere_else`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (session, user) = match with_session(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    if params.get("everywhere_else").is_some() {
        return match end_other_sessions(&state, &user, &session, RevocationReason::Logout).await {
            Ok(ended) => ui::message_page(
                StatusCode::OK,
                "Signed out everywhere else",
                &format!("{ended} other device(s) signed out. This one stays signed in."),
            ),
            Err(err) => store_failure(err),
        };
    }
    let sid = SessionId::from_stored(params.get("sid").unwrap_or_default().to_owned());
    // Only the user's own sessions: another user's sid is answered like an unknown one.
    let own = match state.services.store.find_session(&sid).await {
        Ok(found) => found.filter(|s| s.user_id == user.id),
        Err(err) => return store_failure(err),
    };
    let Some(target_session) = own else {
        return ui::message_page(
            StatusCode::NOT_FOUND,
            "No such device",
            "That device is not signed in to your account (any more).",
        );
    };
    let target = RevocationTarget::Session {
        sid: target_session.sid,
        user_id: user.id.clone(),
    };
    match state
        .revoke(
            target,
            RevocationReason::Logout,
            format!("user:{}", user.id),
        )
        .await
    {
        Ok(_) => ui::see_other(routes::ACCOUNT_DEVICES, Vec::new()),
        Err(err) => store_failure(err),
    }
}
