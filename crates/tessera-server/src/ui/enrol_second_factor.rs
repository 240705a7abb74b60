//! The hosted page that enrols the second factor a policy requires, during a sign-in:
//! `GET /login/enrol-second-factor?request=ID` starts an authenticator-app enrolment for the
//! user the password identified, `POST` confirms it with a code, which also proves the factor
//! for this sign-in.
//!
//! The engine asks for this page only right after a password proven in the same sign-in (never
//! on the strength of a session alone), so a stolen session cookie cannot enrol the thief's
//! authenticator. The pending sign-in names the user; the enrolment must be that user's.

use crate::app::AppState;
use crate::authn::{factors, flow, pending};
use crate::routes;
use crate::ui::login::PageQuery;
use crate::ui::totp_enrolment::{self, EnrolForm};
use crate::ui::{expired_page, store_failure};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::sign_in::{Method, Proof};
use tessera_core::{PendingSignIn, Stage, TotpFactor, TotpSeed, User};

/// The user the pending sign-in identified.
async fn user_of(state: &AppState, pending: &PendingSignIn) -> Result<User, Response> {
    let Some(user_id) = &pending.user_id else {
        tracing::error!("a sign-in waits for an enrolment without a user");
        return Err(expired_page());
    };
    match state.services.store.find_user(user_id).await {
        Ok(Some(user)) if !user.is_disabled => Ok(user),
        Ok(_) => Err(expired_page()),
        Err(err) => Err(store_failure(err)),
    }
}

/// `GET /login/enrol-second-factor?request=ID`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let (pending, csrf) = match pending::for_page(
        &state,
        &headers,
        query.request(),
        Stage::EnrolSecondFactor,
    )
    .await
    {
        Ok(Some(found)) => found,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let user = match user_of(&state, &pending).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let now = state.services.clock.now();
    let seed = TotpSeed::generate();
    let enrolment = TotpFactor::enrol(user.id.clone(), &seed, state.services.keys.kek(), now);
    if let Err(err) = state.services.store.create_totp_enrolment(&enrolment).await {
        return store_failure(err);
    }
    let form = EnrolForm {
        action: routes::ENROL_SECOND_FACTOR,
        request_id: Some(&pending.id),
        enrolment_id: &enrolment.id,
        csrf_token: &csrf,
        remove_action: None,
    };
    totp_enrolment::render(
        &state.settings.issuer,
        StatusCode::OK,
        &user,
        &seed,
        form,
        None,
        Vec::new(),
    )
}

/// `POST /login/enrol-second-factor`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (params, pending) =
        match pending::read_form(&state, &headers, body, Stage::EnrolSecondFactor).await {
            Ok(read) => read,
            Err(page) => return page,
        };
    let user = match user_of(&state, &pending).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let now = state.services.clock.now();
    let enrolment_id = params.get("enrolment").unwrap_or_default();
    let (enrolment, seed) = match totp_enrolment::open(&state, &user.id, enrolment_id, now).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let typed = params.get("code").unwrap_or_default();
    match factors::confirm_totp_enrolment(&state, &enrolment, &seed, typed, now).await {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            tracing::info!(?refused, user_id = %user.id, "TOTP enrolment code refused");
            let Some((status, message, extra)) = totp_enrolment::refusal(refused, now) else {
                return totp_enrolment::expired();
            };
            let form = EnrolForm {
                action: routes::ENROL_SECOND_FACTOR,
                request_id: Some(&pending.id),
                enrolment_id: &enrolment.id,
                csrf_token: params.get("csrf_token").unwrap_or_default(),
                remove_action: None,
            };
            return totp_enrolment::render(
                &state.settings.issuer,
                status,
                &user,
                &seed,
                form,
                Some(message),
                extra,
            );
        }
        Err(err) => return store_failure(err),
    }
    // The confirming code proves the new factor for this sign-in.
    let proof = Proof {
        method: Method::Totp,
        at: now,
    };
    flow::prove(&state, &headers, &pending, None, proof, Vec::new()).await
}
