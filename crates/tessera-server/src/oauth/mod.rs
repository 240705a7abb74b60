//! OAuth 2.0 endpoints: the token endpoint and its grants.

pub mod authorization_code;
pub mod client_auth;
pub mod client_credentials;
pub mod form;
pub mod introspection;
pub mod refresh_token;
pub mod resource;
pub mod revocation;
pub mod token;
