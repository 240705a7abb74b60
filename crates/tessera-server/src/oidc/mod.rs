//! OpenID Connect endpoints: discovery, the JWKS, authorization and sign-in, UserInfo and
//! logout.

pub mod authorize;
pub mod discovery;
pub mod jwks;
pub mod logout;
pub mod sign_in;
pub mod userinfo;
