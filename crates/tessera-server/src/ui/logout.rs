//! The logout pages of RP-initiated logout (`crate::oidc::logout` decides; these render): the
//! confirmation form, whose POST carries the request back with the browser's CSRF token, and the
//! signed-out page.

use crate::app::AppState;
use crate::cookies;
use crate::oauth::form::FormParams;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::BrowserSession;

/// The request parameters the confirmation form carries back.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// A hidden field of the confirmation form.
#[derive(Serialize)]
struct Field<'a> {
    name: &'a str,
    value: &'a str,
}

/// The context of `logout.html`: the confirmation form, or (with `confirm` false) the
/// signed-out page.
#[derive(Serialize)]
struct LogoutPage<'a> {
    confirm: bool,
    action: &'static str,
    csrf_token: &'a str,
    email: Option<String>,
    client_name: Option<&'a str>,
    error: Option<&'a str>,
    fields: Vec<Field<'a>>,
}

/// The page saying the user is signed out.
pub fn signed_out_page(
    client_name: Option<&str>,
    extra: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    ui::page(
        StatusCode::OK,
        "logout.html",
        LogoutPage {
            confirm: false,
            action: routes::END_SESSION,
            csrf_token: "",
            email: None,
            client_name,
            error: None,
            fields: Vec::new(),
        },
        extra,
    )
}

/// What the confirmation page says besides its question.
#[derive(Debug, Default)]
pub struct Prompt {
    /// Set when a confirmation was refused.
    pub error: Option<&'static str>,
}

impl Prompt {
    /// A refused confirmation.
    pub fn error(error: &'static str) -> Self {
        Self { error: Some(error) }
    }
}

/// The page asking the user to confirm, whose form posts the request back with `confirm` and
/// the browser's CSRF token.
pub async fn confirmation_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &FormParams,
    client_name: Option<&str>,
    session: Option<&BrowserSession>,
    prompt: Prompt,
) -> Response {
    let status = if prompt.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let email = match session {
        Some(session) => match state.services.store.find_user(&session.user_id).await {
            Ok(user) => user.map(|u| u.email.to_string()),
            Err(err) => return store_failure(err),
        },
        None => None,
    };
    let (csrf, csrf_cookie) = cookies::csrf_token(headers);
    let fields = CARRIED
        .iter()
        .filter_map(|&name| params.get(name).map(|value| Field { name, value }))
        .collect();
    ui::page(
        status,
        "logout.html",
        LogoutPage {
            confirm: true,
            action: routes::END_SESSION,
            csrf_token: &csrf,
            email,
            client_name,
            error: prompt.error,
            fields,
        },
        csrf_cookie
            .map(|cookie| vec![(header::SET_COOKIE, cookie)])
            .unwrap_or_default(),
    )
}
