//! The hosted second-factor page: `GET /login/second-factor?request=ID` asks for a code from
//! the user's authenticator app or one of their recovery codes, `POST /login/second-factor`
//! checks it.
//!
//! The page serves only a pending sign-in the engine parked in the second-factor stage, which
//! names the user its first factor (or the browser's session, for a step-up) identified: a
//! code is checked for that user only, so the page cannot be reached by skipping the password.
//! Wrong codes count against the account ([`crate::authn::factors`]); a right one is spent.

use crate::app::AppState;
use crate::authn::factors::{self, CodeRefused};
use crate::authn::flow;
use crate::authn::pending;
use crate::routes;
use crate::ui::login::PageQuery;
use crate::ui::{self, expired_page, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{PendingSignIn, Stage, TotpRejection};

#[derive(Serialize)]
struct SecondFactorPage<'a> {
    action: &'static str,
    client_name: &'a str,
    request_id: &'a str,
    csrf_token: &'a str,
    has_totp: bool,
    has_recovery_codes: bool,
    error: Option<&'a str>,
}

async fn render(
    state: &AppState,
    status: StatusCode,
    pending: &PendingSignIn,
    csrf: &str,
    error: Option<&str>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let client_name = match state
        .services
        .store
        .find_client(pending.continuation.client_id())
        .await
    {
        Ok(Some(client)) => client.name,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let Some(user_id) = &pending.user_id else {
        return expired_page();
    };
    let methods = match factors::enrolled(state, user_id).await {
        Ok(enrolled) => enrolled.second_factors,
        Err(err) => return store_failure(err),
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
            has_recovery_codes: methods.contains(&Method::RecoveryCode),
            error,
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
            render(&state, StatusCode::OK, &pending, &csrf, None, Vec::new()).await
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
    // The recovery-code form names its field; the authenticator form sends `code`.
    let (method, checked) = match params.get("recovery_code") {
        Some(typed) => (
            Method::RecoveryCode,
            factors::check_recovery_code(&state, &user_id, typed, now).await,
        ),
        None => (
            Method::Totp,
            factors::check_totp(
                &state,
                &user_id,
                params.get("code").unwrap_or_default(),
                now,
            )
            .await,
        ),
    };
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            tracing::info!(?refused, %user_id, "second factor refused");
            let (status, message, extra) = refusal(refused, method, now);
            return render(&state, status, &pending, csrf, Some(&message), extra).await;
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

/// The status, message and headers of the page shown again for a refused code. The message
/// never says whether the code was wrong or replayed: both are "not accepted".
fn refusal(
    refused: CodeRefused,
    method: Method,
    now: time::OffsetDateTime,
) -> (StatusCode, String, Vec<(HeaderName, HeaderValue)>) {
    if method == Method::RecoveryCode && !matches!(refused, CodeRefused::Locked { .. }) {
        return (
            StatusCode::UNAUTHORIZED,
            "That recovery code was not accepted. Each code works once.".into(),
            Vec::new(),
        );
    }
    match refused {
        CodeRefused::Locked { until } => {
            let wait_seconds = (until - now).whole_seconds().max(1);
            let wait_minutes = (wait_seconds + 59) / 60;
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many wrong codes. Try again in {wait_minutes} minute{}.",
                    if wait_minutes == 1 { "" } else { "s" }
                ),
                vec![(header::RETRY_AFTER, HeaderValue::from(wait_seconds))],
            )
        }
        CodeRefused::Wrong(TotpRejection::Malformed) => (
            StatusCode::UNAUTHORIZED,
            "Enter the 6-digit code your authenticator app shows.".into(),
            Vec::new(),
        ),
        CodeRefused::Wrong(_) | CodeRefused::NoFactor => (
            StatusCode::UNAUTHORIZED,
            "That code was not accepted. Wait for the next code and try again.".into(),
            Vec::new(),
        ),
    }
}
