//! JWS compact (JWT) signing and verification over [aws-lc-rs], plus JWK and JWK Set types.
//!
//! Tessera signs every token with a [`SigningKey`], which parses its private key once and keeps
//! it in memory together with its public [`Jwk`] and pre-encoded headers, so signing costs
//! little more than the signature itself. [`verify_compact`] checks a token against a
//! [`JwkSet`] under strict rules (algorithm allow-list, `kid` lookup, key/algorithm agreement,
//! no `crit`, size limit). Claims such as `exp` or `aud` are left to higher layers.
//!
//! The crate does no IO and spawns nothing.
//!
//! Supported algorithms are [`Algorithm::RS256`], [`Algorithm::ES256`] and
//! [`Algorithm::EdDSA`].
//!
//! # Example
//!
//! ```
//! use tessera_jose::{verify_compact, Algorithm, JwkSet, SigningKey};
//!
//! # fn main() -> Result<(), tessera_jose::JoseError> {
//! let key = SigningKey::generate(Algorithm::ES256, "2024-01")?;
//! let claims = serde_json::json!({ "iss": "https://issuer.example", "sub": "alice" });
//! let token = key.sign_jwt("at+jwt", &claims)?;
//!
//! let jwks = JwkSet { keys: vec![key.public_jwk().clone()] };
//! let verified = verify_compact(&token, &jwks, &[Algorithm::ES256])?;
//! assert_eq!(verified.typ(), Some("at+jwt"));
//! assert_eq!(verified.claims::<serde_json::Value>()?, claims);
//! # Ok(())
//! # }
//! ```
//!
//! [aws-lc-rs]: https://docs.rs/aws-lc-rs

#![warn(missing_docs)]

mod alg;
pub mod b64;
mod error;
mod jwk;
mod signing;
mod verify;

pub use alg::Algorithm;
pub use error::JoseError;
pub use jwk::{Jwk, JwkSet};
pub use signing::SigningKey;
pub use verify::{verify_compact, VerifiedJws, VerifyingKeys, MAX_TOKEN_LEN};

#[cfg(test)]
mod test_support;
