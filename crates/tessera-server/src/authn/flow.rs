//! One pass of a sign-in: ask the core's engine for the next step and carry it out — park the
//! sign-in for a page, finish it for the protocol that asked, or fail back to that protocol.
//! The authorization endpoint and every hosted page's POST end here, so a sign-in moves only
//! through the steps the engine asks for.

use super::{pending, session};
use crate::app::AppState;
use crate::ui::{expired_page, store_failure};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use tessera_core::sign_in::{
    self as engine, Authenticated, ConsentPolicy, EnrolledMethods, Interaction, Progress,
    SignInError, Step,
};
use tessera_core::{BrowserSession, Client, Continuation, Stage, UserId};
use tessera_store::StoreError;

/// A sign-in being advanced: what asked for it, for which client, what it has proven, and what
/// it may do.
#[derive(Debug)]
pub struct SignIn {
    /// The protocol request to answer.
    pub continuation: Continuation,
    /// Its client.
    pub client: Client,
    /// What this sign-in has proven so far.
    pub progress: Progress,
    /// Whether pages may be shown (`prompt=none` may not).
    pub interaction: Interaction,
    /// The user a valid `id_token_hint` names.
    pub expected_user: Option<UserId>,
}

/// Decides the next step and carries it out. `session` is this browser's live session, if any.
pub async fn advance(
    state: &AppState,
    headers: &HeaderMap,
    sign_in: SignIn,
    session: Option<BrowserSession>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    match decide(state, &sign_in, session.as_ref()).await {
        Ok(step) => carry_out(state, headers, sign_in, step, session, extra_headers).await,
        Err(err) => store_failure(err),
    }
}

/// The engine's answer, with the inputs it needs read from the store: the remembered consent
/// of the user it authenticated, and that user's enrolled methods.
pub async fn decide(
    state: &AppState,
    sign_in: &SignIn,
    session: Option<&BrowserSession>,
) -> Result<Step, StoreError> {
    let policy = sign_in.continuation.policy(
        &sign_in.client,
        sign_in.interaction,
        sign_in.expected_user.clone(),
    );
    let facts = session.map(session::facts);
    // No second factor can be enrolled yet: every user has none, and the engine never asks for
    // one. They come with the second-factor issue, which reads them from the store here.
    let enrolled = EnrolledMethods::default();
    let now = state.services.clock.now();
    match engine::authenticate(&policy, &sign_in.progress, facts.as_ref(), &enrolled, now) {
        Authenticated::Next(step) => Ok(step),
        Authenticated::Done(authentication) => {
            let covered = match policy.consent {
                ConsentPolicy::UnlessRemembered => state
                    .services
                    .store
                    .find_consent(&authentication.user_id, sign_in.continuation.client_id())
                    .await?
                    .is_some_and(|consent| sign_in.continuation.is_covered_by(&consent)),
                ConsentPolicy::NotNeeded | ConsentPolicy::Always => false,
            };
            Ok(engine::complete(
                &policy,
                &sign_in.progress,
                authentication,
                covered,
            ))
        }
    }
}

/// Carries out `step`: a page (the sign-in parked in that page's stage), the protocol's answer,
/// or its error.
pub async fn carry_out(
    state: &AppState,
    headers: &HeaderMap,
    sign_in: SignIn,
    step: Step,
    session: Option<BrowserSession>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let SignIn {
        continuation,
        progress,
        ..
    } = sign_in;
    let park = |stage: Stage, user_id: Option<UserId>, extra_headers| {
        pending::park(
            state,
            headers,
            continuation.clone(),
            stage,
            user_id,
            progress.clone(),
            extra_headers,
        )
    };
    match step {
        // The login page identifies the user afresh (a reauthentication may switch accounts).
        Step::Identify | Step::FirstFactor { .. } => {
            park(Stage::FirstFactor, None, extra_headers).await
        }
        Step::SecondFactor { user_id, .. } => {
            park(Stage::SecondFactor, Some(user_id), extra_headers).await
        }
        Step::Consent(authentication) => {
            park(Stage::Consent, Some(authentication.user_id), extra_headers).await
        }
        Step::Finish(authentication) => {
            // The code is bound to the browser session of the user who signed in; a browser
            // whose session changed hands since the page was shown starts again.
            let Some(session) = session.filter(|s| s.user_id == authentication.user_id) else {
                tracing::warn!(
                    "sign-in refused: the browser's session is not the signed-in user's"
                );
                return expired_page();
            };
            match continuation {
                Continuation::Oidc(request) => {
                    crate::oidc::code::finish(
                        state,
                        &request,
                        &session,
                        &authentication,
                        extra_headers,
                    )
                    .await
                }
            }
        }
        Step::Fail(error) => fail(state, &continuation, error, extra_headers),
    }
}

/// Answers the protocol that asked with `error`.
pub fn fail(
    state: &AppState,
    continuation: &Continuation,
    error: SignInError,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    match continuation {
        Continuation::Oidc(request) => crate::oidc::redirect::ClientRedirect::error(
            &request.redirect_uri,
            request.state.as_deref(),
            error.code(),
            &error.to_string(),
        )
        .into_response_with(&state.settings.issuer, extra_headers),
    }
}
