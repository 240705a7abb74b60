//! The hosted login page: `GET /login?request=ID` shows the form, `POST /login` checks the
//! credentials.
//!
//! Failures never say which half was wrong ("wrong email or password"), and an unknown or
//! disabled account costs the same argon2 verification as a real one, so neither the message nor
//! the response time tells an attacker which emails have accounts.
//!
//! Attempts are limited per network source and per email address typed (or per address and
//! trusted browser), across every node: see [`crate::authn::login_limits`]. Each attempt is
//! counted before its password is checked, and while a limit holds no password is checked at
//! all. Addresses without an account are counted exactly the same way.

use crate::app::AppState;
use crate::authn::flow;
use crate::authn::login_limits::{self, Refused};
use crate::authn::{device_cookie, pending};
use crate::routes;
use crate::ui::{self, expired_page, store_failure};
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{Continuation, Email, PendingSignIn, Stage, User};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// What failed sign-ins are told.
const WRONG_CREDENTIALS: &str = "Wrong email or password.";

/// The query of `GET /login` and `GET /consent`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    request: String,
}

impl PageQuery {
    /// The pending request's id.
    pub fn request(&self) -> &str {
        &self.request
    }
}

#[derive(Serialize)]
struct LoginPage<'a> {
    action: &'static str,
    client_name: &'a str,
    request_id: &'a str,
    csrf_token: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    /// The forgotten-password page, when this server sends mail.
    forgot_password: Option<&'static str>,
    /// The sign-up page, continuing this sign-in, when sign-up is on.
    sign_up: Option<String>,
    /// The passkey endpoints, when passkeys are offered.
    passkey: Option<PasskeyForm>,
}

/// Where a page's passkey form posts (the script asks `options` first).
#[derive(Debug, Serialize)]
pub struct PasskeyForm {
    /// The ceremony's options (JSON).
    pub options: &'static str,
    /// The browser's answer.
    pub action: &'static str,
}

impl PasskeyForm {
    /// The sign-in ceremony's endpoints, when `state` offers passkeys.
    pub fn for_sign_in(state: &AppState) -> Option<Self> {
        state.settings.passkeys.as_ref().map(|_| Self {
            options: routes::PASSKEY_SIGN_IN_OPTIONS,
            action: routes::PASSKEY_SIGN_IN,
        })
    }
}

async fn render(
    state: &AppState,
    status: StatusCode,
    pending: &PendingSignIn,
    csrf: &str,
    username: &str,
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
    ui::page(
        status,
        "login.html",
        LoginPage {
            action: routes::LOGIN,
            client_name: &client_name,
            request_id: &pending.id,
            csrf_token: csrf,
            username,
            error,
            forgot_password: state.can_send_mail().then_some(routes::FORGOT_PASSWORD),
            sign_up: state
                .settings
                .sign_up_enabled
                .then(|| format!("{}?request={}", routes::SIGN_UP, pending.id)),
            passkey: PasskeyForm::for_sign_in(state),
        },
        extra_headers,
    )
}

/// The login form again with `error` (a refused passkey).
pub(crate) async fn render_error(
    state: &AppState,
    status: StatusCode,
    pending: &PendingSignIn,
    csrf: &str,
    error: &str,
) -> Response {
    render(state, status, pending, csrf, "", Some(error), Vec::new()).await
}

/// `GET /login?request=ID`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    match pending::for_page(&state, &headers, query.request(), Stage::FirstFactor).await {
        Ok(Some((pending, csrf))) => {
            let hint = match &pending.continuation {
                Continuation::Oidc(request) => request.login_hint.clone().unwrap_or_default(),
            };
            render(
                &state,
                StatusCode::OK,
                &pending,
                &csrf,
                &hint,
                None,
                Vec::new(),
            )
            .await
        }
        Ok(None) => expired_page(),
        Err(err) => store_failure(err),
    }
}

/// `POST /login`.
pub async fn post(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (params, pending) =
        match pending::read_form(&state, &headers, body, Stage::FirstFactor).await {
            Ok(read) => read,
            Err(page) => return page,
        };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let username = params.get("username").unwrap_or_default();
    let password = Zeroizing::new(params.get("password").unwrap_or_default().to_owned());
    let now = state.services.clock.now();
    // Served by `connections.rs`, every request carries its peer; without one (a router driven
    // directly), all attempts share the unspecified address's allowance.
    let peer = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(peer))| peer.ip(),
    );
    let attempt = match login_limits::admit(&state, peer, &headers, username, now).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(refused)) => {
            tracing::warn!(?refused, "sign-in refused: too many attempts");
            return locked_page(&state, &pending, csrf, username, now, refused).await;
        }
        Err(err) => return store_failure(err),
    };
    let user = match check_credentials(&state, username, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!("sign-in failed: wrong email or password");
            if let Err(err) = login_limits::failed(&state, &attempt, now).await {
                return store_failure(err);
            }
            return render(
                &state,
                StatusCode::UNAUTHORIZED,
                &pending,
                csrf,
                username,
                Some(WRONG_CREDENTIALS),
                Vec::new(),
            )
            .await;
        }
        Err(err) => return store_failure(err),
    };
    if let Err(err) = login_limits::succeeded(&state, &attempt).await {
        return store_failure(err);
    }
    let device = device_cookie::issue(state.services.keys.kek(), username, now);
    flow::prove(
        &state,
        &headers,
        &pending,
        Some(user.id),
        Proof {
            method: Method::Password,
            at: now,
        },
        vec![device],
    )
    .await
}

/// The login form again, with 429 and `Retry-After`, for an attempt a limit refused. The same
/// for every address, with an account or without.
async fn locked_page(
    state: &AppState,
    pending: &PendingSignIn,
    csrf: &str,
    username: &str,
    now: OffsetDateTime,
    refused: Refused,
) -> Response {
    let (until, whose) = match refused {
        Refused::Source { until } => (until, "from your network"),
        Refused::Account { until } => (until, "for this email address"),
    };
    let wait_seconds = (until - now).whole_seconds().max(1);
    let wait_minutes = (wait_seconds + 59) / 60;
    let message = format!(
        "Too many sign-in attempts {whose}. Try again in {wait_minutes} minute{}.",
        if wait_minutes == 1 { "" } else { "s" }
    );
    render(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        pending,
        csrf,
        username,
        Some(&message),
        vec![(header::RETRY_AFTER, HeaderValue::from(wait_seconds))],
    )
    .await
}

/// The enabled user with this email and password, or `None`. Always costs one argon2
/// verification.
async fn check_credentials(
    state: &AppState,
    username: &str,
    password: Zeroizing<String>,
) -> Result<Option<User>, tessera_store::StoreError> {
    let user = match Email::parse(username) {
        Ok(email) => state.services.store.find_user_by_email(&email).await?,
        Err(_) => None,
    };
    let usable = user.filter(|u| !u.is_disabled && u.password_hash.is_some());
    let hash = usable
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.services.dummy_password_hash.clone());
    let matches = state.services.passwords.verify(password, hash).await;
    Ok(usable.filter(|_| matches))
}
