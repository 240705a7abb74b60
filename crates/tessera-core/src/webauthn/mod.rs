//! A narrow WebAuthn relying-party verifier for passkeys (W3C WebAuthn Level 3, §7). Pure: no
//! IO, no clock, no store. The caller issues a [`Challenge`], hands the browser the
//! [`CreationOptions`] or [`RequestOptions`], keeps the challenge, and passes the browser's
//! answer to [`verify_registration`] or [`verify_assertion`].
//!
//! Where each rule lives:
//!
//! | check | file |
//! | --- | --- |
//! | `type`, `challenge`, `origin`, `crossOrigin`, `topOrigin` | `client_data.rs` |
//! | layout, rpIdHash, UP, UV, BS-without-BE, credential ID ≤ 1023 bytes, trailing bytes | `authenticator_data.rs` |
//! | algorithm allow-list (ES256, EdDSA/Ed25519, RS256), key validity, signatures | `cose_key.rs` |
//! | attestation object shape, `none` / `packed` self-attestation, the rest treated as `none` | `attestation.rs` |
//! | AT present, order of the registration steps | `registration.rs` |
//! | credential ID, signature, BE unchanged, counter growth | `authentication.rs` |
//! | `amr` values | `amr.rs` |
//! | browser JSON in (`toJSON()`) and out (options) | `response_json.rs`, `options.rs` |
//!
//! What stays with the caller, because it needs storage: refusing a credential ID already
//! registered (§7.1 step 25), finding the stored credential by ID, comparing a returned user
//! handle with the credential's owner (§7.2 step 6), using each challenge once, and storing the
//! new counter. Every refusal is a [`WebauthnError`] whose [`WebauthnError::code`] is meant for
//! the audit trail; [`WebauthnError::CounterRegressed`] in particular signals a possibly cloned
//! credential.
//!
//! Every parser here takes untrusted bytes and returns a typed error, never panics; the fuzz test
//! of the parsers holds them to that.

mod amr;
mod attestation;
mod authentication;
mod authenticator_data;
mod cbor;
mod challenge;
mod client_data;
mod cose_key;
mod error;
mod options;
mod registration;
mod relying_party;
mod response_json;

#[cfg(test)]
mod tests;

pub use amr::amr_values;
pub use attestation::AttestationObject;
pub use authentication::{
    verify_assertion, AssertionResponse, StoredCredential, VerifiedAssertion,
};
pub use authenticator_data::{AttestedCredentialData, AuthenticatorData, Flags};
pub use challenge::Challenge;
pub use client_data::{Ceremony, CollectedClientData};
pub use cose_key::{CoseAlgorithm, CredentialPublicKey};
pub use error::WebauthnError;
pub use options::{
    AuthenticatorSelection, CreationOptions, CredentialDescriptor, CredentialParameters,
    RequestOptions, RpEntity, UserEntity,
};
pub use registration::{verify_registration, RegistrationResponse, VerifiedCredential};
pub use relying_party::{RelyingParty, UserVerification};
pub use response_json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    RegistrationResponseJson,
};
