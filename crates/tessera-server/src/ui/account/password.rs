//! `/account/password`: changing the password while signed in.
//!
//! The current password is asked (and counted against the address like a sign-in attempt, so a
//! session cannot be used to guess it), the new one follows the usual rules, and every *other*
//! session of the user ends: whoever else knew the old password is signed out, the person
//! changing it is not. The owner is told by mail.

use super::{audit_own_change, read_form, signed_in};
use crate::app::AppState;
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::audit::action;
use tessera_core::password::check_new_password;
use tessera_core::{
    Admission, BrowserSession, RevocationReason, RevocationTarget, ThrottleKey, User,
};
use tessera_store::StoreError;
use zeroize::Zeroizing;

#[derive(Serialize)]
struct PasswordPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

fn render(
    status: StatusCode,
    user: &User,
    csrf: &str,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let page = PasswordPage {
        action: routes::ACCOUNT_PASSWORD,
        csrf_token: csrf,
        email: user.email.as_str(),
        error,
    };
    ui::page(status, "password.html", page, extra)
}

/// `GET /account/password`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render(StatusCode::OK, &user, &csrf, None, extra)
}

/// `POST /account/password`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (session, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let current = Zeroizing::new(
        params
            .get("current_password")
            .unwrap_or_default()
            .to_owned(),
    );
    let new = Zeroizing::new(params.get("new_password").unwrap_or_default().to_owned());
    let now = state.services.clock.now();
    let store = &state.services.store;

    let key = ThrottleKey::for_username(user.email.as_str());
    match store
        .admit_login_attempt(&key, &state.settings.login_throttle, now)
        .await
    {
        Ok(Admission::Locked { until }) => {
            let wait = (until - now).whole_seconds().max(1);
            let extra = vec![(header::RETRY_AFTER, HeaderValue::from(wait))];
            let message = "Too many wrong passwords. Wait a few minutes and try again.";
            return render(
                StatusCode::TOO_MANY_REQUESTS,
                &user,
                csrf,
                Some(message),
                extra,
            );
        }
        Ok(_) => {}
        Err(err) => return store_failure(err),
    }
    let Some(hash) = user.password_hash.clone() else {
        let message = "This account has no password to change.";
        return render(
            StatusCode::BAD_REQUEST,
            &user,
            csrf,
            Some(message),
            Vec::new(),
        );
    };
    if !state.services.passwords.verify(current, hash).await {
        tracing::info!(user_id = %user.id, "password change refused: wrong current password");
        let message = "The current password is wrong.";
        return render(
            StatusCode::UNAUTHORIZED,
            &user,
            csrf,
            Some(message),
            Vec::new(),
        );
    }
    if let Err(err) = store.clear_login_attempts(&key).await {
        return store_failure(err);
    }
    if let Err(rejection) = check_new_password(&new) {
        let message = rejection.to_string();
        return render(
            StatusCode::BAD_REQUEST,
            &user,
            csrf,
            Some(&message),
            Vec::new(),
        );
    }
    let mut updated = user.clone();
    updated.password_hash = Some(state.services.passwords.hash(new).await);
    updated.updated_at = now;
    if let Err(err) = store.update_user(&updated).await {
        return store_failure(err);
    }
    let ended = match end_other_sessions(&state, &user, &session, RevocationReason::PasswordChange)
        .await
    {
        Ok(ended) => ended,
        Err(err) => {
            tracing::error!(error = %err, user_id = %user.id, "password changed, but ending the other sessions failed");
            0
        }
    };
    audit_own_change(
        &state,
        &user,
        action::PASSWORD_CHANGED,
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await;
    state
        .notify_account_change(&user, "Your password was changed.")
        .await;
    ui::message_page(
        StatusCode::OK,
        "Password changed",
        "Your password is changed. Every other device was signed out; this one stays signed in.",
    )
}

/// Ends every session of `user` but `keep` for `reason` (each a session revocation: its tokens
/// end too, and the apps of back-channel logout are told). Returns how many ended.
pub async fn end_other_sessions(
    state: &AppState,
    user: &User,
    keep: &BrowserSession,
    reason: RevocationReason,
) -> Result<usize, StoreError> {
    let mut ended = 0;
    for summary in state.services.store.list_user_sessions(&user.id).await? {
        let sid = summary.session.sid;
        if sid == keep.sid {
            continue;
        }
        let target = RevocationTarget::Session {
            sid,
            user_id: user.id.clone(),
        };
        let actor = format!("user:{}", user.id);
        if state.revoke(target, reason, actor).await?.is_some() {
            ended += 1;
        }
    }
    Ok(ended)
}
