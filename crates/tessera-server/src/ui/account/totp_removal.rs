//! `POST /account/totp/remove`: removing the authenticator app. Needs a recent sign-in like every
//! change here, and is refused when it is the user's last second factor while the server's
//! policy requires one ([`factors::may_remove`]). The owner is told by mail.

use super::{audit_own_change, read_form, signed_in};
use crate::app::AppState;
use crate::authn::factors;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::audit::action;
use tessera_core::sign_in::Method;

/// `POST /account/totp/remove`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Err(page) = read_form(&state, &headers, body).await {
        return page;
    }
    match factors::may_remove(&state, &user, Method::Totp).await {
        Ok(true) => {}
        Ok(false) => {
            return ui::message_page(
                StatusCode::CONFLICT,
                "Your authenticator app stays",
                "Your account must keep a second factor. Add another one (recovery codes, codes by email) before removing this one.",
            )
        }
        Err(err) => return store_failure(err),
    }
    let removed = match state.services.store.delete_totp_factors(&user.id).await {
        Ok(removed) => removed,
        Err(err) => return store_failure(err),
    };
    if removed > 0 {
        audit_own_change(&state, &user, action::TOTP_REMOVED, serde_json::json!({})).await;
        state
            .notify_account_change(
                &user,
                "The authenticator app was removed from your account.",
            )
            .await;
    }
    ui::message_page(
        StatusCode::OK,
        "Authenticator app removed",
        "Codes from your authenticator app no longer sign you in.",
    )
}
