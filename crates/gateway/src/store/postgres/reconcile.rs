//! Reconciliation findings on PostgreSQL: the shared statements and functions of `store/reconcile.rs`.

crate::store::reconcile::reconcile_queries!(sqlx::PgPool);
