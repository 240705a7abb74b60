//! The check that the copy knows every table and column of both databases, so that a schema
//! change it has not been taught about makes it refuse instead of leaving data behind.

use super::tables::{FEED_TABLE, TABLES};
use crate::{StoreError, StoreResult};
use std::collections::{BTreeMap, BTreeSet};

/// Tables and their columns.
pub(crate) type Columns = BTreeMap<String, BTreeSet<String>>;

/// The tables and columns the copy expects on both sides.
pub(crate) fn expected() -> Columns {
    let mut tables: Columns = TABLES
        .iter()
        .map(|table| {
            let columns = table.columns.iter().map(|(c, _)| (*c).to_owned()).collect();
            (table.name.to_owned(), columns)
        })
        .collect();
    tables.insert(
        FEED_TABLE.to_owned(),
        ["id", "horizon"].iter().map(|c| (*c).to_owned()).collect(),
    );
    tables
}

/// Refuses if `actual` (the `side` database's tables and columns) is not what the copy expects.
pub(crate) fn check(side: &str, actual: &Columns) -> StoreResult<()> {
    let expected = expected();
    let mut problems = Vec::new();
    for (table, columns) in actual {
        match expected.get(table) {
            None => problems.push(format!("table {table} is unknown to the copy")),
            Some(known) => {
                for column in columns.difference(known) {
                    problems.push(format!("column {table}.{column} is unknown to the copy"));
                }
                for column in known.difference(columns) {
                    problems.push(format!("column {table}.{column} is missing"));
                }
            }
        }
    }
    for table in expected.keys().filter(|t| !actual.contains_key(*t)) {
        problems.push(format!("table {table} is missing"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "the {side} schema is not the one this copy was written for ({}); \
             this tessera cannot copy it",
            problems.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_difference_is_named() {
        let mut actual = expected();
        assert!(check("source", &actual).is_ok());
        actual.get_mut("users").unwrap().insert("nickname".into());
        actual.get_mut("clients").unwrap().remove("name");
        actual.remove("consents");
        actual.insert("webauthn".into(), BTreeSet::new());
        let err = check("source", &actual).unwrap_err().to_string();
        for part in [
            "the source schema",
            "column users.nickname is unknown",
            "column clients.name is missing",
            "table consents is missing",
            "table webauthn is unknown",
        ] {
            assert!(err.contains(part), "{part}: {err}");
        }
    }
}
