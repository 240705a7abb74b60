//! Copying a single-node SQLite deployment into PostgreSQL (`tessera migrate`).
//!
//! The copy reads the SQLite file read-only, inside one snapshot, and writes the PostgreSQL
//! database (migrated as every node would) table by table, parents first, in batches. Each batch
//! is one target transaction whose inserts skip rows already present, so an interrupted copy
//! is resumed by running it again: it fills in what is missing and never duplicates a row.
//! Feed cursors and audit and delivery ids keep their values, and the target's sequences are
//! moved past them so that new rows on PostgreSQL continue where SQLite stopped.
//!
//! It refuses, before writing anything, a source whose schema is not exactly this binary's
//! (it never migrates its source) and a target holding rows the source does not have. At the
//! end it counts every table on both sides ([`CopyReport::verified`]).
//!
//! Signing keys are copied sealed, as stored; the key-encryption key that opens them is not in
//! the database, and the operator copies it to every node.

mod report;
mod schema;
mod source;
mod tables;
mod target;
mod value;

pub use report::{CopyReport, Progress, TableCount};

use crate::postgres::PgConnectOptions;
use crate::{DatabaseUrl, StoreError, StoreResult};
use source::Source;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use tables::TABLES;
use target::Target;

/// How many rows one batch (one target transaction) carries by default.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// The SQLite file a source URL names (`sqlite://PATH` or `sqlite:PATH`).
/// [`StoreError::InvalidUrl`] for any other URL, without echoing it.
pub fn source_path(url: &str) -> StoreResult<PathBuf> {
    match crate::parse_url(url)? {
        DatabaseUrl::Sqlite(path) => Ok(path),
        DatabaseUrl::Postgres(_) => Err(StoreError::InvalidUrl(
            "the source of the copy must be a sqlite:// URL".into(),
        )),
    }
}

/// The PostgreSQL database a target URL names (`postgres://…` or `postgresql://…`).
/// [`StoreError::InvalidUrl`] for any other URL, without echoing it or its password.
pub fn target_options(url: &str) -> StoreResult<PgConnectOptions> {
    match crate::parse_url(url)? {
        DatabaseUrl::Postgres(url) => crate::postgres::connect::parse_url(url),
        DatabaseUrl::Sqlite(_) => Err(StoreError::InvalidUrl(
            "the target of the copy must be a postgres:// URL".into(),
        )),
    }
}

/// Where `target` points (host and port, database, user), for messages; never the password.
pub fn describe_target(target: &PgConnectOptions) -> String {
    crate::postgres::connect::describe(target)
}

/// Copies the SQLite database at `source` into the PostgreSQL database `target` names, in
/// batches of [`DEFAULT_BATCH_SIZE`] rows, calling `progress` as it goes. See
/// [`SqliteToPostgres::run`].
pub async fn copy_sqlite_to_postgres(
    source: &Path,
    target: PgConnectOptions,
    progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> StoreResult<CopyReport> {
    SqliteToPostgres::new(source, target).run(progress).await
}

/// A copy from SQLite to PostgreSQL, with its settings.
#[derive(Debug)]
pub struct SqliteToPostgres {
    source: PathBuf,
    target: PgConnectOptions,
    batch_size: usize,
}

impl SqliteToPostgres {
    /// A copy of the SQLite file at `source` into the database `target` names.
    pub fn new(source: &Path, target: PgConnectOptions) -> Self {
        Self {
            source: source.to_owned(),
            target,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// Rows per batch (at least 1; PostgreSQL's limit on parameters per statement may lower
    /// it for wide tables).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// Runs the copy and verifies it.
    ///
    /// `progress` is called when each table starts and after each batch is committed; returning
    /// [`ControlFlow::Break`] stops the copy there (the report says so), as an interruption
    /// would. Fails, having written nothing, with [`StoreError::Unavailable`] if the source
    /// does not exist or either database cannot be opened, [`StoreError::SchemaTooOld`] or
    /// [`StoreError::SchemaTooNew`] if the source's schema is not this binary's,
    /// [`StoreError::Conflict`] if the target holds rows the source does not have, and
    /// [`StoreError::Backend`] if a schema is not the one the copy knows. No message contains
    /// the target's password.
    pub async fn run(
        self,
        mut progress: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> StoreResult<CopyReport> {
        let mut source = Source::open(&self.source).await?;
        let target = match Target::open(self.target).await {
            Ok(target) => target,
            Err(e) => {
                source.close().await;
                return Err(e);
            }
        };
        let result = copy(&mut source, &target, self.batch_size, &mut progress).await;
        source.close().await;
        target.close().await;
        result
    }
}

async fn copy(
    source: &mut Source,
    target: &Target,
    batch_size: usize,
    progress: &mut impl FnMut(&Progress) -> ControlFlow<()>,
) -> StoreResult<CopyReport> {
    schema::check("source", &source.columns().await?)?;
    schema::check("target", &target.columns().await?)?;
    refuse_foreign_rows(source, target, batch_size).await?;

    let mut inserted = Vec::with_capacity(TABLES.len());
    let mut stopped = false;
    for table in TABLES {
        let (rows, stop) = copy_table(source, target, table, batch_size, progress).await?;
        inserted.push(rows);
        if stop {
            stopped = true;
            break;
        }
        target
            .move_sequence_past(table, source.highest_identity(table).await?)
            .await?;
    }
    if !stopped {
        target.raise_horizon(source.horizon().await?).await?;
    }

    let mut tables = Vec::with_capacity(TABLES.len());
    for (i, table) in TABLES.iter().enumerate() {
        tables.push(TableCount {
            table: table.name,
            source_rows: source.count(table).await?,
            target_rows: target.count(table.name).await?,
            inserted: inserted.get(i).copied().unwrap_or(0),
        });
    }
    Ok(CopyReport {
        tables,
        source_horizon: source.horizon().await?,
        target_horizon: target.horizon().await?,
        stopped,
    })
}

/// Refuses a target holding rows (in any table) that the source does not have.
async fn refuse_foreign_rows(
    source: &mut Source,
    target: &Target,
    batch_size: usize,
) -> StoreResult<()> {
    let mut foreign = Vec::new();
    for table in TABLES {
        let missing = target.rows_missing_from(source, table, batch_size).await?;
        if missing > 0 {
            foreign.push(format!("{} ({missing})", table.name));
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "the target database at {} already holds data that is not in the source: rows the \
         source does not have in {}; copy into an empty database, or into one only an earlier \
         run of this copy from this same source wrote to",
        target.describe(),
        foreign.join(", ")
    )))
}

/// Copies one table; returns the rows inserted and whether the callback asked to stop.
async fn copy_table(
    source: &mut Source,
    target: &Target,
    table: &'static tables::Table,
    batch_size: usize,
    progress: &mut impl FnMut(&Progress) -> ControlFlow<()>,
) -> StoreResult<(u64, bool)> {
    let batch_size = Target::rows_per_insert(table, batch_size);
    let mut state = Progress {
        table: table.name,
        done: 0,
        total: source.count(table).await?,
        inserted: 0,
    };
    if progress(&state).is_break() {
        return Ok((0, true));
    }
    let key_positions: Vec<usize> = table
        .key
        .iter()
        .map(|k| {
            table
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key columns are columns")
        })
        .collect();
    let mut after = None;
    loop {
        let rows = source.batch(table, after.as_ref(), batch_size).await?;
        if rows.is_empty() {
            return Ok((state.inserted, false));
        }
        state.inserted += target.insert(table, &rows).await?;
        state.done += rows.len() as u64;
        // The total was counted in the same snapshot, so `done` cannot pass it.
        if progress(&state).is_break() {
            return Ok((state.inserted, true));
        }
        if rows.len() < batch_size {
            return Ok((state.inserted, false));
        }
        let last = rows.last().expect("the batch is not empty");
        after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
    }
}
