//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2), GET and POST.
//!
//! Validation happens in two stages. Until the client and its redirect URI are known to be
//! genuine, errors are shown on an error page and never redirected: redirecting to an
//! unverified URI would make Tessera an open redirector. After that, errors go back to the client
//! with `error`, `state` and `iss` (RFC 9207).

use crate::app::AppState;
use crate::authn::flow::{self, SignIn};
use crate::authn::session;
use crate::oauth::form::FormParams;
use crate::oidc::redirect::ClientRedirect;
use crate::ui;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::sign_in::{Interaction, Progress};
use tessera_core::{
    AuthorizationRequest, Client, ClientId, CodeChallenge, Continuation, GrantType, ScopeSet,
    UserId,
};

/// Longest `state` or `nonce` accepted; longer values are almost certainly abuse, and `state` must
/// fit in the redirect back.
const MAX_ECHOED_PARAM: usize = 2048;

/// A validated request plus what only the endpoint needs.
#[derive(Debug)]
pub struct ValidatedRequest {
    /// The client.
    pub client: Client,
    /// The request.
    pub request: AuthorizationRequest,
    /// `prompt=none`: answer without showing any page.
    pub prompt_none: bool,
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_subject: Option<String>,
}

/// Why the request was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Shown to the user; the client is not trusted with a redirect.
    Page(&'static str),
    /// Sent back to the client.
    Redirect(ClientRedirect),
}

/// `GET /authorize`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match FormParams::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => authorize(&state, &headers, params).await,
        Err(err) => bad_request(&err.description.unwrap_or_default()),
    }
}

/// `POST /authorize` (form-encoded, OpenID Connect Core §3.1.2.1).
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match FormParams::from_request(&headers, body, state.settings.max_body_bytes).await {
        Ok(params) => authorize(&state, &headers, params).await,
        // 413 for a body over the limit, 400 for the rest, as on every form endpoint.
        Err(err) => ui::error_page(
            err.status,
            "Invalid sign-in request",
            &err.description.unwrap_or_default(),
        ),
    }
}

fn bad_request(message: &str) -> Response {
    ui::error_page(StatusCode::BAD_REQUEST, "Invalid sign-in request", message)
}

async fn authorize(state: &AppState, headers: &HeaderMap, params: FormParams) -> Response {
    match validate(state, &params).await {
        Ok(validated) => proceed(state, headers, validated).await,
        Err(Refusal::Page(message)) => {
            // Shown to the browser only as the message; the operator gets what was asked for.
            tracing::info!(
                client_id = ?params.get("client_id"),
                redirect_uri = ?params.get("redirect_uri"),
                refusal = message,
                "authorization request refused with an error page"
            );
            bad_request(message)
        }
        Err(Refusal::Redirect(redirect)) => redirect.into_response(&state.settings.issuer),
    }
}

/// Hands a validated request to the sign-in engine, with this browser's session.
async fn proceed(state: &AppState, headers: &HeaderMap, validated: ValidatedRequest) -> Response {
    let ValidatedRequest {
        client,
        request,
        prompt_none,
        hinted_subject,
    } = validated;
    let session = match session::current_session(state, headers).await {
        Ok(session) => session.map(|(session, _)| session),
        Err(err) => return crate::ui::store_failure(err),
    };
    let sign_in = SignIn {
        continuation: Continuation::Oidc(request),
        client,
        progress: Progress::default(),
        interaction: if prompt_none {
            Interaction::None
        } else {
            Interaction::Allowed
        },
        expected_user: hinted_subject.map(UserId::from_stored),
    };
    flow::advance(state, headers, sign_in, session, Vec::new()).await
}

/// Checks every parameter. Public for tests of the rules.
pub async fn validate(state: &AppState, params: &FormParams) -> Result<ValidatedRequest, Refusal> {
    // Stage one: client and redirect URI. Nothing is redirected until both are trusted.
    let client_id = params.get("client_id").ok_or(Refusal::Page(
        "The request does not name a client (client_id).",
    ))?;
    let client_id = ClientId::parse(client_id).map_err(|_| Refusal::Page("Unknown client."))?;
    let client = match state.services.store.find_client(&client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return Err(Refusal::Page("Unknown client.")),
        Err(err) => {
            tracing::error!(error = %err, "authorize: store failure");
            return Err(Refusal::Page("The service is temporarily unavailable."));
        }
    };
    let (redirect_uri, redirect_uri_in_request) = match params.get("redirect_uri") {
        Some(uri) => match client.redirect_uris.iter().find(|r| r.as_str() == uri) {
            Some(registered) => (registered.as_str().to_owned(), true),
            None => {
                tracing::info!(
                    client_id = %client.id,
                    presented = ?uri,
                    registered = ?client.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "redirect_uri is not one of the client's (compared exactly)"
                );
                return Err(Refusal::Page(
                    "The redirect_uri is not registered for this client.",
                ));
            }
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.as_str().to_owned(), false),
            [] => return Err(Refusal::Page("This client has no registered redirect URI.")),
            _ => {
                return Err(Refusal::Page(
                    "The request must name one of the client's redirect URIs.",
                ))
            }
        },
    };
    let client_state = params.get("state").map(str::to_owned);
    if client_state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_ECHOED_PARAM)
    {
        return Err(Refusal::Page("The state parameter is too long."));
    }

    // Stage two: everything else goes back to the client.
    let refuse = |error: &'static str, description: &str| {
        Refusal::Redirect(ClientRedirect::error(
            &redirect_uri,
            client_state.as_deref(),
            error,
            description,
        ))
    };
    match params.get("response_type") {
        None => return Err(refuse("invalid_request", "response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    // Only `query` is implemented: a client asking for `fragment` or `form_post` would otherwise
    // get its answer in a place it does not read.
    match params.get("response_mode") {
        None | Some("query") => {}
        Some(_) => {
            return Err(refuse(
                "invalid_request",
                "only response_mode=query is supported",
            ))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(refuse(
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    if params.get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    let requested = ScopeSet::parse(params.get("scope").unwrap_or(""))
        .map_err(|e| refuse("invalid_scope", &e.to_string()))?;
    let allowed = client.scopes.union(
        &ScopeSet::from_tokens(tessera_core::scope::STANDARD_SCOPES)
            .expect("standard scopes are valid"),
    );
    // OpenID Connect Core §5.4: scope values the provider does not understand (or this client may
    // not have) are ignored rather than refused; the token response's `scope` says what was
    // granted (RFC 6749 §3.3).
    let scope = requested.intersection(&allowed);
    if scope.is_empty() {
        return Err(refuse(
            "invalid_scope",
            "none of the requested scopes is available to this client",
        ));
    }
    let code_challenge = match params.get("code_challenge") {
        Some(challenge) => Some(
            CodeChallenge::parse(challenge, params.get("code_challenge_method"))
                .map_err(|e| refuse("invalid_request", &e.to_string()))?,
        ),
        None if params.get("code_challenge_method").is_some() => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ));
        }
        None if client.is_public() => {
            return Err(refuse(
                "invalid_request",
                "public clients must use PKCE (code_challenge with S256)",
            ));
        }
        None if client.require_pkce => {
            return Err(refuse(
                "invalid_request",
                "this client is registered to require PKCE (code_challenge with S256)",
            ));
        }
        None => None,
    };
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHOED_PARAM) {
        return Err(refuse("invalid_request", "nonce is too long"));
    }
    let (mut prompt_none, mut prompt_login, mut prompt_consent) = (false, false, false);
    for value in params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt_none = true,
            "login" => prompt_login = true,
            "consent" => prompt_consent = true,
            // Tessera shows one account at a time; choosing means signing in again.
            "select_account" => prompt_login = true,
            _ => return Err(refuse("invalid_request", "unknown prompt value")),
        }
    }
    if prompt_none && (prompt_login || prompt_consent) {
        return Err(refuse(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|age| *age >= 0)
                .ok_or_else(|| {
                    refuse("invalid_request", "max_age must be a non-negative integer")
                })?,
        ),
        None => None,
    };
    let hinted_subject = match params.get("id_token_hint") {
        Some(hint) => Some(
            crate::oidc::id_token_hint::subject_of_id_token_hint(state, hint).ok_or_else(|| {
                refuse(
                    "invalid_request",
                    "id_token_hint is not an ID token issued here",
                )
            })?,
        ),
        None => None,
    };
    let mut acr_values: Vec<String> = params
        .get("acr_values")
        .map(|v| {
            v.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let requested_acr = match params.get("claims") {
        Some(claims) => id_token_acr_request(claims)
            .map_err(|why| refuse("invalid_request", &format!("claims: {why}")))?,
        None => None,
    };
    let mut acr_essential = false;
    if let Some(requested) = requested_acr {
        // The claims parameter's values stand for acr_values when those are not given.
        if acr_values.is_empty() {
            acr_values = requested.values;
        }
        acr_essential = requested.essential;
    }
    let login_hint = params
        .get("login_hint")
        .map(|h| h.chars().take(254).collect());
    Ok(ValidatedRequest {
        request: AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri,
            redirect_uri_in_request,
            scope,
            state: client_state,
            nonce,
            code_challenge,
            prompt_login,
            prompt_consent,
            max_age,
            acr_values,
            acr_essential,
            login_hint,
        },
        client,
        prompt_none,
        hinted_subject,
    })
}

/// What the `claims` parameter asks of the ID token's `acr` (OpenID Connect Core §5.5.1.1).
#[derive(Debug, PartialEq, Eq)]
struct AcrRequest {
    values: Vec<String>,
    essential: bool,
}

/// Reads the `claims` parameter (a JSON object) for `id_token.acr`; other requested claims are
/// accepted and ignored (the scopes decide what tokens carry). `Err` for JSON that is not such
/// an object.
fn id_token_acr_request(claims: &str) -> Result<Option<AcrRequest>, &'static str> {
    let parsed: serde_json::Value =
        serde_json::from_str(claims).map_err(|_| "not a JSON object")?;
    let object = parsed.as_object().ok_or("not a JSON object")?;
    let Some(acr) = object
        .get("id_token")
        .and_then(|id_token| id_token.get("acr"))
    else {
        return Ok(None);
    };
    if acr.is_null() {
        return Ok(None);
    }
    let acr = acr
        .as_object()
        .ok_or("id_token.acr must be null or an object")?;
    let essential = match acr.get("essential") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(essential)) => *essential,
        Some(_) => return Err("id_token.acr.essential must be true or false"),
    };
    let mut values = Vec::new();
    if let Some(value) = acr.get("value") {
        values.push(
            value
                .as_str()
                .ok_or("id_token.acr.value must be a string")?
                .to_owned(),
        );
    }
    if let Some(list) = acr.get("values") {
        for value in list
            .as_array()
            .ok_or("id_token.acr.values must be an array")?
        {
            values.push(
                value
                    .as_str()
                    .ok_or("id_token.acr.values must be strings")?
                    .to_owned(),
            );
        }
    }
    Ok(Some(AcrRequest { values, essential }))
}

#[cfg(test)]
mod claims_tests {
    use super::{id_token_acr_request, AcrRequest};

    #[test]
    fn the_claims_parameter_yields_the_id_token_acr_request() {
        let mfa = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:mfa"]}}}"#;
        assert_eq!(
            id_token_acr_request(mfa),
            Ok(Some(AcrRequest {
                values: vec!["urn:tessera:acr:mfa".into()],
                essential: true
            }))
        );
        let one = r#"{"id_token":{"acr":{"value":"urn:tessera:acr:password"}},"userinfo":{}}"#;
        assert_eq!(
            id_token_acr_request(one),
            Ok(Some(AcrRequest {
                values: vec!["urn:tessera:acr:password".into()],
                essential: false
            }))
        );
        assert_eq!(
            id_token_acr_request(r#"{"id_token":{"acr":null}}"#),
            Ok(None)
        );
        assert_eq!(
            id_token_acr_request(r#"{"userinfo":{"email":null}}"#),
            Ok(None)
        );
        for bad in [
            "not json",
            "[]",
            r#"{"id_token":{"acr":"x"}}"#,
            r#"{"id_token":{"acr":{"essential":"yes"}}}"#,
            r#"{"id_token":{"acr":{"values":"x"}}}"#,
            r#"{"id_token":{"acr":{"values":[1]}}}"#,
        ] {
            assert!(id_token_acr_request(bad).is_err(), "{bad}");
        }
    }
}
