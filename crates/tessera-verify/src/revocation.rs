//! The in-memory mirror of Tessera's revocation feed (`docs/revocation-feed.md`).
//!
//! A [`RevocationMirror`] holds the live entries of the feed, indexed so that a check is a few
//! hash lookups under a read lock: no I/O, ever. Something else keeps it current: the
//! [`FeedSync`](crate::feed_sync::FeedSync) of the `remote` feature, or your own code feeding it
//! [`apply_snapshot`](RevocationMirror::apply_snapshot) and
//! [`apply_entries`](RevocationMirror::apply_entries) and calling
//! [`mark_synced`](RevocationMirror::mark_synced) whenever it knows the mirror is current.
//!
//! [`check`](RevocationMirror::check) fails closed: a mirror that has never been loaded, or has
//! not been known current for longer than the allowed staleness, refuses every token.
//!
//! An entry of a kind this library does not know (a newer server) is never ignored: the whole
//! batch holding it is refused with [`MirrorError::UnknownKind`] and nothing changes, so the
//! mirror stops being marked current and, once the staleness bound passes, refuses every token
//! until the library is updated.

use crate::claims::AccessToken;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// The kind of a feed entry, which decides what it covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `token-revoked`: one access token, by `jti`.
    TokenRevoked,
    /// `session-revoked`: every token of a session, by `sid`.
    SessionRevoked,
    /// `credential-change`: a user's tokens (with a `sid`) issued before `not_before`.
    CredentialChange,
    /// `token-claims-change`: the same rule as `credential-change`.
    TokenClaimsChange,
    /// `global-revoked`: every token issued before `not_before`.
    GlobalRevoked,
    /// A kind this library does not know (the server is newer). Never silently ignored: applying
    /// it fails with [`MirrorError::UnknownKind`].
    Unknown(String),
}

impl Kind {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::TokenRevoked => "token-revoked",
            Kind::SessionRevoked => "session-revoked",
            Kind::CredentialChange => "credential-change",
            Kind::TokenClaimsChange => "token-claims-change",
            Kind::GlobalRevoked => "global-revoked",
            Kind::Unknown(name) => name,
        }
    }

    /// Parses a wire name; an unknown name gives [`Kind::Unknown`].
    pub fn parse(name: &str) -> Self {
        match name {
            "token-revoked" => Kind::TokenRevoked,
            "session-revoked" => Kind::SessionRevoked,
            "credential-change" => Kind::CredentialChange,
            "token-claims-change" => Kind::TokenClaimsChange,
            "global-revoked" => Kind::GlobalRevoked,
            other => Kind::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Kind::parse(&name))
    }
}

/// Parses a feed cursor: a non-negative decimal integer.
pub fn parse_cursor(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn cursor_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = String::deserialize(deserializer)?;
    parse_cursor(&value).ok_or_else(|| de::Error::custom("a cursor must be a decimal string"))
}

/// One entry of the feed, as documented JSON. Fields this library does not know are ignored;
/// which optional fields are present depends on [`kind`](Self::kind).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FeedEntry {
    /// The entry's position in the feed (sent as a decimal string).
    #[serde(deserialize_with = "cursor_string")]
    pub cursor: u64,
    /// What it covers.
    pub kind: Kind,
    /// Why it was made, for logs only.
    #[serde(default)]
    pub reason: String,
    /// When it was made (seconds since the epoch).
    #[serde(default)]
    pub revoked_at: i64,
    /// From then on it covers nothing (seconds since the epoch).
    pub expires_at: i64,
    /// `token-revoked`: the token's `jti`.
    #[serde(default)]
    pub jti: Option<String>,
    /// `session-revoked`: the session.
    #[serde(default)]
    pub sid: Option<String>,
    /// The user (`session-revoked`, `credential-change`, `token-claims-change`).
    #[serde(default)]
    pub sub: Option<String>,
    /// `credential-change`, `token-claims-change`, `global-revoked`: tokens with `iat` before
    /// this are covered.
    #[serde(default)]
    pub not_before: Option<i64>,
}

/// A page or snapshot of `GET /revocations`, or the data of a `snapshot`/`resync` event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FeedPage {
    /// The entries, oldest first.
    pub entries: Vec<FeedEntry>,
    /// Where to continue from.
    #[serde(deserialize_with = "cursor_string")]
    pub cursor: u64,
    /// `true`: a snapshot (or a page of one), which replaces everything.
    #[serde(default)]
    pub resync: bool,
    /// On a page of a snapshot that more pages follow: what to ask for next
    /// (`GET /revocations?page=<next>`; on the stream, `snapshot-continued` events follow).
    /// The snapshot is the entries of all its pages together.
    #[serde(default)]
    pub next: Option<String>,
}

/// A batch could not be applied; the mirror is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// An entry has a kind this library does not know: the server is newer. The batch is
    /// refused so that the mirror is never believed current while missing an entry.
    #[error("entry {cursor} has an unknown kind {kind:?}: update tessera-verify")]
    UnknownKind {
        /// The entry's cursor.
        cursor: u64,
        /// Its kind.
        kind: String,
    },
    /// An entry lacks a field its kind requires.
    #[error("entry {cursor} ({kind}) lacks {field}")]
    MissingField {
        /// The entry's cursor.
        cursor: u64,
        /// Its kind.
        kind: Kind,
        /// The missing field.
        field: &'static str,
    },
    /// Incremental entries were given to a mirror that was never loaded with a snapshot.
    #[error("no snapshot has been loaded")]
    NoSnapshot,
    /// A page of a snapshot that more pages follow was given alone: applying it would drop
    /// the entries of the other pages. Gather every page, then
    /// [`apply_snapshot`](RevocationMirror::apply_snapshot).
    #[error("a snapshot page with more pages to follow cannot be applied alone")]
    IncompleteSnapshot,
}

/// Why [`RevocationMirror::check`] refused a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationCheckError {
    /// A live entry covers the token: answer `401 invalid_token`.
    #[error("the token was revoked")]
    Revoked,
    /// The mirror was not known current within the allowed staleness (or never was loaded): it
    /// cannot tell, so the token is refused (fail closed). `age` is the time since the last
    /// sync, `None` when it never synced.
    #[error("the revocation mirror is stale (last synced {age:?} ago)")]
    Stale {
        /// Time since the last successful sync; `None` if it never synced.
        age: Option<Duration>,
    },
}

/// A `not_before` rule and until when it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    not_before: i64,
    expires_at: i64,
}

impl Window {
    fn covers(&self, iat: i64, now: i64) -> bool {
        now < self.expires_at && iat < self.not_before
    }
}

/// Adds `w` to a set of windows kept free of dominated ones (a window with a `not_before` no
/// later and an expiry no later than another's covers nothing more). Usually one window remains.
fn add_window(windows: &mut Vec<Window>, w: Window) {
    if windows
        .iter()
        .any(|o| o.not_before >= w.not_before && o.expires_at >= w.expires_at)
    {
        return;
    }
    windows.retain(|o| !(w.not_before >= o.not_before && w.expires_at >= o.expires_at));
    windows.push(w);
}

/// What the entries amount to, indexed for checks.
#[derive(Debug, Default)]
struct Index {
    /// `jti` → expiry.
    jtis: HashMap<String, i64>,
    /// `sid` → expiry.
    sids: HashMap<String, i64>,
    /// `sub` → `not_before` windows (credential-change and token-claims-change).
    users: HashMap<String, Vec<Window>>,
    /// Global `not_before` windows.
    global: Vec<Window>,
}

/// An entry checked for its required fields.
enum Checked<'a> {
    Jti(&'a str, i64),
    Sid(&'a str, i64),
    User(&'a str, Window),
    Global(Window),
}

fn check_entry(e: &FeedEntry) -> Result<Checked<'_>, MirrorError> {
    let missing = |field| MirrorError::MissingField {
        cursor: e.cursor,
        kind: e.kind.clone(),
        field,
    };
    let window = || {
        e.not_before
            .map(|not_before| Window {
                not_before,
                expires_at: e.expires_at,
            })
            .ok_or_else(|| missing("not_before"))
    };
    Ok(match &e.kind {
        Kind::TokenRevoked => Checked::Jti(
            e.jti.as_deref().ok_or_else(|| missing("jti"))?,
            e.expires_at,
        ),
        Kind::SessionRevoked => Checked::Sid(
            e.sid.as_deref().ok_or_else(|| missing("sid"))?,
            e.expires_at,
        ),
        Kind::CredentialChange | Kind::TokenClaimsChange => {
            Checked::User(e.sub.as_deref().ok_or_else(|| missing("sub"))?, window()?)
        }
        Kind::GlobalRevoked => Checked::Global(window()?),
        Kind::Unknown(kind) => {
            return Err(MirrorError::UnknownKind {
                cursor: e.cursor,
                kind: kind.clone(),
            })
        }
    })
}

impl Index {
    fn insert(&mut self, entry: Checked<'_>) {
        match entry {
            Checked::Jti(jti, exp) => {
                let slot = self.jtis.entry(jti.to_owned()).or_insert(exp);
                *slot = (*slot).max(exp);
            }
            Checked::Sid(sid, exp) => {
                let slot = self.sids.entry(sid.to_owned()).or_insert(exp);
                *slot = (*slot).max(exp);
            }
            Checked::User(sub, w) => {
                add_window(self.users.entry(sub.to_owned()).or_default(), w);
            }
            Checked::Global(w) => add_window(&mut self.global, w),
        }
    }

    fn covers(&self, token: &AccessToken, now: i64) -> bool {
        if self.global.iter().any(|w| w.covers(token.iat, now)) {
            return true;
        }
        if self
            .jtis
            .get(token.jti.as_str())
            .is_some_and(|&exp| now < exp)
        {
            return true;
        }
        let Some(sid) = token.sid.as_deref() else {
            // Only global and token entries cover a token without a session.
            return false;
        };
        if self.sids.get(sid).is_some_and(|&exp| now < exp) {
            return true;
        }
        self.users
            .get(token.sub.as_str())
            .is_some_and(|ws| ws.iter().any(|w| w.covers(token.iat, now)))
    }

    fn prune(&mut self, now: i64) {
        self.jtis.retain(|_, exp| now < *exp);
        self.sids.retain(|_, exp| now < *exp);
        self.users.retain(|_, ws| {
            ws.retain(|w| now < w.expires_at);
            !ws.is_empty()
        });
        self.global.retain(|w| now < w.expires_at);
    }

    fn len(&self) -> usize {
        self.jtis.len()
            + self.sids.len()
            + self.users.values().map(Vec::len).sum::<usize>()
            + self.global.len()
    }
}

#[derive(Debug, Default)]
struct State {
    index: Index,
    /// `None` until the first snapshot.
    cursor: Option<u64>,
    last_synced_at: Option<i64>,
}

/// The live revocation entries of Tessera's feed, in memory, for refusing revoked access tokens
/// without asking Tessera. Thread-safe; share it in an `Arc`. Checks take a read lock and do a
/// handful of hash lookups.
#[derive(Debug, Default)]
pub struct RevocationMirror {
    state: RwLock<State>,
}

impl RevocationMirror {
    /// An empty mirror that has never synced: [`check`](Self::check) refuses every token until a
    /// snapshot is loaded and [`mark_synced`](Self::mark_synced) is called.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces everything with a snapshot (`resync: true`) and continues from `cursor`.
    ///
    /// # Errors
    ///
    /// [`MirrorError`] if an entry has an unknown kind or lacks a field; the mirror is then
    /// unchanged.
    pub fn apply_snapshot(&self, entries: &[FeedEntry], cursor: u64) -> Result<(), MirrorError> {
        let mut index = Index::default();
        for entry in entries {
            index.insert(check_entry(entry)?);
        }
        let mut state = self.write();
        state.index = index;
        state.cursor = Some(cursor);
        Ok(())
    }

    /// Adds incremental entries (the entries after the current cursor) and continues from
    /// `next_cursor`. All or nothing.
    ///
    /// # Errors
    ///
    /// [`MirrorError::NoSnapshot`] before the first snapshot; otherwise as
    /// [`apply_snapshot`](Self::apply_snapshot). The mirror is then unchanged.
    pub fn apply_entries(
        &self,
        entries: &[FeedEntry],
        next_cursor: u64,
    ) -> Result<(), MirrorError> {
        let checked = entries
            .iter()
            .map(check_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = self.write();
        if state.cursor.is_none() {
            return Err(MirrorError::NoSnapshot);
        }
        for entry in checked {
            state.index.insert(entry);
        }
        state.cursor = Some(next_cursor);
        Ok(())
    }

    /// Applies a page of `GET /revocations` (or a `snapshot`/`resync` event): a snapshot
    /// replaces, a page adds.
    ///
    /// # Errors
    ///
    /// As [`apply_snapshot`](Self::apply_snapshot) and [`apply_entries`](Self::apply_entries);
    /// [`MirrorError::IncompleteSnapshot`] for a snapshot page with more pages to follow
    /// (`next`).
    pub fn apply_page(&self, page: &FeedPage) -> Result<(), MirrorError> {
        if page.resync && page.next.is_some() {
            return Err(MirrorError::IncompleteSnapshot);
        }
        if page.resync {
            self.apply_snapshot(&page.entries, page.cursor)
        } else {
            self.apply_entries(&page.entries, page.cursor)
        }
    }

    /// The cursor to continue from; `None` before the first snapshot.
    pub fn cursor(&self) -> Option<u64> {
        self.read().cursor
    }

    /// Records that the mirror is known current at `now` (seconds since the epoch): after a
    /// snapshot, an event, a successful poll, or a keep-alive of the stream.
    pub fn mark_synced(&self, now: i64) {
        let mut state = self.write();
        state.last_synced_at = Some(state.last_synced_at.map_or(now, |t| t.max(now)));
    }

    /// When the mirror was last known current; `None` if never.
    pub fn last_synced_at(&self) -> Option<i64> {
        self.read().last_synced_at
    }

    /// Drops every entry past its expiry at `now`: they cover nothing any more.
    pub fn prune(&self, now: i64) {
        self.write().index.prune(now);
    }

    /// How many index records are held (jtis, sids, user and global windows).
    pub fn len(&self) -> usize {
        self.read().index.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a live entry covers `token` at `now`, by the rule of the feed: `token-revoked` by
    /// `jti`; `session-revoked` by `sid`; `credential-change` and `token-claims-change` when the
    /// token has a `sid`, its `sub` matches and `iat < not_before`; `global-revoked` when
    /// `iat < not_before`. An entry with `expires_at <= now` covers nothing. Says nothing about
    /// staleness: use [`check`](Self::check).
    pub fn is_revoked(&self, token: &AccessToken, now: i64) -> bool {
        self.read().index.covers(token, now)
    }

    /// The check to make after [`Verifier::verify_access_token`](crate::Verifier) succeeded:
    /// refuses the token if it is revoked, or if the mirror was not known current within
    /// `max_staleness` of `now` (fail closed).
    ///
    /// # Errors
    ///
    /// [`RevocationCheckError::Revoked`] or [`RevocationCheckError::Stale`].
    pub fn check(
        &self,
        token: &AccessToken,
        now: i64,
        max_staleness: Duration,
    ) -> Result<(), RevocationCheckError> {
        let state = self.read();
        let synced = match (state.cursor, state.last_synced_at) {
            (Some(_), Some(at)) => at,
            _ => return Err(RevocationCheckError::Stale { age: None }),
        };
        let age = Duration::from_secs(u64::try_from(now.saturating_sub(synced)).unwrap_or(0));
        if age > max_staleness {
            return Err(RevocationCheckError::Stale { age: Some(age) });
        }
        if state.index.covers(token, now) {
            return Err(RevocationCheckError::Revoked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    const NOW: i64 = 1_800_000_000;
    const FRESH: Duration = Duration::from_secs(30);

    fn token(jti: &str, sid: Option<&str>, sub: &str, iat: i64) -> AccessToken {
        AccessToken {
            sub: sub.into(),
            client_id: "web".into(),
            jti: jti.into(),
            iat,
            exp: iat + 900,
            scopes: vec![],
            sid: sid.map(Into::into),
            auth_time: None,
            roles: vec![],
            acr: None,
            amr: vec![],
            claims: Map::new(),
        }
    }

    fn entry(value: Value) -> FeedEntry {
        serde_json::from_value(value).unwrap()
    }

    fn entries(values: &[Value]) -> Vec<FeedEntry> {
        values.iter().cloned().map(entry).collect()
    }

    /// A mirror loaded with `values` as a snapshot and synced at `NOW`.
    fn loaded(values: &[Value]) -> RevocationMirror {
        let m = RevocationMirror::new();
        m.apply_snapshot(&entries(values), 10).unwrap();
        m.mark_synced(NOW);
        m
    }

    fn e(kind: &str, extra: Value) -> Value {
        let mut v = json!({"cursor": "1", "kind": kind, "reason": "logout",
            "revoked_at": NOW, "expires_at": NOW + 1000, "future_field": [1, 2]});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn entries_parse_from_the_documented_json() {
        let page: FeedPage = serde_json::from_value(json!({
            "entries": [
                {"cursor": "42", "kind": "token-revoked", "reason": "client-request",
                 "revoked_at": 1_800_000_000, "expires_at": 1_800_000_600, "jti": "q9W3"},
                {"cursor": "45", "kind": "global-revoked", "reason": "key-rotation",
                 "revoked_at": 1_800_000_010, "expires_at": 1_800_001_031, "not_before": 1_800_000_011}
            ],
            "cursor": "45",
            "resync": false
        }))
        .unwrap();
        assert_eq!(page.cursor, 45);
        assert_eq!(page.entries[0].kind, Kind::TokenRevoked);
        assert_eq!(page.entries[0].jti.as_deref(), Some("q9W3"));
        assert_eq!(page.entries[1].not_before, Some(1_800_000_011));
        for bad in [json!(42), json!("-1"), json!("4a"), json!("")] {
            let v = json!({"cursor": bad, "kind": "global-revoked", "expires_at": 1});
            assert!(serde_json::from_value::<FeedEntry>(v).is_err());
        }
    }

    #[test]
    fn token_revoked_covers_its_jti_only() {
        let m = loaded(&[e("token-revoked", json!({"jti": "j1"}))]);
        assert!(m.is_revoked(&token("j1", None, "svc", NOW - 5), NOW));
        assert!(m.is_revoked(&token("j1", Some("s"), "u", NOW + 5), NOW));
        assert!(!m.is_revoked(&token("j2", Some("s"), "u", NOW - 5), NOW));
        assert_eq!(
            m.check(&token("j1", None, "svc", NOW), NOW, FRESH),
            Err(RevocationCheckError::Revoked)
        );
        assert_eq!(m.check(&token("j2", None, "svc", NOW), NOW, FRESH), Ok(()));
    }

    #[test]
    fn session_revoked_covers_its_sid_whatever_the_iat() {
        let m = loaded(&[e("session-revoked", json!({"sid": "s1", "sub": "alice"}))]);
        assert!(m.is_revoked(&token("j", Some("s1"), "alice", NOW + 500), NOW));
        assert!(m.is_revoked(&token("j", Some("s1"), "bob", NOW - 500), NOW));
        assert!(!m.is_revoked(&token("j", Some("s2"), "alice", NOW - 500), NOW));
        assert!(!m.is_revoked(&token("j", None, "alice", NOW - 500), NOW));
    }

    #[test]
    fn user_entries_cover_older_user_tokens_only() {
        for kind in ["credential-change", "token-claims-change"] {
            let m = loaded(&[e(kind, json!({"sub": "alice", "not_before": NOW}))]);
            assert!(m.is_revoked(&token("j", Some("s"), "alice", NOW - 1), NOW));
            assert!(
                !m.is_revoked(&token("j", Some("s"), "alice", NOW), NOW),
                "iat == not_before"
            );
            assert!(!m.is_revoked(&token("j", Some("s"), "bob", NOW - 1), NOW));
            // A client_credentials token whose subject spells the user id has no sid.
            assert!(!m.is_revoked(&token("j", None, "alice", NOW - 1), NOW));
        }
    }

    #[test]
    fn global_revoked_covers_every_older_token() {
        let m = loaded(&[e("global-revoked", json!({"not_before": NOW}))]);
        assert!(m.is_revoked(&token("j", None, "svc", NOW - 1), NOW));
        assert!(m.is_revoked(&token("j", Some("s"), "alice", NOW - 1), NOW));
        assert!(!m.is_revoked(&token("j", None, "svc", NOW), NOW));
    }

    #[test]
    fn expired_entries_cover_nothing_and_are_pruned() {
        let m = loaded(&[
            e("token-revoked", json!({"jti": "j1"})),
            e("session-revoked", json!({"sid": "s1", "sub": "a"})),
            e("credential-change", json!({"sub": "a", "not_before": NOW})),
            e(
                "global-revoked",
                json!({"not_before": NOW, "expires_at": NOW + 2000}),
            ),
        ]);
        let t = token("j1", Some("s1"), "a", NOW - 1);
        let end = NOW + 1000;
        assert!(m.is_revoked(&t, end - 1));
        // Only the global entry (expiring later) still covers.
        let m2 = loaded(&[
            e("token-revoked", json!({"jti": "j1"})),
            e("session-revoked", json!({"sid": "s1", "sub": "a"})),
            e("credential-change", json!({"sub": "a", "not_before": NOW})),
        ]);
        assert!(!m2.is_revoked(&t, end));
        assert_eq!(m.len(), 4);
        m.prune(end);
        assert_eq!(m.len(), 1);
        assert!(m.is_revoked(&t, end));
        m.prune(NOW + 2000);
        assert!(m.is_empty());
    }

    #[test]
    fn an_older_window_that_outlives_a_newer_one_still_counts() {
        let m = loaded(&[
            e(
                "credential-change",
                json!({"sub": "a", "not_before": NOW - 100, "expires_at": NOW + 2000}),
            ),
            e(
                "credential-change",
                json!({"sub": "a", "not_before": NOW, "expires_at": NOW + 1000}),
            ),
            // Dominated by the second: dropped.
            e(
                "credential-change",
                json!({"sub": "a", "not_before": NOW - 200, "expires_at": NOW + 900}),
            ),
        ]);
        assert_eq!(m.len(), 2);
        assert!(m.is_revoked(&token("j", Some("s"), "a", NOW - 50), NOW + 999));
        assert!(!m.is_revoked(&token("j", Some("s"), "a", NOW - 50), NOW + 1000));
        assert!(m.is_revoked(&token("j", Some("s"), "a", NOW - 150), NOW + 1500));
    }

    #[test]
    fn a_snapshot_replaces_and_entries_add() {
        let m = loaded(&[e("token-revoked", json!({"jti": "old"}))]);
        assert_eq!(m.cursor(), Some(10));
        m.apply_entries(
            &entries(&[e("token-revoked", json!({"jti": "new", "cursor": "12"}))]),
            12,
        )
        .unwrap();
        assert_eq!(m.cursor(), Some(12));
        assert!(m.is_revoked(&token("old", None, "x", NOW), NOW));
        assert!(m.is_revoked(&token("new", None, "x", NOW), NOW));
        let page: FeedPage = serde_json::from_value(json!({
            "entries": [e("token-revoked", json!({"jti": "other", "cursor": "20"}))],
            "cursor": "30", "resync": true
        }))
        .unwrap();
        m.apply_page(&page).unwrap();
        assert_eq!(m.cursor(), Some(30));
        assert!(!m.is_revoked(&token("old", None, "x", NOW), NOW));
        assert!(!m.is_revoked(&token("new", None, "x", NOW), NOW));
        assert!(m.is_revoked(&token("other", None, "x", NOW), NOW));
    }

    #[test]
    fn a_snapshot_page_with_more_to_come_is_not_applied_alone() {
        let m = RevocationMirror::new();
        let page: FeedPage = serde_json::from_value(serde_json::json!({
            "entries": [], "cursor": "30", "resync": true, "next": "30.12"
        }))
        .unwrap();
        assert_eq!(page.next.as_deref(), Some("30.12"));
        assert_eq!(m.apply_page(&page), Err(MirrorError::IncompleteSnapshot));
        assert_eq!(m.cursor(), None);
    }

    #[test]
    fn entries_need_a_snapshot_first() {
        let m = RevocationMirror::new();
        assert_eq!(
            m.apply_entries(&entries(&[e("token-revoked", json!({"jti": "j"}))]), 5),
            Err(MirrorError::NoSnapshot)
        );
        assert_eq!(m.cursor(), None);
    }

    #[test]
    fn an_unknown_kind_or_a_missing_field_refuses_the_whole_batch() {
        let m = loaded(&[]);
        let batch = entries(&[
            e("token-revoked", json!({"jti": "j"})),
            e("device-revoked", json!({"cursor": "11", "device": "d"})),
        ]);
        assert_eq!(batch[1].kind, Kind::Unknown("device-revoked".into()));
        assert_eq!(
            m.apply_entries(&batch, 11),
            Err(MirrorError::UnknownKind {
                cursor: 11,
                kind: "device-revoked".into()
            })
        );
        assert_eq!(m.cursor(), Some(10), "the cursor did not move");
        assert!(
            !m.is_revoked(&token("j", None, "x", NOW), NOW),
            "nothing applied"
        );
        assert!(m.apply_snapshot(&batch, 11).is_err());
        assert_eq!(m.cursor(), Some(10));
        let missing = entries(&[e("credential-change", json!({"sub": "a"}))]);
        assert!(matches!(
            m.apply_entries(&missing, 11),
            Err(MirrorError::MissingField {
                field: "not_before",
                ..
            })
        ));
        let missing = entries(&[e("token-revoked", json!({}))]);
        assert!(matches!(
            m.apply_snapshot(&missing, 11),
            Err(MirrorError::MissingField { field: "jti", .. })
        ));
    }

    #[test]
    fn a_stale_or_unloaded_mirror_fails_closed() {
        let t = token("j", Some("s"), "a", NOW - 1);
        let m = RevocationMirror::new();
        assert_eq!(
            m.check(&t, NOW, FRESH),
            Err(RevocationCheckError::Stale { age: None })
        );
        // Synced but never loaded: still refuses.
        m.mark_synced(NOW);
        assert_eq!(
            m.check(&t, NOW, FRESH),
            Err(RevocationCheckError::Stale { age: None })
        );
        m.apply_snapshot(&[], 1).unwrap();
        assert_eq!(m.check(&t, NOW, FRESH), Ok(()));
        assert_eq!(m.check(&t, NOW + 30, FRESH), Ok(()));
        assert_eq!(
            m.check(&t, NOW + 31, FRESH),
            Err(RevocationCheckError::Stale {
                age: Some(Duration::from_secs(31))
            })
        );
        m.mark_synced(NOW + 31);
        assert_eq!(m.last_synced_at(), Some(NOW + 31));
        assert_eq!(m.check(&t, NOW + 31, FRESH), Ok(()));
        // The sync time never goes back.
        m.mark_synced(NOW);
        assert_eq!(m.last_synced_at(), Some(NOW + 31));
    }
}
