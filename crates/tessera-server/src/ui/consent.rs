//! The consent page for clients not registered as first-party. A given consent is remembered
//! per user and client, for the scopes allowed.
//!
//! The page is served only for a sign-in the engine parked in the consent stage, and only to the
//! browser session of the user it authenticated: a pending sign-in waiting for the login page
//! cannot be posted here to skip the login (`authn::pending` refuses a form for another stage).

use crate::app::AppState;
use crate::authn::flow::{self, SignIn};
use crate::authn::{pending, session};
use crate::routes;
use crate::ui::login::PageQuery;
use crate::ui::{self, expired_page, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::sign_in::{Interaction, SignInError};
use tessera_core::{BrowserSession, Consent, Continuation, PendingSignIn, Stage, User};

#[derive(Serialize)]
struct ConsentPage<'a> {
    action: &'static str,
    client_name: &'a str,
    email: &'a str,
    scopes: Vec<&'a str>,
    request_id: &'a str,
    csrf_token: &'a str,
}

/// `GET /consent?request=ID`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let (pending, csrf) =
        match pending::for_page(&state, &headers, query.request(), Stage::Consent).await {
            Ok(Some(found)) => found,
            Ok(None) => return expired_page(),
            Err(err) => return store_failure(err),
        };
    let (_, user) = match signed_in_user(&state, &headers, &pending).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let client = match state
        .services
        .store
        .find_client(pending.continuation.client_id())
        .await
    {
        Ok(Some(client)) => client,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let scopes = match &pending.continuation {
        Continuation::Oidc(request) => request.scope.iter().collect(),
    };
    ui::page(
        StatusCode::OK,
        "consent.html",
        ConsentPage {
            action: routes::CONSENT,
            client_name: &client.name,
            email: user.email.as_str(),
            scopes,
            request_id: &pending.id,
            csrf_token: &csrf,
        },
        Vec::new(),
    )
}

/// `POST /consent` with `decision=allow` or `decision=deny`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (params, pending) = match pending::read_form(&state, &headers, body, Stage::Consent).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return ui::error_page(
                StatusCode::BAD_REQUEST,
                "Invalid form",
                "Choose allow or deny.",
            )
        }
    };
    let (session, user) = match signed_in_user(&state, &headers, &pending).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let pending = match pending::take(&state, &pending).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    if !allow {
        return flow::fail(
            &state,
            &pending.continuation,
            SignInError::AccessDenied,
            Vec::new(),
        );
    }
    let Continuation::Oidc(request) = &pending.continuation;
    let previous = match state
        .services
        .store
        .find_consent(&user.id, &request.client_id)
        .await
    {
        Ok(previous) => previous,
        Err(err) => return store_failure(err),
    };
    let scope = match previous {
        Some(previous) => previous.scope.union(&request.scope),
        None => request.scope.clone(),
    };
    let consent = Consent {
        user_id: user.id.clone(),
        client_id: request.client_id.clone(),
        scope,
        granted_at: state.services.clock.now(),
    };
    if let Err(err) = state.services.store.save_consent(&consent).await {
        return store_failure(err);
    }
    let client = match state.services.store.find_client(&request.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let mut progress = pending.progress();
    progress.consented = true;
    let sign_in = SignIn {
        continuation: pending.continuation,
        client,
        progress,
        interaction: Interaction::Allowed,
        expected_user: None,
    };
    flow::advance(&state, &headers, sign_in, Some(session), Vec::new()).await
}

/// This browser's session, if it belongs to the user the pending sign-in authenticated; else the
/// error page (the session ended, or another user signed in since in this browser).
async fn signed_in_user(
    state: &AppState,
    headers: &HeaderMap,
    pending: &PendingSignIn,
) -> Result<(BrowserSession, User), Response> {
    match session::current_session(state, headers).await {
        Ok(Some((session, user))) if pending.user_id.as_ref() == Some(&user.id) => {
            Ok((session, user))
        }
        Ok(_) => {
            tracing::warn!("consent page refused: not the signed-in user's sign-in");
            Err(expired_page())
        }
        Err(err) => Err(store_failure(err)),
    }
}
