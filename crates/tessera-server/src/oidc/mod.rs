//! OpenID Connect endpoints: discovery, the JWKS, authorization and sign-in, UserInfo and
//! logout.

pub mod authorize;
pub mod code;
pub mod discovery;
pub mod id_token_hint;
pub mod jwks;
pub mod logout;
pub mod redirect;
pub mod userinfo;
