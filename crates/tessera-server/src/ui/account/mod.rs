//! The signed-in user's own settings (`/account/…`), behind Tessera's own session cookie.
//!
//! Two rules hold for every page here that changes a signed-in account, in [`signed_in`] and
//! [`read_form`] (the forgotten-password pages, for users who cannot sign in, have only the
//! second, and their own rules in `password_reset.rs`):
//!
//! - **Recent authentication.** Changing how the account is protected (a factor added or
//!   removed, the password changed) needs an authentication within the last
//!   [`RECENT_AUTHENTICATION`]; a session signed in earlier is told to sign in again. A stolen
//!   session cookie alone therefore cannot enrol the thief's authenticator.
//! - **CSRF.** Every form carries the browser's CSRF token, compared with the `__Host-` CSRF
//!   cookie (which another site can neither read nor set) in constant time.

pub mod devices;
pub mod email;
pub mod email_codes;
pub mod passkeys;
pub mod password;
pub mod password_reset;
pub mod phone;
pub mod profile;
pub mod recovery_codes;
pub mod totp;
pub mod totp_removal;

use crate::app::AppState;
use crate::authn::session;
use crate::cookies;
use crate::oauth::form::FormParams;
use crate::ui::{self, store_failure};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::client::SecretHash;
use tessera_core::{BrowserSession, User};
use time::Duration;

/// How recent an authentication must be to change how the account is protected.
pub const RECENT_AUTHENTICATION: Duration = Duration::minutes(5);

/// The live session of this browser and its user, however long ago it authenticated (pages
/// that only protect the account, like signing a device out); otherwise the page that says what
/// to do.
pub async fn with_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(BrowserSession, User), Response> {
    match session::current_session(state, headers).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(ui::message_page(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "Sign in to an application that uses this account, then come back to this page.",
        )),
        Err(err) => Err(store_failure(err)),
    }
}

/// The live session of this browser and its user, authenticated within
/// [`RECENT_AUTHENTICATION`]; otherwise the page that says what to do.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(BrowserSession, User), Response> {
    let (session, user) = with_session(state, headers).await?;
    if state.services.clock.now() - session.auth_time > RECENT_AUTHENTICATION {
        return Err(ui::message_page(
            StatusCode::FORBIDDEN,
            "Sign in again",
            "To change how your account is protected, you must have signed in within the last 5 minutes. Sign in again, then come back to this page.",
        ));
    }
    Ok((session, user))
}

/// Records a change `user` made to their own account in the audit trail (actor `user:<id>`,
/// target the user).
pub async fn audit_own_change(
    state: &AppState,
    user: &User,
    action: &str,
    details: serde_json::Value,
) {
    let actor = format!("user:{}", user.id);
    state
        .audit(actor, action, user.id.as_str(), None, details)
        .await;
}

/// How an account page answers a code that was not sent or not accepted (codes by email or
/// SMS): the status, the message shown on the page again, and extra headers.
pub fn sent_code_refusal(
    refused: crate::authn::factors::CodeRefused,
    now: time::OffsetDateTime,
) -> (
    StatusCode,
    &'static str,
    Vec<(header::HeaderName, header::HeaderValue)>,
) {
    match refused {
        crate::authn::factors::CodeRefused::Locked { until } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many codes or attempts. Wait a few minutes and try again.",
            vec![(
                header::RETRY_AFTER,
                header::HeaderValue::from((until - now).whole_seconds().max(1)),
            )],
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "That code was not accepted. Codes work once, for 10 minutes.",
            Vec::new(),
        ),
    }
}

/// Reads an account form: the body, checked against the browser's CSRF cookie.
pub async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<FormParams, Response> {
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes)
        .await
        .map_err(|err| {
            ui::error_page(
                StatusCode::BAD_REQUEST,
                "Invalid form",
                &err.description.unwrap_or_default(),
            )
        })?;
    let csrf_ok = match (
        cookies::read(headers, cookies::CSRF),
        params.get("csrf_token"),
    ) {
        (Some(cookie), Some(form)) => SecretHash::of(&cookie).matches(form),
        _ => false,
    };
    if !csrf_ok {
        tracing::warn!("account form refused: CSRF token missing or not this browser's");
        return Err(ui::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Reload the page and try again.",
        ));
    }
    Ok(params)
}
