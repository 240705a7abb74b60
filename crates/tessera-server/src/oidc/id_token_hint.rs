//! `id_token_hint`: an ID token this issuer signed, naming a user (the authorization endpoint)
//! or a session (RP-initiated logout).

use crate::app::AppState;
use tessera_core::token::ID_TOKEN_TYP;
use tessera_jose::{Algorithm, JwkSet};

/// The `sub` of an ID token this issuer signed (expired ones included: a hint names a user, it
/// does not authenticate one).
pub fn subject_of_id_token_hint(state: &AppState, hint: &str) -> Option<String> {
    id_token_hint_claims(state, hint)?["sub"]
        .as_str()
        .map(str::to_owned)
}

/// The claims of `hint` if it is an ID token of this issuer: signed with a published key, `typ`
/// `JWT` (so an access token, `at+jwt`, or a logout token, `logout+jwt`, signed with the same
/// keys is not one), `iss` this issuer. Expiry is not checked: an expired ID token still names
/// its user and session (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2).
pub fn id_token_hint_claims(state: &AppState, hint: &str) -> Option<serde_json::Value> {
    let jwks: JwkSet = serde_json::from_slice(&state.services.keys.jwks_json()).ok()?;
    let verified = tessera_jose::verify_compact(hint, &jwks, &Algorithm::ALL).ok()?;
    if !verified
        .typ()
        .is_some_and(|typ| typ.eq_ignore_ascii_case(ID_TOKEN_TYP))
    {
        return None;
    }
    let claims: serde_json::Value = verified.claims().ok()?;
    (claims["iss"] == state.settings.issuer.as_str()).then_some(claims)
}
