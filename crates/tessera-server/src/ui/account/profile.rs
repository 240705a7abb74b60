//! `/account`: the account's home. It shows the profile (display name, address and whether it
//! is confirmed) and how the account is protected, links to each settings page, and saves a
//! new display name.
//!
//! The name is not part of how the account is protected, so changing it needs a live session
//! and the CSRF check but not a recent sign-in ([`super::with_session`]). It is checked by
//! [`normalise_name`]: it ends up in ID tokens and mail.

use super::{audit_own_change, read_form, with_session};
use crate::app::AppState;
use crate::authn::factors;
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
use tessera_core::user::normalise_name;
use tessera_core::User;

#[derive(Serialize)]
struct AccountPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    name: &'a str,
    email: &'a str,
    email_verified: bool,
    has_password: bool,
    totp: bool,
    recovery_codes: bool,
    email_codes: Option<bool>,
    phone: Option<Option<&'a str>>,
    /// How many passkeys the user has, when passkeys are offered.
    passkeys: Option<usize>,
    links: Links,
    saved: bool,
    error: Option<&'a str>,
}

/// Where each settings page lives, so the template names no path itself.
#[derive(Serialize)]
struct Links {
    email: &'static str,
    password: &'static str,
    devices: &'static str,
    totp: &'static str,
    recovery_codes: &'static str,
    email_codes: &'static str,
    phone: &'static str,
    passkeys: &'static str,
}

const LINKS: Links = Links {
    email: routes::ACCOUNT_EMAIL,
    password: routes::ACCOUNT_PASSWORD,
    devices: routes::ACCOUNT_DEVICES,
    totp: routes::ACCOUNT_TOTP,
    recovery_codes: routes::ACCOUNT_RECOVERY_CODES,
    email_codes: routes::ACCOUNT_EMAIL_CODES,
    phone: routes::ACCOUNT_PHONE,
    passkeys: routes::ACCOUNT_PASSKEYS,
};

async fn render(
    state: &AppState,
    status: StatusCode,
    user: &User,
    csrf: &str,
    saved: bool,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let enrolled = match factors::enrolled(state, &user.id).await {
        Ok(enrolled) => enrolled.second_factors,
        Err(err) => return store_failure(err),
    };
    let passkeys = match state.settings.passkeys {
        Some(_) => match state.services.store.list_passkeys(&user.id).await {
            Ok(passkeys) => Some(passkeys.len()),
            Err(err) => return store_failure(err),
        },
        None => None,
    };
    let page = AccountPage {
        action: routes::ACCOUNT,
        csrf_token: csrf,
        name: user.name.as_deref().unwrap_or_default(),
        email: user.email.as_str(),
        email_verified: user.email_verified,
        has_password: user.password_hash.is_some(),
        totp: enrolled.contains(&Method::Totp),
        recovery_codes: enrolled.contains(&Method::RecoveryCode),
        email_codes: state
            .can_send_mail()
            .then_some(enrolled.contains(&Method::EmailCode)),
        phone: state
            .can_send_sms()
            .then(|| user.phone_number.as_ref().map(|n| n.as_str())),
        passkeys,
        links: LINKS,
        saved,
        error,
    };
    ui::page(status, "account.html", page, extra)
}

/// `GET /account`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, user) = match with_session(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render(&state, StatusCode::OK, &user, &csrf, false, None, extra).await
}

/// `POST /account` with `name`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (_, user) = match with_session(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let Ok(name) = normalise_name(params.get("name").unwrap_or_default()) else {
        let error = "A name is at most 100 characters, on one line.";
        return render(
            &state,
            StatusCode::BAD_REQUEST,
            &user,
            csrf,
            false,
            Some(error),
            Vec::new(),
        )
        .await;
    };
    let mut updated = user.clone();
    updated.name = name;
    updated.updated_at = state.services.clock.now();
    if let Err(err) = state.services.store.update_user(&updated).await {
        return store_failure(err);
    }
    audit_own_change(
        &state,
        &user,
        action::PROFILE_UPDATED,
        serde_json::json!({}),
    )
    .await;
    render(
        &state,
        StatusCode::OK,
        &updated,
        csrf,
        true,
        None,
        Vec::new(),
    )
    .await
}
