//! Forgotten passwords ([`tessera_core::password_reset`]): `/account/forgot-password` mails a
//! single-use link, `/account/reset-password?token=…` sets a new password with it.
//!
//! - **No account enumeration**: the request page answers the same whether or not an account
//!   uses the address, and mails only when one does (through the outbox, so the answer does not
//!   wait for the mail server either). The link is written and queued after the answer, so its
//!   time does not tell either. Requests are limited per address typed
//!   ([`ThrottleKey::for_password_reset`]); over the limit nothing is sent, and the answer is
//!   still the same.
//! - **The second factor still counts**: a user with an authenticator app or recovery codes
//!   must give one of them too, since the link only proves access to the mailbox. (Codes by
//!   email are not asked: they would come through the same mailbox.)
//! - **Every session ends**: whoever knew the old password may be signed in somewhere; the
//!   reset revokes every session and token of the user, as an operator's `set-password` does.
//! - The new password follows the same rules as everywhere ([`check_new_password`]); a
//!   refused one, or a wrong code, leaves the link usable.

use super::read_form;
use crate::app::AppState;
use crate::authn::factors::{self, CodeRefused};
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_core::audit::action;
use tessera_core::client::SecretHash;
use tessera_core::password::check_new_password;
use tessera_core::sign_in::Method;
use tessera_core::{
    Admission, Email, PasswordReset, RevocationReason, RevocationTarget, ThrottleKey, User,
};
use zeroize::Zeroizing;

#[derive(Serialize)]
struct ForgotPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    sent: bool,
}

#[derive(Serialize)]
struct ResetPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    token: &'a str,
    email: &'a str,
    needs_totp: bool,
    needs_recovery_code: bool,
    error: Option<&'a str>,
}

/// The query of the mailed link.
#[derive(Debug, Deserialize)]
pub struct ResetQuery {
    token: String,
}

/// `GET /account/forgot-password`.
pub async fn forgot_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.can_send_mail() {
        return no_mail();
    }
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let page = ForgotPage {
        action: routes::FORGOT_PASSWORD,
        csrf_token: &csrf,
        sent: false,
    };
    ui::page(StatusCode::OK, "forgot_password.html", page, extra)
}

/// `POST /account/forgot-password`.
pub async fn forgot_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state.can_send_mail() {
        return no_mail();
    }
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let typed = params.get("email").unwrap_or_default();
    let now = state.services.clock.now();
    let store = &state.services.store;
    let admitted = store
        .admit_login_attempt(
            &ThrottleKey::for_password_reset(typed),
            &state.settings.login_throttle,
            now,
        )
        .await;
    let user = match (admitted, Email::parse(typed)) {
        (Ok(Admission::Locked { .. }), _) => {
            tracing::warn!("password reset refused: too many requests for this address");
            None
        }
        (Ok(_), Ok(email)) => match store.find_user_by_email(&email).await {
            Ok(user) => user.filter(|u| !u.is_disabled),
            Err(err) => return store_failure(err),
        },
        (Ok(_), Err(_)) => None,
        (Err(err), _) => return store_failure(err),
    };
    if let Some(user) = user {
        // After the answer, not before it: writing the link and queueing its mail is work an
        // unknown address does not cause, and its time would tell the two apart.
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(err) = send_link(&state, &user).await {
                tracing::error!(error = %err, "could not send a password-reset link");
            }
        });
    }
    // The same answer whatever happened above, as soon for every address.
    let page = ForgotPage {
        action: routes::FORGOT_PASSWORD,
        csrf_token: "",
        sent: true,
    };
    ui::page(StatusCode::OK, "forgot_password.html", page, Vec::new())
}

/// Stores a new link for `user` (replacing any earlier one) and queues the mail.
async fn send_link(state: &AppState, user: &User) -> Result<(), tessera_store::StoreError> {
    let now = state.services.clock.now();
    let (token, reset) = PasswordReset::issue(&user.id, now);
    state.services.store.create_password_reset(&reset).await?;
    let minutes = tessera_core::password_reset::LIFETIME.whole_minutes();
    let body = format!(
        "To choose a new password, open this link within {minutes} minutes:\n\n{}{}?token={}\n\n\
         It works once. Every device signed in to your account will be signed out.\n\
         If you did not ask for it, ignore this message: your password stays as it is.\n",
        state.settings.issuer,
        routes::RESET_PASSWORD,
        token.expose()
    );
    state
        .queue_mail(&user.email, "Choose a new password", &body)
        .await?;
    state
        .audit(
            "system",
            action::PASSWORD_RESET_SENT,
            user.id.as_str(),
            None,
            serde_json::json!({}),
        )
        .await;
    Ok(())
}

/// The live link `token` and its enabled user; otherwise the page saying it is unusable.
async fn live_link(state: &AppState, token: &str) -> Result<(PasswordReset, User), Response> {
    let now = state.services.clock.now();
    let hash = SecretHash::of(token);
    let reset = match state.services.store.find_password_reset(&hash, now).await {
        Ok(Some(reset)) => reset,
        Ok(None) => return Err(unusable_link()),
        Err(err) => return Err(store_failure(err)),
    };
    match state.services.store.find_user(&reset.user_id).await {
        Ok(Some(user)) if !user.is_disabled => Ok((reset, user)),
        Ok(_) => Err(unusable_link()),
        Err(err) => Err(store_failure(err)),
    }
}

/// `GET /account/reset-password?token=…`.
pub async fn reset_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ResetQuery>,
) -> Response {
    let (_, user) = match live_link(&state, &query.token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render_reset(
        &state,
        StatusCode::OK,
        &user,
        &query.token,
        &csrf,
        None,
        extra,
    )
    .await
}

/// `POST /account/reset-password`.
pub async fn reset_post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let token = params.get("token").unwrap_or_default();
    let csrf = params.get("csrf_token").unwrap_or_default();
    let (reset, user) = match live_link(&state, token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = Zeroizing::new(params.get("password").unwrap_or_default().to_owned());
    if let Err(rejection) = check_new_password(&password) {
        let message = rejection.to_string();
        return again(
            &state,
            &user,
            token,
            csrf,
            StatusCode::BAD_REQUEST,
            &message,
        )
        .await;
    }
    // The second factor, if the user has one that does not come through the mailbox.
    let now = state.services.clock.now();
    let (needs_totp, needs_recovery) = match needed_factors(&state, &user).await {
        Ok(needed) => needed,
        Err(err) => return store_failure(err),
    };
    if needs_totp || needs_recovery {
        let code = params.get("code").unwrap_or_default().trim();
        let recovery = params.get("recovery_code").unwrap_or_default().trim();
        let checked = if needs_totp && !code.is_empty() {
            factors::check_totp(&state, &user.id, code, now).await
        } else if needs_recovery && !recovery.is_empty() {
            factors::check_recovery_code(&state, &user.id, recovery, now).await
        } else {
            Ok(Err(CodeRefused::Malformed))
        };
        match checked {
            Ok(Ok(())) => {}
            Ok(Err(CodeRefused::Locked { .. })) => {
                let message = "Too many wrong codes. Wait a few minutes and try again.";
                return again(
                    &state,
                    &user,
                    token,
                    csrf,
                    StatusCode::TOO_MANY_REQUESTS,
                    message,
                )
                .await;
            }
            Ok(Err(_)) => {
                let message =
                    "Enter a current code from your authenticator app, or an unused recovery code.";
                return again(
                    &state,
                    &user,
                    token,
                    csrf,
                    StatusCode::UNAUTHORIZED,
                    message,
                )
                .await;
            }
            Err(err) => return store_failure(err),
        }
    }
    // Everything checked: use the link up (once, whoever races) and change the password.
    match state
        .services
        .store
        .use_password_reset(&reset.token_hash, now)
        .await
    {
        Ok(Some(owner)) if owner == user.id => {}
        Ok(_) => return unusable_link(),
        Err(err) => return store_failure(err),
    }
    let hash = state.services.passwords.hash(password).await;
    let mut updated = user.clone();
    updated.password_hash = Some(hash);
    updated.updated_at = now;
    if let Err(err) = state.services.store.update_user(&updated).await {
        return store_failure(err);
    }
    let target = RevocationTarget::User {
        user_id: user.id.clone(),
    };
    let actor = format!("user:{}", user.id);
    if let Err(err) = state
        .revoke(target, RevocationReason::PasswordChange, actor.clone())
        .await
    {
        // The password is changed; ending the sessions failed. Say so in the log, loudly: an
        // operator can end them (`tessera user revoke-tokens`).
        tracing::error!(error = %err, user_id = %user.id, "password reset: could not end the user's sessions");
    }
    state
        .notify_account_change(&user, "Your password was reset with a link sent by email.")
        .await;
    state
        .audit(
            actor,
            action::PASSWORD_RESET,
            user.id.as_str(),
            None,
            serde_json::json!({}),
        )
        .await;
    ui::message_page(
        StatusCode::OK,
        "Password changed",
        "Your password is changed and every device was signed out. Sign in again with your new password.",
    )
}

/// The reset page again, with `message`, its link still usable.
async fn again(
    state: &AppState,
    user: &User,
    token: &str,
    csrf: &str,
    status: StatusCode,
    message: &str,
) -> Response {
    render_reset(state, status, user, token, csrf, Some(message), Vec::new()).await
}

/// Whether the reset asks for an authenticator code and whether it accepts a recovery code.
async fn needed_factors(
    state: &AppState,
    user: &User,
) -> Result<(bool, bool), tessera_store::StoreError> {
    let methods = factors::enrolled(state, &user.id).await?.second_factors;
    Ok((
        methods.contains(&Method::Totp),
        methods.contains(&Method::RecoveryCode),
    ))
}

async fn render_reset(
    state: &AppState,
    status: StatusCode,
    user: &User,
    token: &str,
    csrf: &str,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, header::HeaderValue)>,
) -> Response {
    let (needs_totp, needs_recovery_code) = match needed_factors(state, user).await {
        Ok(needed) => needed,
        Err(err) => return store_failure(err),
    };
    let page = ResetPage {
        action: routes::RESET_PASSWORD,
        csrf_token: csrf,
        token,
        email: user.email.as_str(),
        needs_totp,
        needs_recovery_code,
        error,
    };
    ui::page(status, "reset_password.html", page, extra)
}

fn unusable_link() -> Response {
    ui::message_page(
        StatusCode::BAD_REQUEST,
        "This link no longer works",
        "Password links work once, for 30 minutes, and a newer link replaces an older one. Ask for a new link.",
    )
}

fn no_mail() -> Response {
    ui::message_page(
        StatusCode::NOT_FOUND,
        "Password reset is not available",
        "This server does not send mail. Ask your administrator to set a new password.",
    )
}
