//! The consent page for clients not registered as first-party. A given consent is remembered
//! per user and client, for the scopes allowed.

use crate::app::AppState;
use crate::oidc::sign_in::{self, expired_page, store_failure, ClientRedirect};
use crate::routes;
use crate::ui;
use crate::ui::login::PageQuery;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::Consent;

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
    let (pending, csrf) = match sign_in::pending_for_page(&state, &headers, query.request()).await {
        Ok(Some(found)) => found,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let user = match sign_in::current_session(&state, &headers).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let client = match state.store.find_client(&pending.request.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    ui::page(
        StatusCode::OK,
        "consent.html",
        ConsentPage {
            action: routes::CONSENT,
            client_name: &client.name,
            email: user.email.as_str(),
            scopes: pending.request.scope.iter().collect(),
            request_id: &pending.id,
            csrf_token: &csrf,
        },
        Vec::new(),
    )
}

/// `POST /consent` with `decision=allow` or `decision=deny`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (params, pending) = match sign_in::read_page_form(&state, &headers, body).await {
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
    let (session, user) = match sign_in::current_session(&state, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let request = match state.store.take_login_request(&pending.id).await {
        Ok(Some(pending)) => pending.request,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    if !allow {
        return ClientRedirect::error(
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            "the user denied access",
        )
        .into_response(&state.issuer);
    }
    let previous = match state.store.find_consent(&user.id, &request.client_id).await {
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
        granted_at: state.clock.now(),
    };
    if let Err(err) = state.store.save_consent(&consent).await {
        return store_failure(err);
    }
    match sign_in::issue_code(&state, &request, &session).await {
        Ok(redirect) => redirect.into_response(&state.issuer),
        Err(err) => store_failure(err),
    }
}
