//! `/account/passkeys`: the user's passkeys (name, created, last used), registering a new one,
//! and removing one.
//!
//! - Registering and removing change how the account is protected: a sign-in within the last
//!   5 minutes ([`super::signed_in`]) and the CSRF token, as everywhere here. The registration
//!   challenge is bound to this browser session ([`crate::authn::passkeys`]).
//! - **A way to sign in remains**: the last passkey of a user without a password cannot be
//!   removed, nor the last second factor while the server's policy requires one.
//! - Removing a passkey can also end every other session (a lost device may be signed in).
//!   Every change is audited and mailed to the owner.

use super::password::end_other_sessions;
use super::{audit_own_change, read_form, signed_in};
use crate::app::AppState;
use crate::authn::factors;
use crate::authn::passkeys::{self, PasskeyRefused};
use crate::cookies;
use crate::routes;
use crate::ui::passkey_sign_in::{json_no_store, not_offered};
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::audit::action;
use tessera_core::passkey::{normalise_passkey_name, Passkey};
use tessera_core::sign_in::Method;
use tessera_core::{RevocationReason, User};
use time::format_description::well_known::Rfc3339;

#[derive(Serialize)]
struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: Option<String>,
    synced: bool,
}

#[derive(Serialize)]
struct PasskeysPage<'a> {
    action: &'static str,
    options: &'static str,
    csrf_token: &'a str,
    passkeys: Vec<PasskeyRow>,
    error: Option<&'a str>,
}

async fn render(
    state: &AppState,
    status: StatusCode,
    user: &User,
    csrf: &str,
    error: Option<&str>,
    extra: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let stored = match state.services.store.list_passkeys(&user.id).await {
        Ok(stored) => stored,
        Err(err) => return store_failure(err),
    };
    let when = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let passkeys = stored
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id_text(),
            name: p.name,
            created: when(p.created_at),
            last_used: p.last_used_at.map(when),
            synced: p.backup_eligible,
        })
        .collect();
    let page = PasskeysPage {
        action: routes::ACCOUNT_PASSKEYS,
        options: routes::ACCOUNT_PASSKEYS_OPTIONS,
        csrf_token: csrf,
        passkeys,
        error,
    };
    ui::page(status, "passkeys.html", page, extra)
}

/// `GET /account/passkeys`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.settings.passkeys.is_none() {
        return not_offered();
    }
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    render(&state, StatusCode::OK, &user, &csrf, None, extra).await
}

/// `POST /account/passkeys/options`: the registration ceremony's options (JSON).
pub async fn options(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if state.settings.passkeys.is_none() {
        return not_offered();
    }
    let (session, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Err(page) = read_form(&state, &headers, body).await {
        return page;
    }
    match passkeys::registration_options(&state, &session, &user).await {
        Ok(options) => json_no_store(&options),
        Err(err) => store_failure(err),
    }
}

/// `POST /account/passkeys` with `step` = `register` (`name`, `credential`) or `remove`
/// (`passkey`, and `end_sessions` to sign out every other device).
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if state.settings.passkeys.is_none() {
        return not_offered();
    }
    let (session, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let now = state.services.clock.now();
    match params.get("step").unwrap_or_default() {
        "register" => {
            let Ok(name) = normalise_passkey_name(params.get("name").unwrap_or_default()) else {
                let error = "Give the passkey a name of 1 to 64 characters.";
                return render(
                    &state,
                    StatusCode::BAD_REQUEST,
                    &user,
                    csrf,
                    Some(error),
                    Vec::new(),
                )
                .await;
            };
            let credential = params.get("credential").unwrap_or_default();
            match passkeys::register(&state, &session, &user, name, credential, now).await {
                Ok(Ok(passkey)) => {
                    audit(&state, &user, action::PASSKEY_ADDED, &passkey).await;
                    let notice = format!(
                        "A passkey named \"{}\" was added to your account.",
                        passkey.name
                    );
                    state.notify_account_change(&user, &notice).await;
                    render(&state, StatusCode::OK, &user, csrf, None, Vec::new()).await
                }
                Ok(Err(refused)) => {
                    tracing::info!(reason = refused.code(), "passkey registration refused");
                    let error = match refused {
                        PasskeyRefused::AlreadyRegistered => "That passkey is registered already.",
                        _ => "The passkey could not be added. Try again.",
                    };
                    render(
                        &state,
                        StatusCode::BAD_REQUEST,
                        &user,
                        csrf,
                        Some(error),
                        Vec::new(),
                    )
                    .await
                }
                Err(err) => store_failure(err),
            }
        }
        "remove" => remove(&state, &session, &user, &params, csrf).await,
        _ => ui::error_page(
            StatusCode::BAD_REQUEST,
            "Invalid form",
            "The form asked for nothing this page does.",
        ),
    }
}

async fn remove(
    state: &AppState,
    session: &tessera_core::BrowserSession,
    user: &User,
    params: &crate::oauth::form::FormParams,
    csrf: &str,
) -> Response {
    let all = match state.services.store.list_passkeys(&user.id).await {
        Ok(all) => all,
        Err(err) => return store_failure(err),
    };
    // Only the user's own passkeys can be named: the id is looked up among them.
    let named = params.get("passkey").unwrap_or_default();
    let Some(removing) = all.iter().find(|p| p.id_text() == named) else {
        return ui::message_page(
            StatusCode::NOT_FOUND,
            "No such passkey",
            "That passkey is not on your account.",
        );
    };
    let others = all.len() - 1;
    if others == 0 && user.password_hash.is_none() {
        let error =
            "This is how you sign in: add another passkey or set a password before removing it.";
        return render(
            state,
            StatusCode::CONFLICT,
            user,
            csrf,
            Some(error),
            Vec::new(),
        )
        .await;
    }
    if others == 0 {
        let method = if removing.backup_eligible {
            Method::SyncedPasskey
        } else {
            Method::DevicePasskey
        };
        match factors::may_remove(state, user, method).await {
            Ok(true) => {}
            Ok(false) => {
                let error = "Your account must keep a second factor. Add another one before removing this passkey.";
                return render(
                    state,
                    StatusCode::CONFLICT,
                    user,
                    csrf,
                    Some(error),
                    Vec::new(),
                )
                .await;
            }
            Err(err) => return store_failure(err),
        }
    }
    match state
        .services
        .store
        .delete_passkey(&user.id, &removing.credential_id)
        .await
    {
        Ok(_) => {}
        Err(err) => return store_failure(err),
    }
    audit(state, user, action::PASSKEY_REMOVED, removing).await;
    let notice = format!(
        "The passkey named \"{}\" was removed from your account.",
        removing.name
    );
    state.notify_account_change(user, &notice).await;
    if params.get("end_sessions").is_some() {
        if let Err(err) = end_other_sessions(state, user, session, RevocationReason::Logout).await {
            return store_failure(err);
        }
    }
    render(state, StatusCode::OK, user, csrf, None, Vec::new()).await
}

async fn audit(state: &AppState, user: &User, what: &str, passkey: &Passkey) {
    let details = serde_json::json!({ "passkey": passkey.id_text(), "name": passkey.name });
    audit_own_change(state, user, what, details).await;
}
