//! The limits a password attempt must pass before its password is checked, and what a success
//! gives back. One place decides the order:
//!
//! 1. **Per source** ([`tessera_core::source_throttle`]): the client's address
//!    ([`crate::client_ip`]; an IPv6 /64) has a drip-fed allowance of failed attempts, against
//!    spraying one guess at each of many accounts. It is looked at before the password check
//!    and counted only when the password was wrong ([`failed`]).
//! 2. **Per account** ([`tessera_core::login_throttle`]): the typed address's count, or — for a
//!    browser holding a device cookie for that account ([`device_cookie`]) — that browser's own
//!    count, so that a lockout aimed at a user does not reach the user's usual browser. A
//!    success forgets it.
//!
//! The account's count is taken atomically by the store before the (slow) password check, so
//! parallel attempts cannot overrun it. An attempt refused by the source limit is not counted
//! against the account.

use crate::app::AppState;
use crate::authn::device_cookie;
use axum::http::HeaderMap;
use std::net::IpAddr;
use tessera_core::{Admission, ThrottleKey};
use tessera_store::StoreError;
use time::OffsetDateTime;

/// An admitted attempt: the counts it was taken from.
#[derive(Debug)]
pub struct Admitted {
    source: ThrottleKey,
    account: ThrottleKey,
}

/// Why an attempt was refused without checking its password, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many failed attempts from this network source.
    Source { until: OffsetDateTime },
    /// Too many attempts at this account (from this browser, if it holds a device cookie).
    Account { until: OffsetDateTime },
}

/// Counts an attempt by `peer` (the TCP peer; proxies resolved by [`crate::client_ip`]) at the
/// account typed as `username`, or refuses it.
pub async fn admit(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    username: &str,
    now: OffsetDateTime,
) -> Result<Result<Admitted, Refused>, StoreError> {
    let store = &state.services.store;
    let client = state.settings.client_ip.client_ip(peer, headers);
    let source = ThrottleKey::for_source(client);
    if let Admission::Locked { until } = store
        .admit_login_attempt(&source, &state.settings.source_throttle.check(), now)
        .await?
    {
        return Ok(Err(Refused::Source { until }));
    }
    let account = device_cookie::throttle_key(state.services.keys.kek(), headers, username, now);
    if let Admission::Locked { until } = store
        .admit_login_attempt(&account, &state.settings.login_throttle, now)
        .await?
    {
        return Ok(Err(Refused::Account { until }));
    }
    Ok(Ok(Admitted { source, account }))
}

/// The attempt's password was right: the account's (or browser's) count is forgotten. The
/// source's allowance was never touched.
pub async fn succeeded(state: &AppState, attempt: &Admitted) -> Result<(), StoreError> {
    state
        .services
        .store
        .clear_login_attempts(&attempt.account)
        .await
}

/// The attempt's password was wrong: it counts against the source (the account already
/// counted it).
pub async fn failed(
    state: &AppState,
    attempt: &Admitted,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    // A bucket that filled while this attempt was in flight refuses to count it: the next
    // attempt from the source is refused either way.
    state
        .services
        .store
        .admit_login_attempt(&attempt.source, &state.settings.source_throttle, now)
        .await
        .map(|_| ())
}
