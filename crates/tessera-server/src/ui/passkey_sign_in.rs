//! Signing in with a passkey, from the login page (a first factor, with no username: the
//! browser offers the passkeys it holds for this site) or the second-factor page (after a
//! password, or for a step-up: only the user's own passkeys). Two POSTs, both carrying the
//! page's pending sign-in and CSRF token:
//!
//! - `/login/passkey/options` answers the WebAuthn request options as JSON, with a new
//!   single-use challenge bound to the pending sign-in (and, on the second-factor page, to its
//!   user);
//! - `/login/passkey` takes the browser's answer, has it checked
//!   ([`crate::authn::passkeys::check_sign_in`]), and goes on like any proof
//!   ([`flow::prove`]).
//!
//! A refused passkey shows the page again with one message, whatever the reason (logged), and
//! leaves the sign-in where it was.

use crate::app::AppState;
use crate::authn::passkeys::{self, PasskeyProof};
use crate::authn::{flow, pending};
use crate::ui::{self, login, second_factor, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::sign_in::Proof;
use tessera_core::{PendingSignIn, Stage};

/// What a refused passkey is told.
pub const REFUSED: &str = "That passkey was not accepted. Try again, or sign in another way.";

/// The pages a passkey can be used on.
const STAGES: [Stage; 2] = [Stage::FirstFactor, Stage::SecondFactor];

/// The answer of every passkey page on a server that does not offer passkeys.
pub fn not_offered() -> Response {
    ui::error_page(
        StatusCode::NOT_FOUND,
        "Passkeys are not available",
        "This server does not offer passkeys.",
    )
}

/// `POST /login/passkey/options`.
pub async fn options(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if state.settings.passkeys.is_none() {
        return not_offered();
    }
    let (_, pending) = match pending::read_form_in(&state, &headers, body, &STAGES).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    // On the second-factor page the user is known: only their passkeys will do.
    let expected = match pending.stage {
        Stage::SecondFactor => pending.user_id.as_ref(),
        _ => None,
    };
    match passkeys::sign_in_options(&state, &pending.id, expected).await {
        Ok(options) => json_no_store(&options),
        Err(err) => store_failure(err),
    }
}

/// A JSON answer that no cache keeps (it holds a challenge).
pub fn json_no_store(value: &impl serde::Serialize) -> Response {
    let mut response = axum::Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /login/passkey` with `credential`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if state.settings.passkeys.is_none() {
        return not_offered();
    }
    let (params, pending) = match pending::read_form_in(&state, &headers, body, &STAGES).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let credential = params.get("credential").unwrap_or_default();
    let now = state.services.clock.now();
    let proof = match passkeys::check_sign_in(&state, &pending.id, credential, now).await {
        Ok(Ok(proof)) => proof,
        Ok(Err(refused)) => {
            tracing::info!(reason = refused.code(), "passkey refused");
            return refused_page(&state, &pending, csrf).await;
        }
        Err(err) => return store_failure(err),
    };
    let PasskeyProof { user_id, method } = proof;
    // The login page identifies the user by the passkey; the second-factor page's user was
    // identified already, and the challenge admitted only their passkeys.
    let identified = (pending.stage == Stage::FirstFactor).then_some(user_id);
    flow::prove(
        &state,
        &headers,
        &pending,
        identified,
        Proof { method, at: now },
        Vec::new(),
    )
    .await
}

async fn refused_page(state: &AppState, pending: &PendingSignIn, csrf: &str) -> Response {
    match pending.stage {
        Stage::SecondFactor => {
            second_factor::render_error(state, StatusCode::UNAUTHORIZED, pending, csrf, REFUSED)
                .await
        }
        _ => login::render_error(state, StatusCode::UNAUTHORIZED, pending, csrf, REFUSED).await,
    }
}
