//! `/account/email`: confirming the account's address, and moving the account to a new one.
//!
//! - **Confirming** mails a code to the current address ([`CodePurpose::VerifyEmail`]); typing
//!   it back sets `email_verified`.
//! - **Changing** mails a code to the *new* address ([`CodePurpose::ChangeEmail`], its hash
//!   bound to that address); typing it back moves the account there, confirmed, and tells the
//!   old address. Until then nothing changes: the account keeps its address, so a typo cannot
//!   lock anyone out and a stolen session cannot quietly redirect the account's mail.
//! - **No enumeration**: when the new address already belongs to an account, the page answers
//!   exactly as for a free one, and the mail sent there says it already has an account instead
//!   of carrying a code. Only whoever reads that mailbox learns it.
//!
//! The address is how the account is recovered, so both need the recent sign-in of every
//! protection change ([`super::signed_in`]), and sends count against the account like every
//! sent code.

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
use tessera_core::{CodePurpose, Email, Recipient, User};
use tessera_store::StoreError;
use time::OffsetDateTime;

/// Which code the page is waiting for, if any.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Waiting {
    Nothing,
    /// A code sent to the current address.
    Confirmation,
    /// A code sent to the new address.
    Change,
}

#[derive(Serialize)]
struct EmailPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    email: &'a str,
    email_verified: bool,
    waiting: Waiting,
    new_email: &'a str,
    error: Option<&'a str>,
}

struct Form<'a> {
    csrf: &'a str,
    waiting: Waiting,
    new_email: &'a str,
}

fn render(
    status: StatusCode,
    user: &User,
    form: Form<'_>,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let page = EmailPage {
        action: routes::ACCOUNT_EMAIL,
        csrf_token: form.csrf,
        email: user.email.as_str(),
        email_verified: user.email_verified,
        waiting: form.waiting,
        new_email: form.new_email,
        error,
    };
    ui::page(status, "email.html", page, extra)
}

fn no_mail() -> Response {
    ui::message_page(
        StatusCode::NOT_FOUND,
        "Email settings are not available",
        "This server does not send mail, so it cannot confirm an address.",
    )
}

/// `GET /account/email`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.can_send_mail() {
        return no_mail();
    }
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let form = Form {
        csrf: &csrf,
        waiting: Waiting::Nothing,
        new_email: "",
    };
    render(StatusCode::OK, &user, form, None, extra)
}

/// `POST /account/email` with `step` = `send_confirmation`, `confirm`, `send_change` (with
/// `new_email`) or `change` (with `new_email` and `email_code`).
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !state.can_send_mail() {
        return no_mail();
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
    let typed_new = params.get("new_email").unwrap_or_default();
    let code = params.get("email_code").unwrap_or_default();
    let now = state.services.clock.now();
    let form = |waiting| Form {
        csrf,
        waiting,
        new_email: typed_new,
    };
    let refused = |refused: CodeRefused, waiting| {
        let (status, message, extra) = sent_code_refusal(refused, now);
        render(status, &user, form(waiting), Some(message), extra)
    };
    match params.get("step").unwrap_or_default() {
        "send_confirmation" => {
            let to = Recipient::Email(user.email.clone());
            let purpose = CodePurpose::VerifyEmail;
            match factors::send_code(&state, &user, purpose, &to, None, now).await {
                Ok(Ok(())) => render(
                    StatusCode::OK,
                    &user,
                    form(Waiting::Confirmation),
                    None,
                    Vec::new(),
                ),
                Ok(Err(why)) => refused(why, Waiting::Nothing),
                Err(err) => store_failure(err),
            }
        }
        "confirm" => {
            let (purpose, to) = (CodePurpose::VerifyEmail, user.email.as_str());
            match factors::check_code(&state, &user.id, purpose, to, code, now).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return refused(why, Waiting::Confirmation),
                Err(err) => return store_failure(err),
            }
            let mut updated = user.clone();
            updated.email_verified = true;
            updated.updated_at = now;
            if let Err(err) = state.services.store.update_user(&updated).await {
                return store_failure(err);
            }
            audit_own_change(&state, &user, action::EMAIL_VERIFIED, serde_json::json!({})).await;
            ui::message_page(
                StatusCode::OK,
                "Address confirmed",
                "Your email address is confirmed.",
            )
        }
        "send_change" => {
            let Ok(new_email) = Email::parse(typed_new) else {
                let error = "That is not an email address.";
                return render(
                    StatusCode::BAD_REQUEST,
                    &user,
                    form(Waiting::Nothing),
                    Some(error),
                    Vec::new(),
                );
            };
            if new_email == user.email {
                let error = "That is already your address.";
                return render(
                    StatusCode::BAD_REQUEST,
                    &user,
                    form(Waiting::Nothing),
                    Some(error),
                    Vec::new(),
                );
            }
            match send_change_code(&state, &user, &new_email, now).await {
                Ok(Ok(())) => {
                    // The address as it will be stored, so the user sees what the code is for.
                    let form = Form {
                        new_email: new_email.as_str(),
                        ..form(Waiting::Change)
                    };
                    render(StatusCode::OK, &user, form, None, Vec::new())
                }
                Ok(Err(why)) => refused(why, Waiting::Nothing),
                Err(err) => store_failure(err),
            }
        }
        "change" => {
            let Ok(new_email) = Email::parse(typed_new) else {
                return refused(CodeRefused::Wrong, Waiting::Nothing);
            };
            let purpose = CodePurpose::ChangeEmail;
            let to = new_email.as_str();
            match factors::check_code(&state, &user.id, purpose, to, code, now).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return refused(why, Waiting::Change),
                Err(err) => return store_failure(err),
            }
            move_account(&state, &user, new_email, now).await
        }
        _ => ui::error_page(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form asked for nothing this page does.",
        ),
    }
}

/// Mails a code for moving `user` to `new_email`, or, when another account already has that
/// address, a notice saying so instead. Both count against the account and answer the same.
async fn send_change_code(
    state: &AppState,
    user: &User,
    new_email: &Email,
    now: OffsetDateTime,
) -> Result<Result<(), CodeRefused>, StoreError> {
    let taken = state
        .services
        .store
        .find_user_by_email(new_email)
        .await?
        .is_some();
    if !taken {
        let to = Recipient::Email(new_email.clone());
        return factors::send_code(state, user, CodePurpose::ChangeEmail, &to, None, now).await;
    }
    if let Some(locked) = factors::count_attempt(state, &user.id, now).await? {
        return Ok(Err(locked));
    }
    let body = "Someone asked to move an account to this address, but this address already \
                belongs to an account, so nothing was changed.\n\nIf it was you, sign in with \
                this address instead (or reset its password). If it was not, ignore this \
                message.\n";
    state
        .queue_mail(new_email, "This address already has an account", body)
        .await?;
    Ok(Ok(()))
}

/// Moves `user` to `new_email` (proven by a code sent there): confirmed, the old address told.
async fn move_account(
    state: &AppState,
    user: &User,
    new_email: Email,
    now: OffsetDateTime,
) -> Response {
    let mut updated = user.clone();
    updated.email = new_email;
    updated.email_verified = true;
    updated.updated_at = now;
    match state.services.store.update_user(&updated).await {
        Ok(()) => {}
        // Another account took the address between the code and now.
        Err(StoreError::Conflict(_)) => {
            return ui::message_page(
                StatusCode::CONFLICT,
                "Address not changed",
                "That address now belongs to another account. Your address stays as it was.",
            )
        }
        Err(err) => return store_failure(err),
    }
    let details = serde_json::json!({ "from": user.email.as_str(), "to": updated.email.as_str() });
    audit_own_change(state, user, action::EMAIL_CHANGED, details).await;
    // To the old address: the owner hears of it even if the session was not theirs.
    let notice = format!(
        "The address of your account was changed to {}.",
        updated.email.as_str()
    );
    state.notify_account_change(user, &notice).await;
    ui::message_page(
        StatusCode::OK,
        "Address changed",
        "Your account now uses the new address, and it is confirmed.",
    )
}
