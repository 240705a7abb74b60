//! OAuth scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens, order irrelevant.

use std::collections::BTreeSet;
use std::fmt;

/// Scopes any client using the sign-in flow may ask for, on top of the ones it is registered
/// for (and the ones discovery advertises).
pub const STANDARD_SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "roles"];

/// The scope that asks for the user's roles in tokens and UserInfo.
pub const ROLES_SCOPE: &str = "roles";

/// A set of scope tokens. Kept sorted so that its string form is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A token holds a character outside RFC 6749's `scope-token` grammar.
    #[error("scope token {0:?} has a character outside %x21 / %x23-5B / %x5D-7E")]
    InvalidToken(String),
    /// The scope string is longer than any legitimate request needs.
    #[error("scope is longer than {MAX_SCOPE_LEN} bytes")]
    TooLong,
}

const MAX_SCOPE_LEN: usize = 2048;

fn is_scope_char(c: u8) -> bool {
    c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c)
}

impl ScopeSet {
    /// Parses a space-delimited scope string. Runs of spaces are tolerated; an empty string is the
    /// empty set.
    pub fn parse(scope: &str) -> Result<Self, ScopeError> {
        if scope.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        let mut set = BTreeSet::new();
        for token in scope.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(ScopeError::InvalidToken(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Builds a set from individual tokens, validating each.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.as_ref();
            if token.is_empty() || !token.bytes().all(is_scope_char) {
                return Err(ScopeError::InvalidToken(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Whether every token of `self` is also in `allowed`.
    pub fn is_subset_of(&self, allowed: &ScopeSet) -> bool {
        self.0.is_subset(&allowed.0)
    }

    /// The tokens of `self` that `allowed` does not contain.
    pub fn excess_over<'a>(&'a self, allowed: &'a ScopeSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&allowed.0).map(String::as_str)
    }

    /// The tokens in both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Every token in either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).cloned().collect())
    }

    /// Whether the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, ()>) {
        let got = ScopeSet::parse(input)
            .map(|s| s.to_string())
            .map_err(|_| ());
        assert_eq!(
            got.as_deref(),
            expect.as_ref().map(|s| *s),
            "input {input:?}"
        );
    }

    #[test]
    fn parsing_follows_the_rfc_grammar() {
        check("", Ok(""));
        check("read write", Ok("read write"));
        check("write  read read", Ok("read write"));
        check("api:read urn:x/y", Ok("api:read urn:x/y"));
        check("bad\"quote", Err(()));
        check("back\\slash", Err(()));
        check("tab\there", Err(()));
        check("ünï", Err(()));
        check(&"a".repeat(3000), Err(()));
    }

    #[test]
    fn subsets_and_excess() {
        let allowed = ScopeSet::parse("read write").unwrap();
        let asked = ScopeSet::parse("read admin").unwrap();
        assert!(!asked.is_subset_of(&allowed));
        assert_eq!(asked.excess_over(&allowed).collect::<Vec<_>>(), ["admin"]);
        assert!(ScopeSet::parse("write").unwrap().is_subset_of(&allowed));
        assert!(ScopeSet::default().is_subset_of(&allowed));
        assert_eq!(asked.intersection(&allowed).to_string(), "read");
        assert_eq!(asked.union(&allowed).to_string(), "admin read write");
    }
}
