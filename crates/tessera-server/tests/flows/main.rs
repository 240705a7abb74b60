//! The server's flow tests over real HTTP, one module per flow, in one test binary.
//!
//! They were one binary per file, and each of those linked the whole server: most of a CI run
//! went to linking them. Each test still starts its own server with a fresh store
//! (`tessera_testkit::spawn_app`), on SQLite or, with `TESSERA_TEST_STORE=postgres`, on a fresh
//! PostgreSQL schema, so sharing a process changes nothing they observe.
//!
//! `postgres_restart` stops the machine's PostgreSQL, so it is `#[ignore]`d here and run alone:
//! `cargo test -p tessera-server --test flows -- --ignored postgres_restart::`.

mod account;
mod backchannel_logout;
mod client_credentials;
mod connections;
mod cors;
mod discovery;
mod interop_openidconnect;
mod keys;
mod login_throttle;
mod logout;
mod mail;
mod multi_node;
mod passkeys;
mod postgres_restart;
mod request_id;
mod revocation_feed;
mod revocation_feed_scale;
mod revocation_introspection;
mod revocation_model;
mod revocation_triggers;
mod second_factors;
mod sign_in;
mod sign_up;
mod sms;
mod token_grants;
mod userinfo;
mod verify_real_tokens;
mod verify_remote_keys;
mod verify_revocation_mirror;
