//! Pending sign-ins: an authorization request waiting for the user to log in or consent.
//!
//! The request is kept server-side under a random id; the login form carries that id and a CSRF
//! token in hidden inputs, and the browser carries the same CSRF token's cookie. A login POST
//! consumes the pending request, so a replayed POST finds nothing.

use crate::client::SecretHash;
use crate::ids::ClientId;
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use time::{Duration, OffsetDateTime};

/// How long a user has to complete a sign-in page.
pub const LOGIN_REQUEST_LIFETIME: Duration = Duration::minutes(15);

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
    /// A hint for the login page's username field.
    pub login_hint: Option<String>,
}

/// A pending sign-in, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRequest {
    /// Random id (128 bits), in the form's hidden input.
    pub id: String,
    /// Hash of the CSRF token the form and the cookie must both carry.
    pub csrf_hash: SecretHash,
    /// The authorization request being served.
    pub request: AuthorizationRequest,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
}
