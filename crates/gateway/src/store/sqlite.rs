//! SQLite backend (placeholder until implemented).
#[derive(Debug)]
pub struct SqliteStore;
impl SqliteStore {
    pub async fn connect(_url: &str) -> super::StoreResult<Self> {
        todo!()
    }
}
