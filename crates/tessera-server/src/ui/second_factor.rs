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
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::Serialize;
use std::net::SocketAddr;
use tessera_core::outbox::masked;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{CodePurpose, PendingSignIn, Recipient, Stage};
use time::OffsetDateTime;

#[derive(Serialize)]
struct SecondFactorPage<'a> {
    action: &'static str,
    client_name: &'a str,
    request_id: &'a str,
    csrf_token: &'a str,
    has_totp: bool,
    has_email_codes: bool,
    has_sms: bool,
    has_recovery_codes: bool,
    /// The passkey endpoints, when the user has a passkey.
    passkey: Option<crate::ui::login::PasskeyForm>,
    /// The masked address a code was just mailed to, to show its input.
    email_sent_to: Option<String>,
    /// The masked number a code was just texted to, to show its input.
    sms_sent_to: Option<String>,
    error: Option<&'a str>,
}

/// What the page shows besides its forms: which channel a code was just sent by, and an error.
#[derive(Default)]
struct Notice<'a> {
    sent_by: Option<Method>,
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
            has_sms: methods.contains(&Method::Sms),
            has_recovery_codes: methods.contains(&Method::RecoveryCode),
            passkey: methods
                .iter()
                .any(|m| m.is_passkey())
                .then(|| crate::ui::login::PasskeyForm::for_sign_in(state))
                .flatten(),
            email_sent_to: (notice.sent_by == Some(Method::EmailCode)).then(|| masked(&user.email)),
            sms_sent_to: (notice.sent_by == Some(Method::Sms))
                .then(|| user.phone_number.as_ref().map(|n| n.masked()))
                .flatten(),
            error: notice.error,
        },
        extra_headers,
    )
}

/// The page again with `error` (a refused passkey).
pub(crate) async fn render_error(
    state: &AppState,
    status: StatusCode,
    pending: &PendingSignIn,
    csrf: &str,
    error: &str,
) -> Response {
    let notice = Notice {
        sent_by: None,
        error: Some(error),
    };
    render(state, status, pending, csrf, notice, Vec::new()).await
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
pub async fn post(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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
    let source = peer.map(|Extension(ConnectInfo(peer))| {
        state.settings.client_ip.client_ip(peer.ip(), &headers)
    });
    for (field, method) in [
        ("send_email_code", Method::EmailCode),
        ("send_sms_code", Method::Sms),
    ] {
        if params.get(field).is_some() {
            return send_code(&state, &pending, csrf, method, source, now).await;
        }
    }
    // Each form names its own field: `code` (app), `email_code`, `sms_code`, `recovery_code`.
    let (method, checked) = if let Some(typed) = params.get("recovery_code") {
        let checked = factors::check_recovery_code(&state, &user_id, typed, now).await;
        (Method::RecoveryCode, checked)
    } else if let Some((method, typed)) =
        [("email_code", Method::EmailCode), ("sms_code", Method::Sms)]
            .into_iter()
            .find_map(|(field, method)| params.get(field).map(|typed| (method, typed)))
    {
        let checked = match destination(&state, &user_id, method).await {
            Ok(Some((purpose, to))) => {
                factors::check_code(&state, &user_id, purpose, to.address(), typed, now).await
            }
            Ok(None) => Ok(Err(CodeRefused::NoFactor)),
            Err(err) => Err(err),
        };
        (method, checked)
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
            let sent_by = matches!(method, Method::EmailCode | Method::Sms).then_some(method);
            let notice = Notice {
                sent_by,
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

/// Where a sign-in code for `method` goes for `user_id` (their verified address or number), with
/// its purpose; `None` if the user does not have that factor (any more).
async fn destination(
    state: &AppState,
    user_id: &tessera_core::UserId,
    method: Method,
) -> Result<Option<(CodePurpose, Recipient)>, tessera_store::StoreError> {
    if !factors::enrolled(state, user_id)
        .await?
        .second_factors
        .contains(&method)
    {
        return Ok(None);
    }
    let Some(user) = state.services.store.find_user(user_id).await? else {
        return Ok(None);
    };
    Ok(match method {
        Method::EmailCode => Some((CodePurpose::EmailSignIn, Recipient::Email(user.email))),
        Method::Sms => user
            .phone_number
            .map(|number| (CodePurpose::SmsSignIn, Recipient::Phone(number))),
        _ => None,
    })
}

/// "Email me a code" / "Text me a code": queues a sign-in code to the user's address or number
/// (if that is one of their factors) and shows the page again with the code's input. The
/// pending sign-in stays.
async fn send_code(
    state: &AppState,
    pending: &PendingSignIn,
    csrf: &str,
    method: Method,
    source: Option<std::net::IpAddr>,
    now: OffsetDateTime,
) -> Response {
    let Some(user_id) = &pending.user_id else {
        return expired_page();
    };
    let (purpose, to) = match destination(state, user_id, method).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return ui::error_page(
                StatusCode::BAD_REQUEST,
                "Codes by this channel are not available",
                "This account does not receive sign-in codes this way.",
            )
        }
        Err(err) => return store_failure(err),
    };
    let user = match state.services.store.find_user(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    match factors::send_code(state, &user, purpose, &to, source, now).await {
        Ok(Ok(())) => {
            tracing::info!(user_id = %user.id, channel = to.channel(), "sign-in code queued");
            let notice = Notice {
                sent_by: Some(method),
                error: None,
            };
            render(state, StatusCode::OK, pending, csrf, notice, Vec::new()).await
        }
        Ok(Err(refused)) => {
            let (status, message, extra) = refusal(refused, method, now);
            let notice = Notice {
                sent_by: None,
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
        (_, Method::EmailCode | Method::Sms) => unauthorized(
            "That code was not accepted. Codes work once, for 10 minutes: ask for a new one if needed.",
        ),
        (CodeRefused::Malformed, _) => {
            unauthorized("Enter the 6-digit code your authenticator app shows.")
        }
        _ => unauthorized("That code was not accepted. Wait for the next code and try again."),
    }
}
