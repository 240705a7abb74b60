//! The hosted second-factor page: `GET /login/second-factor?request=ID` asks for a code from
//! the user's authenticator app, a code sent by email, or one of their recovery codes;
//! `POST /login/second-factor` checks it (or, for `send_email_code`, mails a code and shows the
//! page again).
//!
//! The page serves only a pending sign-in the engine parked in the second-factor stage, which
//! names the user its first factor (or the browser's session, for a step-up) identified: a
//! code is checked for that user only, so the page cannot be reached by skipping the password.
//! Wrong codes, and codes sent, count against the account ([`crate::authn::factors`]); a right
//! one is spent.

use crate::app::AppState;
use crate::authn::factors::{self, CodeRefused};
use crate::authn::{flow, pending};
use crate::routes;
use crate::ui::login::PageQuery;
use crate::ui::{self, expired_page, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::mail::masked;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{CodePurpose, PendingSignIn, Stage};
use time::OffsetDateTime;

#[derive(Serialize)]
struct SecondFactorPage<'a> {
    action: &'static str,
    client_name: &'a str,
    request_id: &'a str,
    csrf_token: &'a str,
    has_totp: bool,
    has_email_codes: bool,
    has_recovery_codes: bool,
    /// The masked address a code was just sent to, to show its input.
    email_sent_to: Option<String>,
    error: Option<&'a str>,
}

/// What the page shows besides its forms.
#[derive(Default)]
struct Notice<'a> {
    email_sent: bool,
    error: Option<&'a str>,
}

async fn render(
    state: &AppState,
    status: StatusCode,
    pending: &PendingSignIn,
    csrf: &str,
    notice: Notice<'_>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let client = state
        .services
        .store
        .find_client(pending.continuation.client_id())
        .await;
    let client_name = match client {
        Ok(Some(client)) => client.name,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let Some(user_id) = &pending.user_id else {
        return expired_page();
    };
    let (methods, user) = match (
        factors::enrolled(state, user_id).await,
        state.services.store.find_user(user_id).await,
    ) {
        (Ok(enrolled), Ok(Some(user))) => (enrolled.second_factors, user),
        (Ok(_), Ok(None)) => return expired_page(),
        (Err(err), _) | (_, Err(err)) => return store_failure(err),
    };
    ui::page(
        status,
        "second_factor.html",
        SecondFactorPage {
            action: routes::SECOND_FACTOR,
            client_name: &client_name,
            request_id: &pending.id,
            csrf_token: csrf,
            has_totp: methods.contains(&Method::Totp),
            has_email_codes: methods.contains(&Method::EmailCode),
            has_recovery_codes: methods.contains(&Method::RecoveryCode),
            email_sent_to: notice.email_sent.then(|| masked(&user.email)),
            error: notice.error,
        },
        extra_headers,
    )
}

/// `GET /login/second-factor?request=ID`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    match pending::for_page(&state, &headers, query.request(), Stage::SecondFactor).await {
        Ok(Some((pending, csrf))) => {
            let notice = Notice::default();
            render(&state, StatusCode::OK, &pending, &csrf, notice, Vec::new()).await
        }
        Ok(None) => expired_page(),
        Err(err) => store_failure(err),
    }
}

/// `POST /login/second-factor`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (params, pending) =
        match pending::read_form(&state, &headers, body, Stage::SecondFactor).await {
            Ok(read) => read,
            Err(page) => return page,
        };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let Some(user_id) = pending.user_id.clone() else {
        // The engine parks this stage with the user it identified; a row without one was not
        // made by it.
        tracing::error!("a sign-in waits for a second factor without a user");
        return expired_page();
    };
    let now = state.services.clock.now();
    if params.get("send_email_code").is_some() {
        return send_code(&state, &pending, csrf, now).await;
    }
    // Each form names its own field: `code` (app), `email_code`, `recovery_code`.
    let (method, checked) = if let Some(typed) = params.get("recovery_code") {
        let checked = factors::check_recovery_code(&state, &user_id, typed, now).await;
        (Method::RecoveryCode, checked)
    } else if let Some(typed) = params.get("email_code") {
        let checked = if factors::enrolled(&state, &user_id)
            .await
            .is_ok_and(|e| e.second_factors.contains(&Method::EmailCode))
        {
            factors::check_email_code(&state, &user_id, CodePurpose::SignIn, typed, now).await
        } else {
            Ok(Err(CodeRefused::NoFactor))
        };
        (Method::EmailCode, checked)
    } else {
        let typed = params.get("code").unwrap_or_default();
        let checked = factors::check_totp(&state, &user_id, typed, now).await;
        (Method::Totp, checked)
    };
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            tracing::info!(?refused, ?method, %user_id, "second factor refused");
            let (status, message, extra) = refusal(refused, method, now);
            let notice = Notice {
                email_sent: method == Method::EmailCode,
                error: Some(&message),
            };
            return render(&state, status, &pending, csrf, notice, extra).await;
        }
        Err(err) => return store_failure(err),
    }
    flow::prove(
        &state,
        &headers,
        &pending,
        None,
        Proof { method, at: now },
        Vec::new(),
    )
    .await
}

/// "Email me a code": queues a sign-in code to the user's address (if codes by email are one of
/// their factors) and shows the page again with the code's input. The pending sign-in stays.
async fn send_code(
    state: &AppState,
    pending: &PendingSignIn,
    csrf: &str,
    now: OffsetDateTime,
) -> Response {
    let Some(user_id) = &pending.user_id else {
        return expired_page();
    };
    let user = match state.services.store.find_user(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let allowed = match factors::enrolled(state, user_id).await {
        Ok(enrolled) => enrolled.second_factors.contains(&Method::EmailCode),
        Err(err) => return store_failure(err),
    };
    if !allowed {
        return ui::error_page(
            StatusCode::BAD_REQUEST,
            "Codes by email are not available",
            "This account does not receive sign-in codes by email.",
        );
    }
    match factors::send_email_code(state, &user, CodePurpose::SignIn, now).await {
        Ok(Ok(())) => {
            tracing::info!(user_id = %user.id, "sign-in code queued by email");
            let notice = Notice {
                email_sent: true,
                error: None,
            };
            render(state, StatusCode::OK, pending, csrf, notice, Vec::new()).await
        }
        Ok(Err(refused)) => {
            let (status, message, extra) = refusal(refused, Method::EmailCode, now);
            let notice = Notice {
                email_sent: false,
                error: Some(&message),
            };
            render(state, status, pending, csrf, notice, extra).await
        }
        Err(err) => store_failure(err),
    }
}

/// The status, message and headers of the page shown again for a refused code. The message
/// never says whether the code was wrong, expired or replayed: all are "not accepted".
fn refusal(
    refused: CodeRefused,
    method: Method,
    now: OffsetDateTime,
) -> (StatusCode, String, Vec<(HeaderName, HeaderValue)>) {
    let unauthorized = |message: &str| (StatusCode::UNAUTHORIZED, message.to_owned(), Vec::new());
    match (refused, method) {
        (CodeRefused::Locked { until }, _) => {
            let wait_seconds = (until - now).whole_seconds().max(1);
            let wait_minutes = (wait_seconds + 59) / 60;
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many attempts. Try again in {wait_minutes} minute{}.",
                    if wait_minutes == 1 { "" } else { "s" }
                ),
                vec![(header::RETRY_AFTER, HeaderValue::from(wait_seconds))],
            )
        }
        (_, Method::RecoveryCode) => {
            unauthorized("That recovery code was not accepted. Each code works once.")
        }
        (_, Method::EmailCode) => unauthorized(
            "That code was not accepted. Codes work once, for 10 minutes: ask for a new one if needed.",
        ),
        (CodeRefused::Malformed, _) => {
            unauthorized("Enter the 6-digit code your authenticator app shows.")
        }
        _ => unauthorized("That code was not accepted. Wait for the next code and try again."),
    }
}
