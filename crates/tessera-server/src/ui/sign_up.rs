//! Self-service sign-up (`signup.enabled`, off by default): `/signup` mails a link
//! ([`SignUpLink`]), `/signup/complete?token=…` creates the account with a password.
//!
//! - **The address is proven first**: the account is created only from the mailed link, with
//!   `email_verified` true. Nothing is stored before that.
//! - **No account enumeration**: the request page answers the same for every address. An
//!   address that already has an account is mailed a notice pointing to sign-in and the
//!   forgotten-password page instead of a link, both queued after the answer so that its time
//!   does not tell them apart either. Requests are limited per address typed
//!   ([`ThrottleKey::for_sign_up`]), as forgotten-password requests are; over the limit nothing
//!   is sent, and the answer is still the same.
//! - **The same password rules** as everywhere ([`check_new_password`]).
//! - **A sign-in in progress continues**: from the login page, the link remembers the pending
//!   sign-in, and completing sign-up returns the browser there to sign in with the new
//!   password, so the sign-in engine applies every policy (a required second factor is enrolled
//!   right after the password, as for any user).

use crate::app::AppState;
use crate::authn::pending;
use crate::cookies;
use crate::routes;
use crate::ui::account::read_form;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tessera_core::audit::action;
use tessera_core::password::check_new_password;
use tessera_core::sign_up::{SignUpLink, SignUpLinkError};
use tessera_core::user::normalise_name;
use tessera_core::{Admission, Email, Stage, ThrottleKey, User};
use tessera_store::StoreError;
use zeroize::Zeroizing;

#[derive(Serialize)]
struct RequestPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    request_id: &'a str,
    sent: bool,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct CompletePage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    token: &'a str,
    email: &'a str,
    name: &'a str,
    error: Option<&'a str>,
}

/// The query of `GET /signup`: the pending sign-in the user came from, if any.
#[derive(Debug, Deserialize)]
pub struct SignUpQuery {
    #[serde(default)]
    request: Option<String>,
}

/// The query of the mailed link.
#[derive(Debug, Deserialize)]
pub struct CompleteQuery {
    token: String,
}

fn unavailable() -> Response {
    ui::message_page(
        StatusCode::NOT_FOUND,
        "Sign-up is not open",
        "Accounts on this server are created by its operators.",
    )
}

/// A login request id as the login page issues them (base64url): anything else is dropped
/// rather than sealed into a link.
fn plausible_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// `GET /signup[?request=ID]`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SignUpQuery>,
) -> Response {
    if !state.settings.sign_up_enabled {
        return unavailable();
    }
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let request_id = query
        .request
        .as_deref()
        .filter(|id| plausible_request_id(id))
        .unwrap_or_default();
    let page = RequestPage {
        action: routes::SIGN_UP,
        csrf_token: &csrf,
        request_id,
        sent: false,
        error: None,
    };
    ui::page(StatusCode::OK, "sign_up.html", page, extra)
}

/// `POST /signup` with `email` (and `request`).
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if !state.settings.sign_up_enabled {
        return unavailable();
    }
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let typed = params.get("email").unwrap_or_default();
    let Ok(email) = Email::parse(typed) else {
        let page = RequestPage {
            action: routes::SIGN_UP,
            csrf_token: params.get("csrf_token").unwrap_or_default(),
            request_id: params.get("request").unwrap_or_default(),
            sent: false,
            error: Some("That is not an email address."),
        };
        return ui::page(StatusCode::BAD_REQUEST, "sign_up.html", page, Vec::new());
    };
    let continue_login = params
        .get("request")
        .filter(|id| plausible_request_id(id))
        .map(str::to_owned);
    match admitted(&state, typed).await {
        Ok(true) => {
            // After the answer: a free address and a taken one cause different work, and its
            // time would tell them apart.
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(err) = send_mail(&state, email, continue_login).await {
                    tracing::error!(error = %err, "could not send a sign-up mail");
                }
            });
        }
        Ok(false) => tracing::warn!("sign-up refused: too many requests for this address"),
        Err(err) => return store_failure(err),
    }
    // The same answer whatever happened above.
    let page = RequestPage {
        action: routes::SIGN_UP,
        csrf_token: "",
        request_id: "",
        sent: true,
        error: None,
    };
    ui::page(StatusCode::OK, "sign_up.html", page, Vec::new())
}

/// Counts the request against the address typed; whether it is admitted.
async fn admitted(state: &AppState, typed: &str) -> Result<bool, StoreError> {
    let now = state.services.clock.now();
    let admission = state
        .services
        .store
        .admit_login_attempt(
            &ThrottleKey::for_sign_up(typed),
            &state.settings.login_throttle,
            now,
        )
        .await?;
    Ok(!matches!(admission, Admission::Locked { .. }))
}

/// Mails `email` a sign-up link, or the notice that it already has an account.
async fn send_mail(
    state: &AppState,
    email: Email,
    continue_login: Option<String>,
) -> Result<(), StoreError> {
    let issuer = &state.settings.issuer;
    if state
        .services
        .store
        .find_user_by_email(&email)
        .await?
        .is_some()
    {
        let body = format!(
            "Someone asked to create an account with this address, but it already has one.\n\n\
             If it was you, sign in instead. If you forgot your password, choose a new one \
             here:\n\n{issuer}{}\n\nIf it was not you, ignore this message.\n",
            routes::FORGOT_PASSWORD
        );
        return state
            .queue_mail(&email, "You already have an account", &body)
            .await;
    }
    let now = state.services.clock.now();
    let link = SignUpLink::issue(email.clone(), continue_login, now);
    let token = link.seal(state.services.keys.kek());
    let minutes = tessera_core::sign_up::LIFETIME.whole_minutes();
    let body = format!(
        "To create your account, open this link within {minutes} minutes and choose a \
         password:\n\n{issuer}{}?token={token}\n\nIf you did not ask for an account, ignore \
         this message: nothing is created without the link.\n",
        routes::SIGN_UP_COMPLETE
    );
    state
        .queue_mail(&email, "Finish creating your account", &body)
        .await
}

/// The page saying why a link cannot be used.
fn refused_link(err: SignUpLinkError) -> Response {
    match err {
        SignUpLinkError::Expired => ui::message_page(
            StatusCode::GONE,
            "This link has expired",
            "Sign-up links work for an hour. Ask for a new one on the sign-up page.",
        ),
        _ => unusable_link(),
    }
}

fn unusable_link() -> Response {
    ui::message_page(
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "It may have been used already. If your account exists, sign in; otherwise ask for a new link on the sign-up page.",
    )
}

/// `GET /signup/complete?token=…`.
pub async fn complete_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CompleteQuery>,
) -> Response {
    if !state.settings.sign_up_enabled {
        return unavailable();
    }
    let now = state.services.clock.now();
    let link = match SignUpLink::open(&query.token, state.services.keys.kek(), now) {
        Ok(link) => link,
        Err(err) => return refused_link(err),
    };
    match state.services.store.find_user_by_email(&link.email).await {
        Ok(None) => {}
        Ok(Some(_)) => return unusable_link(),
        Err(err) => return store_failure(err),
    }
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let page = CompletePage {
        action: routes::SIGN_UP_COMPLETE,
        csrf_token: &csrf,
        token: &query.token,
        email: link.email.as_str(),
        name: "",
        error: None,
    };
    ui::page(StatusCode::OK, "sign_up_complete.html", page, extra)
}

/// `POST /signup/complete` with `token`, `password` and `name`.
pub async fn complete_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state.settings.sign_up_enabled {
        return unavailable();
    }
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let token = params.get("token").unwrap_or_default();
    let now = state.services.clock.now();
    let link = match SignUpLink::open(token, state.services.keys.kek(), now) {
        Ok(link) => link,
        Err(err) => return refused_link(err),
    };
    let typed_name = params.get("name").unwrap_or_default();
    let again = |error: &str| {
        let page = CompletePage {
            action: routes::SIGN_UP_COMPLETE,
            csrf_token: params.get("csrf_token").unwrap_or_default(),
            token,
            email: link.email.as_str(),
            name: typed_name,
            error: Some(error),
        };
        ui::page(
            StatusCode::BAD_REQUEST,
            "sign_up_complete.html",
            page,
            Vec::new(),
        )
    };
    let password = Zeroizing::new(params.get("password").unwrap_or_default().to_owned());
    if let Err(rejection) = check_new_password(&password) {
        return again(&rejection.to_string());
    }
    let Ok(name) = normalise_name(typed_name) else {
        return again("A name is at most 100 characters, on one line.");
    };
    let hash = state.services.passwords.hash(password).await;
    // New accounts get no roles: roles are the operator's to give.
    let Ok(mut user) = User::new(link.email.clone(), name, Vec::new(), Some(hash), now) else {
        return again("This account could not be created.");
    };
    user.email_verified = true;
    match state.services.store.create_user(&user).await {
        Ok(()) => {}
        // The address was taken since the link was sent, or the link was used already.
        Err(StoreError::Conflict(_)) => return unusable_link(),
        Err(err) => return store_failure(err),
    }
    state
        .audit(
            format!("user:{}", user.id),
            action::USER_SIGNED_UP,
            user.id.as_str(),
            None,
            serde_json::json!({}),
        )
        .await;
    continue_after(&state, &headers, link.continue_login.as_deref()).await
}

/// Back to the sign-in the user came from when it is still waiting in this browser; otherwise
/// a page saying the account is ready.
async fn continue_after(state: &AppState, headers: &HeaderMap, login: Option<&str>) -> Response {
    if let Some(id) = login {
        match pending::for_page(state, headers, id, Stage::FirstFactor).await {
            Ok(Some(_)) => {
                let location = format!("{}?request={id}", routes::LOGIN);
                return ui::see_other(&location, Vec::new());
            }
            Ok(None) => {}
            Err(err) => return store_failure(err),
        }
    }
    ui::message_page(
        StatusCode::OK,
        "Your account is ready",
        "Go back to the application and sign in with your email address and new password.",
    )
}
