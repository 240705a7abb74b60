//! Resource indicators (RFC 8707): which API an access token is for.
//!
//! Without a `resource` parameter an access token's `aud` is the server-wide audience
//! (`tokens.access_token_audience`, by default the issuer), which every API trusting Tessera
//! accepts. A token request (any grant) may name one API instead: `resource` must be an
//! absolute URI without a fragment (RFC 8707 §2) and one of `tokens.resources`, and the access
//! token's `aud` is then that URI alone, so no other API — nor UserInfo — accepts it. Anything
//! else is refused with `invalid_target`.
//!
//! One resource per request: repeating the parameter is refused like any repeated parameter
//! (the access token names one API). The `resource` of an authorization request is not carried
//! into the grant; a client names the resource when it asks for the token.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use url::Url;

/// The `aud` of the access token this token request asks for.
pub fn audience(state: &AppState, params: &FormParams) -> Result<String, OAuthError> {
    let Some(resource) = params.get("resource") else {
        return Ok(state.settings.access_token_audience.clone());
    };
    let is_absolute_without_fragment = Url::parse(resource)
        .map(|url| !url.cannot_be_a_base() && url.fragment().is_none())
        .unwrap_or(false);
    if !is_absolute_without_fragment {
        return Err(OAuthError::invalid_target(
            "resource must be an absolute URI without a fragment",
        ));
    }
    if !state
        .settings
        .resources
        .iter()
        .any(|known| known == resource)
    {
        tracing::info!(
            resource,
            "token request for a resource that is not configured"
        );
        return Err(OAuthError::invalid_target(
            "this server issues no tokens for that resource",
        ));
    }
    Ok(resource.to_owned())
}
