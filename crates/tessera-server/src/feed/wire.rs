//! The feed's JSON shapes (`docs/revocation-feed.md`): an entry, a page of entries, a page of a
//! snapshot, and the continuation token of a snapshot that takes several pages.

use crate::error::OAuthError;
use serde::Serialize;
use tessera_core::revocation::TargetIds;
use tessera_core::RevocationEntry;
use tessera_store::FeedSnapshotPage;

/// One feed entry on the wire. Which of the optional fields are present depends on `kind`.
#[derive(Debug, Serialize)]
pub(super) struct WireEntry<'a> {
    pub(super) cursor: String,
    pub(super) kind: &'static str,
    reason: &'static str,
    revoked_at: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<i64>,
}

impl<'a> WireEntry<'a> {
    pub(super) fn of(entry: &'a RevocationEntry) -> Self {
        let r = &entry.revocation;
        let TargetIds {
            jti,
            sid,
            user_id: sub,
        } = r.target.ids();
        Self {
            cursor: entry.cursor.to_string(),
            kind: r.kind().as_str(),
            reason: r.reason.as_str(),
            revoked_at: r.revoked_at.unix_timestamp(),
            expires_at: r.expires_at.unix_timestamp(),
            jti,
            sid,
            sub,
            not_before: r.not_before.map(|nb| nb.unix_timestamp()),
        }
    }
}

/// A page of the feed, or a page of a snapshot (`resync: true`).
#[derive(Debug, Serialize)]
pub(super) struct WirePage<'a> {
    entries: Vec<WireEntry<'a>>,
    pub(super) cursor: String,
    resync: bool,
    /// Only on a snapshot page that more pages follow; absent otherwise, so that a snapshot
    /// of one page reads exactly as before snapshots were paged.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

impl<'a> WirePage<'a> {
    pub(super) fn entries(entries: &'a [RevocationEntry], after: i64) -> Self {
        Self {
            entries: entries.iter().map(WireEntry::of).collect(),
            cursor: entries.last().map_or(after, |e| e.cursor).to_string(),
            resync: false,
            next: None,
        }
    }

    pub(super) fn snapshot(page: &'a FeedSnapshotPage) -> Self {
        Self {
            entries: page.entries.iter().map(WireEntry::of).collect(),
            cursor: page.cursor.to_string(),
            resync: true,
            next: page.next.map(|after| {
                SnapshotToken {
                    snapshot: page.cursor,
                    after,
                }
                .to_string()
            }),
        }
    }
}

/// Where a snapshot continues: the snapshot's cursor and the last entry handed out. Sent as
/// `next` and taken back as `?page=`; clients treat it as opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SnapshotToken {
    pub(super) snapshot: i64,
    pub(super) after: i64,
}

impl std::fmt::Display for SnapshotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.snapshot, self.after)
    }
}

impl SnapshotToken {
    /// Parses a token made by [`Display`](std::fmt::Display): two cursors, the second smaller
    /// (a page is only continued while entries up to the snapshot's cursor remain).
    pub(super) fn parse(value: &str) -> Result<Self, OAuthError> {
        let invalid = || OAuthError::invalid_request("page must be a `next` the feed returned");
        let (snapshot, after) = value.split_once('.').ok_or_else(invalid)?;
        let snapshot = super::parse_cursor(snapshot).map_err(|_| invalid())?;
        let after = super::parse_cursor(after).map_err(|_| invalid())?;
        if after >= snapshot {
            return Err(invalid());
        }
        Ok(Self { snapshot, after })
    }
}

/// Serialises a wire shape. Plain structs of strings and integers: serialisation cannot fail.
pub(super) fn to_json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_tokens_round_trip_and_refuse_garbage() {
        let token = SnapshotToken {
            snapshot: 45,
            after: 12,
        };
        assert_eq!(token.to_string(), "45.12");
        assert_eq!(SnapshotToken::parse("45.12").unwrap(), token);
        for bad in [
            "", "45", "45.", ".12", "12.45", "45.45", "a.1", "45.-1", "45.1.2", "1e3.1",
        ] {
            assert!(SnapshotToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}
