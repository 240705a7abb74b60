//! The schema migrations, compiled into the binary by `build.rs` from `migrations/sqlite` and
//! `migrations/postgres`, as [`Migrator`]s.

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// A list of embedded migrations, as a source for [`Migrator::new`].
#[derive(Clone, Copy, Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    // The checksum (SHA-384 of the text) is computed here, as the macro does.
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The SQLite migrations.
pub(crate) async fn sqlite() -> Migrator {
    migrator(SQLITE).await
}

/// The PostgreSQL migrations.
pub(crate) async fn postgres() -> Migrator {
    migrator(POSTGRES).await
}

async fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    // Resolving an embedded list cannot fail.
    Migrator::new(Embedded(migrations))
        .await
        .expect("embedded migrations resolve")
}

#[cfg(test)]
mod tests {
    /// Every file in the migration directories is embedded, in version order, numbered 1, 2, …
    /// without gaps, with its text as it is on disk.
    #[tokio::test]
    async fn every_migration_file_is_embedded_in_order() {
        for (dir, migrator) in [
            ("sqlite", super::sqlite().await),
            ("postgres", super::postgres().await),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let files = std::fs::read_dir(&path).unwrap().count();
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            assert_eq!(versions, (1..=files as i64).collect::<Vec<_>>(), "{dir}");
            let first = migrator.iter().next().unwrap();
            assert_eq!(first.description, "initial");
            let text = std::fs::read_to_string(path.join("0001_initial.sql")).unwrap();
            assert_eq!(first.sql, text);
        }
    }
}
