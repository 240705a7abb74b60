//! The OpenID Connect authorization request a sign-in serves: validated by the authorization
//! endpoint, kept in a pending sign-in ([`crate::sign_in::Continuation::Oidc`]) while the user
//! is on the hosted pages, and answered with a code when the sign-in finishes.

use crate::ids::ClientId;
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;

/// A validated authorization request (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: ClientId,
    /// Where the answer goes (a registered URI, matched exactly).
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (it may be omitted when only one is registered).
    pub redirect_uri_in_request: bool,
    /// Requested scopes, already limited to the client's.
    pub scope: ScopeSet,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<CodeChallenge>,
    /// `prompt=login`: authenticate again whatever the session says.
    pub prompt_login: bool,
    /// `prompt=consent`: ask for consent again.
    pub prompt_consent: bool,
    /// Maximum age of the authentication in seconds.
    pub max_age: Option<i64>,
    /// Requested authentication context classes, in order of preference.
    pub acr_values: Vec<String>,
    /// Whether the `acr` was requested as Essential (the `claims` parameter, OpenID Connect Core
    /// §5.5.1.1): a sign-in that cannot reach one of `acr_values` then fails instead of
    /// finishing at a lower level.
    pub acr_essential: bool,
    /// A hint for the login page's username field.
    pub login_hint: Option<String>,
}
