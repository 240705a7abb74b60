//! Phone numbers, in E.164 form (`+` and 8 to 15 digits, the first not 0), as SMS providers
//! take them. What people type (spaces, hyphens, dots, brackets) is accepted and normalised; a
//! number without its `+country` prefix is refused, since Tessera cannot guess the country.

use std::fmt;

/// A phone number in E.164 form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a typed phone number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a phone number starts with + and its country code, then 8 to 15 digits in all (for example +44 20 7946 0958)")]
pub struct PhoneNumberError;

impl PhoneNumber {
    /// Reads a typed number.
    pub fn parse(typed: &str) -> Result<Self, PhoneNumberError> {
        let trimmed = typed.trim();
        let rest = trimmed.strip_prefix('+').ok_or(PhoneNumberError)?;
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneNumberError),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneNumberError);
        }
        Ok(Self(format!("+{digits}")))
    }

    /// Wraps a number read back from the store.
    pub fn from_stored(number: String) -> Self {
        Self(number)
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A masked form for pages ("+44•••••••58"): the country prefix and last two digits.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let shown_head = digits.len().min(2);
        let tail = &digits[digits.len() - 2..];
        format!(
            "+{}{}{tail}",
            &digits[..shown_head],
            "•".repeat(digits.len() - shown_head - 2)
        )
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_are_normalised_to_e164_or_refused() {
        for (typed, stored) in [
            ("+44 20 7946 0958", "+442079460958"),
            ("  +1 (415) 555-0132 ", "+14155550132"),
            ("+49.30.901820", "+4930901820"),
        ] {
            assert_eq!(
                PhoneNumber::parse(typed).unwrap().as_str(),
                stored,
                "{typed}"
            );
        }
        for typed in [
            "",
            "020 7946 0958",
            "+",
            "+0441234567",
            "+1234567",
            "+1234567890123456",
            "+44 20 7946 0958 ext 1",
            "+٤٤٢٠٧٩٤٦٠٩٥٨",
        ] {
            assert!(PhoneNumber::parse(typed).is_err(), "{typed:?}");
        }
    }

    #[test]
    fn numbers_are_masked_for_pages() {
        let number = PhoneNumber::parse("+44 20 7946 0958").unwrap();
        assert_eq!(number.masked(), "+44••••••••58");
    }
}
