//! License codes on SQLite: the shared reads of `store/license_code.rs`.

crate::store::license_code::license_code_queries!(sqlx::SqlitePool);
