//! PostgreSQL backend (placeholder until implemented).
#[derive(Debug)]
pub struct PostgresStore;
impl PostgresStore {
    pub async fn connect(_url: &str) -> super::StoreResult<Self> {
        todo!()
    }
}
