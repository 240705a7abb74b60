//! `tessera migrate`: copy a single-node SQLite database into PostgreSQL, show the progress,
//! and print the verification (row counts on both sides). The copy itself lives in the store
//! crate (`tessera_store::copy`); this is the operator's side of it.

mod progress;

use crate::cli::MigrateArgs;
use anyhow::{bail, Context};
use std::ops::ControlFlow;
use tessera_server::Config;
use tessera_store::copy::{self, CopyReport, SqliteToPostgres};

pub async fn run(config: &Config, args: MigrateArgs) -> anyhow::Result<()> {
    let source = copy::source_path(&args.from).context("--from")?;
    let target = copy::target_options(&args.to).context("--to")?;
    eprintln!(
        "copying SQLite database {} into PostgreSQL at {}",
        source.display(),
        copy::describe_target(&target)
    );
    let mut display = progress::Display::for_stderr();
    let copied = SqliteToPostgres::new(&source, target)
        .batch_size(args.batch_size)
        .run(|p| {
            display.show(p);
            ControlFlow::Continue(())
        })
        .await;
    display.finish();
    let report = copied.context("the copy did not complete (run it again to resume)")?;

    print_verification(&report);
    print_key_reminder(config);
    if !report.verified() {
        bail!(
            "verification failed: the PostgreSQL database does not match the SQLite one \
             (see the counts above); run the copy again, with the node stopped"
        );
    }
    Ok(())
}

/// The counts of every table on both sides, and whether they match.
fn print_verification(report: &CopyReport) {
    println!(
        "{:<26} {:>10} {:>10} {:>10}",
        "table", "sqlite", "postgres", "new"
    );
    for row in &report.tables {
        println!(
            "{:<26} {:>10} {:>10} {:>10}{}",
            row.table,
            row.source_rows,
            row.target_rows,
            row.inserted,
            if row.matches() { "" } else { "  MISMATCH" }
        );
    }
    println!(
        "{:<26} {:>10} {:>10} {:>10}{}",
        "revocation feed horizon",
        report.source_horizon,
        report.target_horizon,
        "-",
        if report.source_horizon == report.target_horizon {
            ""
        } else {
            "  MISMATCH"
        }
    );
    if report.verified() {
        println!("verified: every table holds as many rows in PostgreSQL as in SQLite");
    }
}

/// Signing keys were copied sealed; the nodes on PostgreSQL need the key that opens them.
fn print_key_reminder(config: &Config) {
    if config.key_encryption_key.is_some() {
        println!(
            "signing keys were copied sealed: configure every node with the same \
             key-encryption key as this one, or they cannot sign tokens"
        );
    } else {
        println!(
            "signing keys were copied sealed: copy the key-encryption key file {} to every \
             node (or configure them with the same key), or they cannot sign tokens",
            config.key_encryption_key_file().display()
        );
    }
}
