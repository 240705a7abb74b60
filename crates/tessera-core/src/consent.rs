//! Consent: which scopes a user allowed a (third-party) client, remembered per user and client.

use crate::ids::{ClientId, UserId};
use crate::scope::ScopeSet;
use time::OffsetDateTime;

/// A remembered consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The user.
    pub user_id: UserId,
    /// The client.
    pub client_id: ClientId,
    /// Every scope the user has allowed this client.
    pub scope: ScopeSet,
    /// When it was last given.
    pub granted_at: OffsetDateTime,
}

impl Consent {
    /// Whether this consent already covers `requested`.
    pub fn covers(&self, requested: &ScopeSet) -> bool {
        requested.is_subset_of(&self.scope)
    }
}
