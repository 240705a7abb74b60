//! OpenID Connect endpoints: discovery and the JWKS.

pub mod authorize;
pub mod discovery;
pub mod jwks;
pub mod sign_in;
pub mod userinfo;
