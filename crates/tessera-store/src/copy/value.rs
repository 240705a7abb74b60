//! One column's value on its way from SQLite to PostgreSQL, typed by the column's [`Kind`].

use super::tables::Kind;
use crate::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// A value read from one side, ready to be bound on the other. `None` is SQL NULL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Blob(Option<Vec<u8>>),
}

/// One row: the values of a table's columns, in the table's column order.
pub(crate) type Values = Vec<Value>;

impl Value {
    /// Reads column `index` of a SQLite row as a value of `kind`.
    pub(crate) fn from_sqlite(
        row: &SqliteRow,
        index: usize,
        kind: Kind,
        column: &str,
    ) -> StoreResult<Self> {
        let bad = |e: sqlx::Error| {
            StoreError::Backend(format!("cannot read column {column} from SQLite: {e}"))
        };
        Ok(match kind {
            Kind::Text => Self::Text(row.try_get(index).map_err(bad)?),
            Kind::Int => Self::Int(row.try_get(index).map_err(bad)?),
            Kind::Blob => Self::Blob(row.try_get(index).map_err(bad)?),
            // SQLite keeps flags as 0/1 (its CHECK constraints say so); anything else would be
            // a damaged file, and guessing its meaning could turn a disabled user enabled.
            Kind::Bool => match row.try_get::<Option<i64>, _>(index).map_err(bad)? {
                None => Self::Bool(None),
                Some(0) => Self::Bool(Some(false)),
                Some(1) => Self::Bool(Some(true)),
                Some(other) => {
                    return Err(StoreError::Backend(format!(
                        "column {column} holds {other} where SQLite should hold 0 or 1"
                    )))
                }
            },
        })
    }

    /// Reads column `index` of a PostgreSQL row as a value of `kind` (only key columns are read
    /// back from the target, which are text or integers).
    pub(crate) fn from_postgres(
        row: &PgRow,
        index: usize,
        kind: Kind,
        column: &str,
    ) -> StoreResult<Self> {
        let bad = |e: sqlx::Error| {
            StoreError::Backend(format!("cannot read column {column} from PostgreSQL: {e}"))
        };
        Ok(match kind {
            Kind::Text => Self::Text(row.try_get(index).map_err(bad)?),
            Kind::Int => Self::Int(row.try_get(index).map_err(bad)?),
            Kind::Bool => Self::Bool(row.try_get(index).map_err(bad)?),
            Kind::Blob => Self::Blob(row.try_get(index).map_err(bad)?),
        })
    }
}
