//! Embeds the schema migrations: writes `$OUT_DIR/migrations.rs` with one `(version,
//! description, SQL)` entry per file of `migrations/sqlite` and `migrations/postgres`, read by
//! `src/migrations.rs`. This does what `sqlx::migrate!` does without sqlx's proc-macro crate,
//! which would compile both database drivers a second time for the host (about a minute of
//! every clean build). Cargo reruns it when a migration is added or changed.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("migrations");
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(backend))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(
            out,
            "/// The {backend} migrations, in order.\npub(crate) const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )
        .unwrap();
        for path in files {
            // `0003_revocation_model.sql`: version 3, description "revocation model", as
            // `sqlx::migrate!` names them (the version and checksum are what a database
            // records and checks).
            let name = path.file_stem().unwrap().to_str().unwrap();
            let (version, description) = name
                .split_once('_')
                .unwrap_or_else(|| panic!("migration {name}: expected VERSION_DESCRIPTION.sql"));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("migration {name}: the version is not a number"));
            writeln!(
                out,
                "    ({version}, {:?}, include_str!({:?})),",
                description.replace('_', " "),
                path.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let out_dir = std::env::var("OUT_DIR").unwrap();
    std::fs::write(Path::new(&out_dir).join("migrations.rs"), out).unwrap();
}
