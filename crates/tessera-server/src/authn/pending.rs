//! Pending sign-ins between pages: parking one in the stage the engine asked for, and reading
//! it back for a page — only in this browser (the CSRF cookie), only before it lapses, and only
//! for the page of its own stage.

use crate::app::AppState;
use crate::cookies;
use crate::oauth::form::FormParams;
use crate::ui::{self, expired_page, store_failure};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tessera_core::client::SecretHash;
use tessera_core::sign_in::{Progress, PENDING_SIGN_IN_LIFETIME};
use tessera_core::{Continuation, PendingSignIn, Stage, UserId};
use tessera_store::StoreError;

/// Stores a pending sign-in waiting in `stage` and sends the browser to that stage's page.
pub async fn park(
    state: &AppState,
    headers: &HeaderMap,
    continuation: Continuation,
    stage: Stage,
    user_id: Option<UserId>,
    progress: Progress,
    mut extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let page = page_of(stage);
    let (csrf, csrf_cookie) = cookies::csrf_token(headers);
    let now = state.services.clock.now();
    let pending = PendingSignIn {
        id: tessera_core::random::token(16),
        csrf_hash: SecretHash::of(&csrf),
        stage,
        user_id,
        proofs: progress.proofs,
        continuation,
        created_at: now,
        expires_at: now + PENDING_SIGN_IN_LIFETIME,
    };
    if let Err(err) = state.services.store.create_login_request(&pending).await {
        return store_failure(err);
    }
    if let Some(cookie) = csrf_cookie {
        extra_headers.push((header::SET_COOKIE, cookie));
    }
    ui::see_other(&format!("{page}?request={}", pending.id), extra_headers)
}

/// The hosted page that serves `stage`.
fn page_of(stage: Stage) -> &'static str {
    match stage {
        Stage::FirstFactor => crate::routes::LOGIN,
        Stage::SecondFactor => crate::routes::SECOND_FACTOR,
        Stage::EnrolSecondFactor => crate::routes::ENROL_SECOND_FACTOR,
        Stage::Consent => crate::routes::CONSENT,
    }
}

/// The pending sign-in a page shows, with the browser's CSRF token to embed in the form; `None`
/// when it is unknown, expired, started in another browser, or waiting for another page.
pub async fn for_page(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
    stage: Stage,
) -> Result<Option<(PendingSignIn, String)>, StoreError> {
    let Some(csrf) = cookies::read(headers, cookies::CSRF) else {
        return Ok(None);
    };
    Ok(find(state, headers, request_id, Some(&csrf), &[stage])
        .await?
        .map(|pending| (pending, csrf)))
}

/// Reads a hosted page's form POST: the form body, then the pending sign-in it names, checked
/// against the CSRF token and the page's `stage`. Either the two, or the error page to answer.
pub async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    stage: Stage,
) -> Result<(FormParams, PendingSignIn), Response> {
    read_form_in(state, headers, body, &[stage]).await
}

/// [`read_form`] for a form several pages carry (a passkey works on the login page and on the
/// second-factor page): the pending sign-in must wait in one of `stages`.
pub async fn read_form_in(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    stages: &[Stage],
) -> Result<(FormParams, PendingSignIn), Response> {
    let params = FormParams::from_request(headers, body, state.settings.max_body_bytes)
        .await
        .map_err(|err| {
            ui::error_page(
                StatusCode::BAD_REQUEST,
                "Invalid form",
                &err.description.unwrap_or_default(),
            )
        })?;
    let Some(request_id) = params.get("request") else {
        return Err(expired_page());
    };
    match find(state, headers, request_id, params.get("csrf_token"), stages).await {
        Ok(Some(pending)) => Ok((params, pending)),
        Ok(None) => Err(expired_page()),
        Err(err) => Err(store_failure(err)),
    }
}

/// Consumes a pending sign-in a page has read: one atomic take, so of two POSTs of one form only
/// the first goes on. The error page when someone else took it first.
pub async fn take(state: &AppState, pending: &PendingSignIn) -> Result<PendingSignIn, Response> {
    match state.services.store.take_login_request(&pending.id).await {
        Ok(Some(taken)) => Ok(taken),
        Ok(None) => Err(expired_page()),
        Err(err) => Err(store_failure(err)),
    }
}

/// The pending sign-in `request_id`, if the form's CSRF token matches both the browser's CSRF
/// cookie and the one it was created for, and it waits for the page of one of `stages`.
async fn find(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
    form_csrf: Option<&str>,
    stages: &[Stage],
) -> Result<Option<PendingSignIn>, StoreError> {
    let Some(pending) = state.services.store.find_login_request(request_id).await? else {
        return Ok(None);
    };
    if state.services.clock.now() >= pending.expires_at {
        return Ok(None);
    }
    // Both compare against the stored hash in constant time; together they also prove that the
    // form and the cookie carry the same token.
    let cookie = cookies::read(headers, cookies::CSRF);
    let csrf_ok = match (cookie, form_csrf) {
        (Some(cookie), Some(form)) => {
            pending.csrf_hash.matches(&cookie) && pending.csrf_hash.matches(form)
        }
        _ => false,
    };
    if !csrf_ok {
        return Ok(None);
    }
    if stages
        .iter()
        .any(|stage| pending.expect_stage(*stage).is_ok())
    {
        return Ok(Some(pending));
    }
    // A form posted to another page than the one the engine asked for: refused as if the
    // sign-in did not exist, so no step can be skipped.
    tracing::warn!(waits_for = ?pending.stage, "sign-in page refused: the sign-in waits for another page");
    Ok(None)
}
