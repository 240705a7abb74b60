//! Signing in between pages: the browser session (`session.rs`), pending sign-ins parked between
//! pages (`pending.rs`), the limits on password attempts (`login_limits.rs`, with the device
//! cookie of `device_cookie.rs`), passkey ceremonies (`passkeys.rs`), and the loop that asks the core's sign-in engine for the next step and
//! carries it out (`flow.rs`). The decisions are `tessera_core::sign_in`'s; this module only
//! gathers their inputs from cookies and the store, and turns steps into pages and redirects.
//! The pages themselves are in `crate::ui`; what finishing means for each protocol is in that
//! protocol's module (`crate::oidc::code` for OpenID Connect).

pub mod device_cookie;
pub mod factors;
pub mod flow;
pub mod login_limits;
pub mod passkeys;
pub mod pending;
pub mod session;
