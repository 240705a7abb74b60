//! `/account/totp`: turning on an authenticator app (TOTP, [`tessera_core::totp`]).
//!
//! `GET` starts an enrolment: a new seed, sealed and stored unconfirmed, shown by
//! [`crate::ui::totp_enrolment`]. `POST` confirms it with a code from the app
//! ([`factors::confirm_totp_enrolment`]): the factor counts only from then, replacing any earlier
//! one, and the confirming code's time step is spent so it cannot also serve as a first sign-in
//! code. Wrong codes count against the account like wrong second factors at sign-in.

use super::{read_form, signed_in};
use crate::app::AppState;
use crate::authn::factors;
use crate::cookies;
use crate::routes;
use crate::ui::totp_enrolment::{self, EnrolForm};
use crate::ui::{self, store_failure};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::{TotpFactor, TotpSeed};

/// `GET /account/totp`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let now = state.services.clock.now();
    let seed = TotpSeed::generate();
    let enrolment = TotpFactor::enrol(user.id.clone(), &seed, state.services.keys.kek(), now);
    if let Err(err) = state.services.store.create_totp_enrolment(&enrolment).await {
        return store_failure(err);
    }
    let has_one = match state.services.store.find_totp_factor(&user.id).await {
        Ok(found) => found.is_some(),
        Err(err) => return store_failure(err),
    };
    let (csrf, extra) = cookies::csrf_for_page(&headers);
    let form = EnrolForm {
        action: routes::ACCOUNT_TOTP,
        request_id: None,
        enrolment_id: &enrolment.id,
        csrf_token: &csrf,
        remove_action: has_one.then_some(routes::ACCOUNT_TOTP_REMOVE),
    };
    totp_enrolment::render(
        &state.settings.issuer,
        StatusCode::OK,
        &user,
        &seed,
        form,
        None,
        extra,
    )
}

/// `POST /account/totp`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (_, user) = match signed_in(&state, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let params = match read_form(&state, &headers, body).await {
        Ok(params) => params,
        Err(page) => return page,
    };
    let now = state.services.clock.now();
    let enrolment_id = params.get("enrolment").unwrap_or_default();
    let (enrolment, seed) = match totp_enrolment::open(&state, &user.id, enrolment_id, now).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let typed = params.get("code").unwrap_or_default();
    let refused = match factors::confirm_totp_enrolment(&state, &enrolment, &seed, typed, now).await
    {
        Ok(Ok(())) => {
            return ui::message_page(
                StatusCode::OK,
                "Authenticator app turned on",
                "From now on, applications that ask for two-step verification will ask for a code from your authenticator app after your password.",
            )
        }
        Ok(Err(refused)) => refused,
        Err(err) => return store_failure(err),
    };
    tracing::info!(?refused, user_id = %user.id, "TOTP enrolment code refused");
    let Some((status, message, extra)) = totp_enrolment::refusal(refused, now) else {
        return totp_enrolment::expired();
    };
    let form = EnrolForm {
        action: routes::ACCOUNT_TOTP,
        request_id: None,
        enrolment_id: &enrolment.id,
        csrf_token: params.get("csrf_token").unwrap_or_default(),
        remove_action: None,
    };
    totp_enrolment::render(
        &state.settings.issuer,
        status,
        &user,
        &seed,
        form,
        Some(message),
        extra,
    )
}
