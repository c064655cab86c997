//! Reconciliation findings on SQLite: the shared statements and functions of `store/reconcile.rs`.

crate::store::reconcile::reconcile_queries!(sqlx::SqlitePool);
