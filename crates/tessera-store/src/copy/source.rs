//! The SQLite side of the copy: the file, opened read-only, its schema version checked against
//! this binary's migrations (never migrated), and every read made inside one read transaction,
//! so that the copy sees one consistent snapshot even if a node still writes to the file.

use super::tables::{Table, FEED_TABLE};
use super::value::{Value, Values};
use crate::sqlite::convert::db_err;
use crate::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a read waits for a writer's lock (a node still running on the file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The source database, read inside one snapshot.
pub(crate) struct Source {
    pool: SqlitePool,
    tx: Transaction<'static, Sqlite>,
    path: PathBuf,
}

impl Source {
    /// Opens the file read-only and checks that its schema is exactly this binary's.
    pub(crate) async fn open(path: &Path) -> StoreResult<Self> {
        if !path.is_file() {
            return Err(StoreError::Unavailable(format!(
                "the source SQLite database {} does not exist",
                path.display()
            )));
        }
        // Read-only: the copy must never change its source, not even by migrating it (an
        // operator may still want to go back to it).
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot open the source SQLite database {}: {}",
                    path.display(),
                    db_err(e)
                ))
            })?;
        let tx = pool.begin().await.map_err(db_err)?;
        let mut source = Self {
            pool,
            tx,
            path: path.to_owned(),
        };
        if let Err(e) = source.check_migrations().await {
            source.close().await;
            return Err(e);
        }
        Ok(source)
    }

    /// Refuses a file that is not a Tessera database, or whose applied migrations differ from
    /// the ones this binary carries. Running them here would write to the source; an operator
    /// upgrades the file by starting `tessera serve` on it once.
    async fn check_migrations(&mut self) -> StoreResult<()> {
        let path = self.path.display().to_string();
        let has_table: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot read the source SQLite database {path}: {}",
                db_err(e)
            ))
        })?;
        if has_table.is_none() {
            return Err(StoreError::Backend(format!(
                "{path} is not a Tessera database (it has no migration history)"
            )));
        }
        let applied: Vec<(i64, bool, Vec<u8>)> = sqlx::query_as(
            "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_err)?;
        // The copy compares the source file's applied migrations with this binary's.
        let migrator = crate::migrations::sqlite().await;
        let known: BTreeMap<i64, &[u8]> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, &*m.checksum))
            .collect();
        if let Some((version, ..)) = applied.iter().find(|(v, ..)| !known.contains_key(v)) {
            return Err(StoreError::SchemaTooNew(format!(
                "the source database {path} was migrated by a newer version of tessera \
                 (migration {version}); run `tessera migrate` from that version"
            )));
        }
        if let Some((version, ..)) = applied.iter().find(|(_, success, _)| !success) {
            return Err(StoreError::SchemaTooOld(format!(
                "migration {version} of the source database {path} did not finish; open it \
                 with `tessera serve` once to upgrade it, then run the copy again"
            )));
        }
        if let Some((version, ..)) = applied
            .iter()
            .find(|(v, _, checksum)| known.get(v).is_some_and(|k| *k != checksum.as_slice()))
        {
            return Err(StoreError::Backend(format!(
                "migration {version} of the source database {path} differs from this \
                 tessera's; it was not made by a released tessera"
            )));
        }
        let applied: BTreeSet<i64> = applied.iter().map(|(v, ..)| *v).collect();
        if let Some(missing) = known.keys().find(|v| !applied.contains(v)) {
            return Err(StoreError::SchemaTooOld(format!(
                "the source database {path} has an older schema than this tessera (migration \
                 {missing} is not applied); the copy does not migrate its source: open it with \
                 `tessera serve` once to upgrade, then run the copy again"
            )));
        }
        Ok(())
    }

    /// Every table and its columns, for the schema check.
    pub(crate) async fn columns(&mut self) -> StoreResult<BTreeMap<String, BTreeSet<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_err)?;
        let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in rows {
            tables.entry(table).or_default().insert(column);
        }
        Ok(tables)
    }

    /// How many rows `table` has.
    pub(crate) async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", table.name))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(n.unsigned_abs())
    }

    /// Up to `limit` rows of `table` whose key comes after `after` (from the first row when
    /// `None`), in key order. Paging by key rather than by offset keeps each read cheap however
    /// far into a large table the copy is.
    pub(crate) async fn batch(
        &mut self,
        table: &Table,
        after: Option<&Values>,
        limit: usize,
    ) -> StoreResult<Vec<Values>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {} FROM {}",
            table.column_list(),
            table.name
        ));
        if let Some(after) = after {
            query.push(format!(" WHERE ({}) > (", table.key_list()));
            let mut values = query.separated(", ");
            for value in after {
                push_value(&mut values, value);
            }
            query.push(")");
        }
        query.push(format!(" ORDER BY {} LIMIT ", table.key_list()));
        query.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = query
            .build()
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (name, kind))| Value::from_sqlite(row, i, *kind, name))
                    .collect()
            })
            .collect()
    }

    /// How many of `keys` (values of `table`'s key columns) exist in `table`.
    pub(crate) async fn count_present(
        &mut self,
        table: &Table,
        keys: &[Values],
    ) -> StoreResult<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT count(*) FROM {} WHERE ({}) IN (",
            table.name,
            table.key_list()
        ));
        query.push_values(keys, |mut row, key| {
            for value in key {
                push_value(&mut row, value);
            }
        });
        query.push(")");
        let n: i64 = query
            .build_query_scalar()
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(n.unsigned_abs())
    }

    /// The highest value `table`'s identity column ever had: SQLite's AUTOINCREMENT remembers
    /// it (in `sqlite_sequence`) even after the newest rows were deleted, and PostgreSQL must
    /// not hand out such a value again.
    pub(crate) async fn highest_identity(&mut self, table: &Table) -> StoreResult<i64> {
        let Some(column) = table.identity else {
            return Ok(0);
        };
        let remembered: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
                .bind(table.name)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(db_err)?;
        let stored: Option<i64> =
            sqlx::query_scalar(&format!("SELECT max({column}) FROM {}", table.name))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(remembered.unwrap_or(0).max(stored.unwrap_or(0)))
    }

    /// The feed horizon: the highest cursor ever swept.
    pub(crate) async fn horizon(&mut self) -> StoreResult<i64> {
        sqlx::query_scalar(&format!("SELECT horizon FROM {FEED_TABLE} WHERE id = 1"))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)
    }

    /// Ends the snapshot (a read-only transaction: nothing to commit) and closes the file.
    pub(crate) async fn close(self) {
        let _ = self.tx.rollback().await;
        self.pool.close().await;
    }
}

/// Binds one value as the next of a separated list.
fn push_value<'a>(
    values: &mut sqlx::query_builder::Separated<'_, 'a, Sqlite, &'static str>,
    value: &'a Value,
) {
    match value {
        Value::Text(v) => values.push_bind(v.as_deref()),
        Value::Int(v) => values.push_bind(*v),
        Value::Bool(v) => values.push_bind(*v),
        Value::Blob(v) => values.push_bind(v.as_deref()),
    };
}
