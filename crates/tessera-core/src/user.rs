//! Users: the people who sign in.

use crate::ids::UserId;
use crate::password::PasswordHash;
use std::fmt;
use time::OffsetDateTime;

/// A normalised email address: trimmed and lower-cased, so lookups do not depend on how the user
/// typed it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an email address Tessera accepts (local@domain, at most 254 characters)")]
pub struct EmailError(pub String);

impl Email {
    /// Validates and normalises an address. Deliberately shallow: one `@`, non-empty parts, a
    /// dot-free or dotted domain without spaces or control characters. Deliverability is proved
    /// by sending mail, not by a regular expression.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        let err = || EmailError(input.to_owned());
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        let (local, domain) = email.split_once('@').ok_or_else(err)?;
        if local.is_empty()
            || local.len() > 64
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(err());
        }
        Ok(Self(email))
    }

    /// Wraps an address read back from the store.
    pub fn from_stored(email: String) -> Self {
        Self(email)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id, the `sub` claim.
    pub id: UserId,
    /// Normalised email, unique.
    pub email: Email,
    /// Display name.
    pub name: Option<String>,
    /// Roles, sorted and without duplicates.
    pub roles: Vec<String>,
    /// The argon2id hash of the password, if the user has one.
    pub password_hash: Option<PasswordHash>,
    /// Disabled users cannot sign in or obtain tokens.
    pub is_disabled: bool,
    /// Whether the user proved they receive mail at `email` (a code sent there was typed
    /// back); the `email_verified` claim.
    pub email_verified: bool,
    /// Whether the user turned on codes by email as a second factor (only with a verified
    /// address).
    pub email_codes_enabled: bool,
    /// The phone number SMS codes go to, set only once a code sent there was typed back;
    /// `None`: no SMS factor.
    pub phone_number: Option<crate::PhoneNumber>,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    pub updated_at: OffsetDateTime,
}

/// The longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a name is at most {MAX_NAME_CHARS} characters, without control characters")]
pub struct InvalidName;

/// A display name as typed by its owner, trimmed: `None` when blank (the user has no name),
/// refused when longer than [`MAX_NAME_CHARS`] or holding control characters (it ends up in
/// ID tokens and mail, where a line break could forge a header or a line).
pub fn normalise_name(input: &str) -> Result<Option<String>, InvalidName> {
    let name = input.trim();
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(InvalidName);
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// Why a role name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role {0:?} must be 1 to 64 characters of letters, digits and '-', '_', '.', ':'")]
pub struct InvalidRole(pub String);

impl User {
    /// A new, enabled account.
    pub fn new(
        email: Email,
        name: Option<String>,
        roles: Vec<String>,
        password_hash: Option<PasswordHash>,
        now: OffsetDateTime,
    ) -> Result<Self, InvalidRole> {
        Ok(Self {
            id: UserId::generate(),
            email,
            name,
            roles: normalise_roles(roles)?,
            password_hash,
            is_disabled: false,
            email_verified: false,
            email_codes_enabled: false,
            phone_number: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Validates role names and returns them sorted and de-duplicated.
pub fn normalise_roles(mut roles: Vec<String>) -> Result<Vec<String>, InvalidRole> {
    for role in &roles {
        let ok = !role.is_empty()
            && role.len() <= 64
            && role
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(&c));
        if !ok {
            return Err(InvalidRole(role.clone()));
        }
    }
    roles.sort();
    roles.dedup();
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_single_line() {
        assert_eq!(
            normalise_name("  Ada Lovelace "),
            Ok(Some("Ada Lovelace".into()))
        );
        assert_eq!(normalise_name("   "), Ok(None));
        assert_eq!(normalise_name("Ada\r\nBcc: x"), Err(InvalidName));
        assert_eq!(
            normalise_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.is_some()),
            Ok(true)
        );
        assert_eq!(
            normalise_name(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(InvalidName)
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "a b@c.d",
            "a@.c",
            "a@c..d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn roles_are_checked_sorted_and_deduplicated() {
        let roles = normalise_roles(vec!["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(roles, ["a", "b"]);
        assert!(normalise_roles(vec!["has space".into()]).is_err());
        assert!(normalise_roles(vec!["".into()]).is_err());
    }
}
