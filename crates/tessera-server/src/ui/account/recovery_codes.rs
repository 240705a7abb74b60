//! `/account/recovery-codes`: a new set of recovery codes ([`tessera_core::recovery_codes`]).
//!
//! `GET` says how many unused codes the user has; `POST` makes a new set, which replaces the
//! old one in one store transaction, and shows its codes once (the page is `no-store`). Only
//! their keyed hashes are kept.

use super::{audit_own_change, read_form, signed_in};
use crate::app::AppState;
use crate::cookies;
use crate::routes;
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tessera_core::audit::action;
use tessera_core::recovery_codes::RecoveryCodeSet;

#[derive(Serialize)]
struct CodesPage<'a> {
    action: &'static str,
    csrf_token: &'a str,
    unused: u64,
    codes: Vec<&'a str>,
}

/// `GET /account/recovery-codes`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let unused = match state
        .services
        .store
        .count_unused_recovery_codes(&user.id)
        .await
    {
        Ok(unused) => unused,
        Err(err) => return store_failure(err),
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    ui::page(
        StatusCode::OK,
        "recovery_codes.html",
        CodesPage {
            action: routes::ACCOUNT_RECOVERY_CODES,
            csrf_token: &csrf,
            unused,
            codes: Vec::new(),
        },
        extra,
    )
}

/// `POST /account/recovery-codes`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Err(page) = read_form(&state, &headers, body).await {
        return page;
    }
    let set = RecoveryCodeSet::generate(state.services.keys.kek());
    let now = state.services.clock.now();
    if let Err(err) = state
        .services
        .store
        .replace_recovery_codes(&user.id, &set.hashes, now)
        .await
    {
        return store_failure(err);
    }
    state
        .notify_account_change(
            &user,
            "New recovery codes were made for your account; the earlier ones no longer work.",
        )
        .await;
    audit_own_change(
        &state,
        &user,
        action::RECOVERY_CODES_CREATED,
        serde_json::json!({ "codes": set.codes.len() }),
    )
    .await;
    ui::page(
        StatusCode::OK,
        "recovery_codes.html",
        CodesPage {
            action: routes::ACCOUNT_RECOVERY_CODES,
            csrf_token: "",
            unused: set.codes.len() as u64,
            codes: set.codes.iter().map(|code| code.as_str()).collect(),
        },
        Vec::new(),
    )
}
