//! The PostgreSQL side of the copy: opened as the store always is (so its migrations run), then
//! written row by row, bypassing the contract, with inserts that skip rows already there so that
//! a second run fills in what a first one left out.

use super::source::Source;
use super::tables::{Table, FEED_TABLE};
use super::value::{Value, Values};
use crate::postgres::convert::db_err;
use crate::postgres::{PgConnectOptions, PostgresStore};
use crate::StoreResult;
use sqlx::{Postgres, QueryBuilder};
use std::collections::{BTreeMap, BTreeSet};

/// PostgreSQL takes at most this many bind parameters in one statement.
const MAX_PARAMETERS: usize = 65_535;

/// The target database.
pub(crate) struct Target {
    store: PostgresStore,
}

impl Target {
    /// Opens the target as every node does, applying its migrations.
    pub(crate) async fn open(options: PgConnectOptions) -> StoreResult<Self> {
        Ok(Self {
            store: PostgresStore::connect_with(options).await?,
        })
    }

    /// Where the target is (host, port, database, user; never the password).
    pub(crate) fn describe(&self) -> &str {
        self.store.target()
    }

    /// Every table of the store's schema (the first on the search path) and its columns, for
    /// the schema check.
    pub(crate) async fn columns(&self) -> StoreResult<BTreeMap<String, BTreeSet<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(self.store.pool())
        .await
        .map_err(db_err)?;
        let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in rows {
            tables.entry(table).or_default().insert(column);
        }
        Ok(tables)
    }

    /// How many rows of `table` in the target are not in the source, compared by key, reading
    /// the target `batch` keys at a time.
    ///
    /// Rows the source has are what an earlier, interrupted run of the copy wrote; anything
    /// else came from somewhere else (or the source lost it since), and copying on top of it
    /// would mix two installations.
    pub(crate) async fn rows_missing_from(
        &self,
        source: &mut Source,
        table: &Table,
        batch: usize,
    ) -> StoreResult<u64> {
        let keys = table.key_list();
        let mut missing = 0;
        let mut after: Option<Values> = None;
        loop {
            let mut query =
                QueryBuilder::<Postgres>::new(format!("SELECT {keys} FROM {}", table.name));
            if let Some(after) = &after {
                query.push(format!(" WHERE ({keys}) > ("));
                let mut values = query.separated(", ");
                for value in after {
                    push_value(&mut values, value);
                }
                query.push(")");
            }
            query.push(format!(" ORDER BY {keys} LIMIT "));
            query.push_bind(i64::try_from(batch).unwrap_or(i64::MAX));
            let rows = query
                .build()
                .fetch_all(self.store.pool())
                .await
                .map_err(db_err)?;
            let page: Vec<Values> = rows
                .iter()
                .map(|row| {
                    table
                        .key
                        .iter()
                        .enumerate()
                        .map(|(i, name)| Value::from_postgres(row, i, table.kind_of(name), name))
                        .collect()
                })
                .collect::<StoreResult<_>>()?;
            let present = source.count_present(table, &page).await?;
            missing += page.len() as u64 - present.min(page.len() as u64);
            if page.len() < batch {
                return Ok(missing);
            }
            after = page.into_iter().last();
        }
    }

    /// The most rows of `table` one insert may carry.
    pub(crate) fn rows_per_insert(table: &Table, wanted: usize) -> usize {
        wanted.clamp(1, MAX_PARAMETERS / table.columns.len())
    }

    /// Inserts `rows` into `table` in one transaction, skipping any that is there already (by
    /// any unique key); returns how many were new.
    pub(crate) async fn insert(&self, table: &Table, rows: &[Values]) -> StoreResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        // Identity columns are GENERATED ALWAYS: keeping the source's feed cursors and ids
        // (readers hold them) needs the override.
        let overriding = if table.identity.is_some() {
            " OVERRIDING SYSTEM VALUE "
        } else {
            " "
        };
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO {} ({}){overriding}",
            table.name,
            table.column_list()
        ));
        query.push_values(rows, |mut tuple, row| {
            for value in row {
                push_value(&mut tuple, value);
            }
        });
        query.push(" ON CONFLICT DO NOTHING");
        let mut tx = self.store.pool().begin().await.map_err(db_err)?;
        let inserted = query
            .build()
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(inserted)
    }

    /// Moves the sequence behind `table`'s identity column so that the next value it hands out
    /// is above `highest` and above every value stored, and never moves it back.
    pub(crate) async fn move_sequence_past(&self, table: &Table, highest: i64) -> StoreResult<()> {
        let Some(column) = table.identity else {
            return Ok(());
        };
        let stored: Option<i64> =
            sqlx::query_scalar(&format!("SELECT max({column}) FROM {}", table.name))
                .fetch_one(self.store.pool())
                .await
                .map_err(db_err)?;
        let highest = highest.max(stored.unwrap_or(0));
        if highest < 1 {
            // Nothing was ever handed out; the sequence starts at 1 as it is.
            return Ok(());
        }
        sqlx::query(
            "SELECT setval(s, greatest($1, coalesce(pg_sequence_last_value(s), 0))) \
             FROM (SELECT pg_get_serial_sequence($2, $3)::regclass AS s) AS q",
        )
        .bind(highest)
        .bind(table.name)
        .bind(column)
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// How many rows `table` has.
    pub(crate) async fn count(&self, table: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(self.store.pool())
            .await
            .map_err(db_err)?;
        Ok(n.unsigned_abs())
    }

    /// The feed horizon.
    pub(crate) async fn horizon(&self) -> StoreResult<i64> {
        sqlx::query_scalar(&format!("SELECT horizon FROM {FEED_TABLE} WHERE id = 1"))
            .fetch_one(self.store.pool())
            .await
            .map_err(db_err)
    }

    /// Raises the feed horizon to `horizon` (never lowers it): feed readers behind the entries
    /// the source swept must still be told to resync.
    pub(crate) async fn raise_horizon(&self, horizon: i64) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE {FEED_TABLE} SET horizon = greatest(horizon, $1) WHERE id = 1"
        ))
        .bind(horizon)
        .execute(self.store.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Closes the pool.
    pub(crate) async fn close(self) {
        self.store.close().await;
    }
}

/// Binds one value as the next of a separated list.
fn push_value<'a>(
    values: &mut sqlx::query_builder::Separated<'_, 'a, Postgres, &'static str>,
    value: &'a Value,
) {
    match value {
        Value::Text(v) => values.push_bind(v.as_deref()),
        Value::Int(v) => values.push_bind(*v),
        Value::Bool(v) => values.push_bind(*v),
        Value::Blob(v) => values.push_bind(v.as_deref()),
    };
}
