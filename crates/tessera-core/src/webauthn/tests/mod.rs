//! Tests of the WebAuthn verifier: good ceremonies and one refusal per rule with 1Password's
//! `passkey` software authenticator, hand-built structures for what it cannot make (RS256, BE,
//! packed self-attestation), and the fuzz test of the parsers.

mod assertion_refusals;
mod builder;
mod ceremonies;
mod fuzz;
mod harness;
mod parsers;
mod registration_refusals;
mod rs256;
