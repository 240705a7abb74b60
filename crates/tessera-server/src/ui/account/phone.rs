//! `/account/phone`: codes by SMS as a second factor. The user types a number (E.164, validated
//! by [`PhoneNumber::parse`]); a code is texted there ([`CodePurpose::VerifyPhone`], its hash
//! bound to that number, so a code sent to one number cannot confirm another); typing it back
//! sets the user's verified number, which makes SMS one of their second factors. Sending is
//! limited per account, per number and per network source (SMS pumping). Removing the number
//! follows the last-factor rule of [`factors::may_remove`]. The owner is told by mail.

use super::{audit_own_change, read_form, sent_code_refusal, signed_in};
use crate::app::AppState;
use crate::authn::factors::{self, CodeRefused};
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::Serialize;
use std::net::SocketAddr;
use tessera_core::audit::action;
use tessera_core::sign_in::Method;
use tessera_core::{CodePurpose, PhoneNumber, Recipient, User};

#[derive(Serialize)]
struct PhonePage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    current: Option<String>,
    code_sent_to: Option<String>,
    phone: &'a str,
    error: Option<&'a str>,
}

fn render(
    status: StatusCode,
    user: &User,
    csrf: &str,
    sent_to: Option<&PhoneNumber>,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let page = PhonePage {
        action: routes::ACCOUNT_PHONE,
        csrf_token: csrf,
        current: user.phone_number.as_ref().map(PhoneNumber::masked),
        code_sent_to: sent_to.map(PhoneNumber::masked),
        phone: sent_to.map_or("", PhoneNumber::as_str),
        error,
    };
    ui::page(status, "phone.html", page, extra)
}

fn unavailable() -> Response {
    ui::message_page(
        StatusCode::NOT_FOUND,
        "Codes by text message are not available",
        "This server does not send text messages.",
    )
}

/// `GET /account/phone`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.can_send_sms() {
        return unavailable();
    }
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render(StatusCode::OK, &user, &csrf, None, None, extra)
}

/// `POST /account/phone` with `step` = `send` (and `phone`), `confirm` (`phone`, `sms_code`) or
/// `remove`.
pub async fn post(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state.can_send_sms() {
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
    let step = params.get("step").unwrap_or_default();
    if step == "remove" {
        return remove(&state, &user).await;
    }
    let number = match PhoneNumber::parse(params.get("phone").unwrap_or_default()) {
        Ok(number) => number,
        Err(err) => {
            let message = err.to_string();
            return render(
                StatusCode::BAD_REQUEST,
                &user,
                csrf,
                None,
                Some(&message),
                Vec::new(),
            );
        }
    };
    match step {
        "send" => {
            let source = peer.map(|Extension(ConnectInfo(peer))| {
                state.settings.client_ip.client_ip(peer.ip(), &headers)
            });
            let to = Recipient::Phone(number.clone());
            let purpose = CodePurpose::VerifyPhone;
            match factors::send_code(&state, &user, purpose, &to, source, now).await {
                Ok(Ok(())) => render(StatusCode::OK, &user, csrf, Some(&number), None, Vec::new()),
                Ok(Err(refused)) => refused_page(&user, csrf, None, refused, now),
                Err(err) => store_failure(err),
            }
        }
        "confirm" => {
            let typed = params.get("sms_code").unwrap_or_default();
            let purpose = CodePurpose::VerifyPhone;
            match factors::check_code(&state, &user.id, purpose, number.as_str(), typed, now).await
            {
                Ok(Ok(())) => {}
                Ok(Err(refused)) => return refused_page(&user, csrf, Some(&number), refused, now),
                Err(err) => return store_failure(err),
            }
            let mut updated = user.clone();
            updated.phone_number = Some(number.clone());
            updated.updated_at = now;
            if let Err(err) = state.services.store.update_user(&updated).await {
                return store_failure(err);
            }
            audit_own_change(&state, &user, action::PHONE_VERIFIED, serde_json::json!({})).await;
            state
                .notify_account_change(
                    &user,
                    &format!("Sign-in codes will be texted to {}.", number.masked()),
                )
                .await;
            ui::message_page(
                StatusCode::OK,
                "Codes by text message turned on",
                "Your number is confirmed. When a second step is needed, you can ask for a code by text message.",
            )
        }
        _ => ui::error_page(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form asked for nothing this page does.",
        ),
    }
}

async fn remove(state: &AppState, user: &User) -> Response {
    match factors::may_remove(state, user, Method::Sms).await {
        Ok(true) => {}
        Ok(false) => {
            return ui::message_page(
                StatusCode::CONFLICT,
                "Codes by text message stay on",
                "Your account must keep a second factor. Add another one before removing this one.",
            )
        }
        Err(err) => return store_failure(err),
    }
    let mut updated = user.clone();
    updated.phone_number = None;
    updated.updated_at = state.services.clock.now();
    if let Err(err) = state.services.store.update_user(&updated).await {
        return store_failure(err);
    }
    audit_own_change(state, user, action::PHONE_REMOVED, serde_json::json!({})).await;
    state
        .notify_account_change(user, "Sign-in codes are no longer texted to your phone.")
        .await;
    ui::message_page(
        StatusCode::OK,
        "Codes by text message turned off",
        "Sign-in codes are no longer texted to your phone.",
    )
}

fn refused_page(
    user: &User,
    csrf: &str,
    sent_to: Option<&PhoneNumber>,
    refused: CodeRefused,
    now: time::OffsetDateTime,
) -> Response {
    let (status, message, extra) = sent_code_refusal(refused, now);
    render(status, user, csrf, sent_to, Some(message), extra)
}
