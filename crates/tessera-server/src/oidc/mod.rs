//! OpenID Connect endpoints: discovery and the JWKS.

pub mod discovery;
pub mod jwks;
