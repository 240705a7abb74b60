//! PostgreSQL for the copy tests: a schema of its own per test (tessera-pgtest) and the store
//! on it, as a node would open it.

use tessera_store::postgres::PostgresStore;

pub use tessera_pgtest::Schema;

/// The store on `schema`.
pub async fn open(schema: &Schema) -> PostgresStore {
    PostgresStore::connect_with(schema.options()).await.unwrap()
}
