//! What the copy tells its caller: progress while it runs, and per-table counts at the end.

/// Where the copy of one table stands; handed to the progress callback when a table starts
/// (`done == 0`) and after every batch committed to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The table being copied.
    pub table: &'static str,
    /// Source rows handled so far (written now, or found already in the target).
    pub done: u64,
    /// Source rows in the table.
    pub total: u64,
    /// Of `done`, how many this run wrote (the rest were there from an earlier run).
    pub inserted: u64,
}

/// The counts of one table after the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows in the target, counted after the copy.
    pub target_rows: u64,
    /// Rows this run wrote to the target.
    pub inserted: u64,
}

impl TableCount {
    /// Whether the target holds as many rows as the source.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows
    }
}

/// What a copy did, and the verification of its result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// Every table, in the order they were copied, with both sides' counts.
    pub tables: Vec<TableCount>,
    /// The revocation feed's horizon (the highest cursor ever swept) in the source.
    pub source_horizon: i64,
    /// The feed horizon in the target after the copy.
    pub target_horizon: i64,
    /// Whether the progress callback stopped the copy before it finished; the target then
    /// holds part of the data, and running the copy again completes it.
    pub stopped: bool,
}

impl CopyReport {
    /// Whether the copy ran to the end and the target matches the source: every table has as
    /// many rows on both sides, and the feed horizons agree.
    pub fn verified(&self) -> bool {
        !self.stopped
            && self.source_horizon == self.target_horizon
            && self.tables.iter().all(TableCount::matches)
    }
}
