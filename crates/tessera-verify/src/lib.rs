//! `tessera-verify`: what a resource server needs to trust Tessera's tokens.
//!
//! A [`Verifier`] holds the issuer's signing keys (a JWK Set) and checks tokens strictly:
//!
//! - the signature, with only the published keys and an algorithm allow-list (never `none`, never
//!   HMAC; each key is pinned to the algorithm its `kty`/`crv`/`alg` name; embedded `jwk`, `jku`
//!   and `x5u` headers are ignored, never fetched; any `crit` is refused);
//! - the token type (`typ`), so an ID token is never accepted as an access token or the reverse;
//! - `iss` exactly, `aud` required and matched, `exp`, `iat` (and `nbf` when present) required to
//!   be numbers, with a bounded leeway;
//! - size, base64url and UTF-8 strictness, and no duplicate claim names.
//!
//! On top of a verified [`AccessToken`] it answers the questions an API asks before a sensitive
//! operation: has the user authenticated recently enough ([`Verifier::require_auth_within`],
//! which yields an RFC 9470 step-up challenge), does the token carry a scope or a role.
//!
//! ```
//! use tessera_verify::{Verifier, VerifierOptions};
//! # use tessera_jose::{Algorithm, JwkSet, SigningKey};
//! # let key = SigningKey::generate(Algorithm::RS256, "k1").unwrap();
//! # let jwks = JwkSet { keys: vec![key.public_jwk().clone()] };
//! let verifier = Verifier::new(
//!     VerifierOptions::new("https://id.example.com", "https://api.example.com"),
//!     jwks,
//! )?;
//! match verifier.verify_access_token("not a token") {
//!     Ok(token) => println!("hello {}", token.sub),
//!     // Answer 401 with `WWW-Authenticate: Bearer error="invalid_token"`; the error's detail is
//!     // for your logs, not for the caller.
//!     Err(err) => eprintln!("refused: {err}"),
//! }
//! # Ok::<(), tessera_verify::ConfigError>(())
//! ```

#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod claims;
mod clock;
mod error;
#[cfg(feature = "remote")]
pub mod feed_sync;
mod freshness;
#[cfg(feature = "remote")]
mod http;
#[cfg(feature = "remote")]
pub mod remote;
pub mod revocation;
mod verifier;

pub use claims::{AccessToken, IdToken};
pub use clock::{Clock, SystemClock};
pub use error::{ClaimsError, ConfigError, VerifyError};
pub use freshness::{InsufficientScope, StepUpRequired, ACR_MFA, ACR_PASSWORD, ACR_PHR};
pub use verifier::{Verifier, VerifierOptions, MAX_LEEWAY};
