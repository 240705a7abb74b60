//! One pass of a sign-in: ask the core's engine for the next step and carry it out — park the
//! sign-in for a page, finish it for the protocol that asked, or fail back to that protocol.
//! The authorization endpoint and every hosted page's POST end here, so a sign-in moves only
//! through the steps the engine asks for.

use super::{factors, pending, session};
use crate::app::AppState;
use crate::ui::{expired_page, store_failure};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use tessera_core::sign_in::{
    self as engine, Authenticated, ConsentPolicy, EnrolledMethods, Interaction, Progress, Proof,
    SignInError, Step,
};
use tessera_core::{BrowserSession, Client, Continuation, PendingSignIn, Stage, UserId};
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
    let mut policy = sign_in.continuation.policy(
        &sign_in.client,
        sign_in.interaction,
        sign_in.expected_user.clone(),
    );
    let facts = session.map(session::facts);
    // The methods of the user the engine will judge: the one this sign-in identified, else the
    // session's.
    let subject = sign_in
        .progress
        .user_id
        .as_ref()
        .or(session.map(|s| &s.user_id));
    // The server's policy, and the user's roles', add to the client's.
    policy.requires_second_factor |= state.settings.mfa.required;
    if let (Some(user), false) = (subject, state.settings.mfa.required_roles.is_empty()) {
        if let Some(user) = state.services.store.find_user(user).await? {
            policy.requires_second_factor |= factors::required_for(state, &user);
        }
    }
    // Most sign-ins ask nothing of a second factor: their factors are not read.
    let enrolled = match subject {
        Some(user) if engine::reads_enrolled_methods(&policy, facts.as_ref()) => {
            factors::enrolled(state, user).await?
        }
        _ => EnrolledMethods::default(),
    };
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
        Step::EnrolSecondFactor { user_id } => {
            park(Stage::EnrolSecondFactor, Some(user_id), extra_headers).await
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

/// Goes on after a hosted page proved `proof` for `pending` (read by that page for its own
/// stage): consumes the pending sign-in (atomically: of two POSTs of one form only the first
/// goes on), records the proof (and the user it `identified`, for a first factor), asks the
/// engine, and starts or renews the browser session once the engine calls the user
/// authenticated, before any consent page (declining consent to one app does not sign the user
/// out of Tessera). `on_sign_in` are headers sent only when the session is established.
pub async fn prove(
    state: &AppState,
    headers: &HeaderMap,
    pending: &PendingSignIn,
    identified: Option<UserId>,
    proof: Proof,
    on_sign_in: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let pending = match pending::take(state, pending).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    let client = match state
        .services
        .store
        .find_client(pending.continuation.client_id())
        .await
    {
        Ok(Some(client)) => client,
        Ok(None) => return expired_page(),
        Err(err) => return store_failure(err),
    };
    let mut progress = pending.progress();
    if let Some(user_id) = identified {
        progress.user_id = Some(user_id);
    }
    progress.proofs.push(proof);
    let sign_in = SignIn {
        continuation: pending.continuation,
        client,
        progress,
        interaction: Interaction::Allowed,
        expected_user: None,
    };
    // A step-up adds to the browser's session: the engine reads it to see the first factor.
    let current = match session::current_session(state, headers).await {
        Ok(current) => current.map(|(session, _)| session),
        Err(err) => return store_failure(err),
    };
    let step = match decide(state, &sign_in, current.as_ref()).await {
        Ok(step) => step,
        Err(err) => return store_failure(err),
    };
    let (session, extra_headers) = match &step {
        Step::Consent(authentication) | Step::Finish(authentication) => {
            match session::establish(state, headers, authentication).await {
                Ok((session, cookie)) => {
                    tracing::info!(
                        user_id = %authentication.user_id,
                        sid = %session.sid,
                        amr = ?authentication.amr,
                        "signed in"
                    );
                    let mut extra = vec![cookie];
                    extra.extend(on_sign_in);
                    (Some(session), extra)
                }
                Err(err) => return store_failure(err),
            }
        }
        _ => (current, Vec::new()),
    };
    carry_out(state, headers, sign_in, step, session, extra_headers).await
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
