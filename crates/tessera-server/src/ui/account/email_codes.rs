//! `/account/email-codes`: codes by email as a second factor, which also verifies the address.
//!
//! Turning them on mails a code to the account's address ([`CodePurpose::VerifyEmail`]); typing
//! it back proves the user receives mail there, so `email_verified` becomes true and codes by
//! email become one of the user's second factors, in one update. Turning them off needs the
//! same recent sign-in as every change here.

use super::{audit_own_change, read_form, sent_code_refusal, signed_in};
use crate::app::AppState;
use crate::authn::factors::{self, CodeRefused};
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::audit::action;
use tessera_core::sign_in::Method;
use tessera_core::{CodePurpose, Recipient, User};

#[derive(Serialize)]
struct EmailCodesPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    email: &'a str,
    enabled: bool,
    code_sent: bool,
    error: Option<&'a str>,
}

fn render(
    status: StatusCode,
    user: &User,
    csrf: &str,
    code_sent: bool,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    ui::page(
        status,
        "email_codes.html",
        EmailCodesPage {
            action: routes::ACCOUNT_EMAIL_CODES,
            csrf_token: csrf,
            email: user.email.as_str(),
            enabled: user.email_codes_enabled,
            code_sent,
            error,
        },
        extra,
    )
}

fn unavailable() -> Response {
    ui::message_page(
        StatusCode::NOT_FOUND,
        "Codes by email are not available",
        "This server does not send mail.",
    )
}

/// `GET /account/email-codes`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.can_send_mail() {
        return unavailable();
    }
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render(StatusCode::OK, &user, &csrf, false, None, extra)
}

/// `POST /account/email-codes` with `step` = `send`, `confirm` or `off`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !state.can_send_mail() {
        return unavailable();
    }
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let now = state.services.clock.now();
    match params.get("step").unwrap_or_default() {
        "send" => {
            let to = Recipient::Email(user.email.clone());
            let purpose = CodePurpose::VerifyEmail;
            match factors::send_code(&state, &user, purpose, &to, None, now).await {
                Ok(Ok(())) => render(StatusCode::OK, &user, csrf, true, None, Vec::new()),
                Ok(Err(refused)) => refused_page(&user, csrf, refused, now, false),
                Err(err) => store_failure(err),
            }
        }
        "confirm" => {
            let typed = params.get("email_code").unwrap_or_default();
            let (purpose, to) = (CodePurpose::VerifyEmail, user.email.as_str());
            match factors::check_code(&state, &user.id, purpose, to, typed, now).await {
                Ok(Ok(())) => {}
                Ok(Err(refused)) => return refused_page(&user, csrf, refused, now, true),
                Err(err) => return store_failure(err),
            }
            let mut updated = user.clone();
            updated.email_verified = true;
            updated.email_codes_enabled = true;
            updated.updated_at = now;
            if let Err(err) = state.services.store.update_user(&updated).await {
                return store_failure(err);
            }
            audit_own_change(
                &state,
                &user,
                action::EMAIL_CODES_ENABLED,
                serde_json::json!({}),
            )
            .await;
            state
                .notify_account_change(&user, "Sign-in codes by email were turned on.")
                .await;
            ui::message_page(
                StatusCode::OK,
                "Codes by email turned on",
                "Your address is confirmed. When a second step is needed, you can ask for a code by email.",
            )
        }
        "off" => {
            match factors::may_remove(&state, &user, Method::EmailCode).await {
                Ok(true) => {}
                Ok(false) => {
                    return ui::message_page(
                        StatusCode::CONFLICT,
                        "Codes by email stay on",
                        "Your account must keep a second factor. Add another one before turning these off.",
                    )
                }
                Err(err) => return store_failure(err),
            }
            let mut updated = user.clone();
            updated.email_codes_enabled = false;
            updated.updated_at = now;
            if let Err(err) = state.services.store.update_user(&updated).await {
                return store_failure(err);
            }
            audit_own_change(
                &state,
                &user,
                action::EMAIL_CODES_DISABLED,
                serde_json::json!({}),
            )
            .await;
            state
                .notify_account_change(&user, "Sign-in codes by email were turned off.")
                .await;
            ui::message_page(
                StatusCode::OK,
                "Codes by email turned off",
                "Sign-in codes are no longer sent by email.",
            )
        }
        _ => ui::error_page(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form asked for nothing this page does.",
        ),
    }
}

fn refused_page(
    user: &User,
    csrf: &str,
    refused: CodeRefused,
    now: time::OffsetDateTime,
    code_sent: bool,
) -> Response {
    let (status, message, extra) = sent_code_refusal(refused, now);
    render(status, user, csrf, code_sent, Some(message), extra)
}
