//! A look at the whole database of a test's gateway (the database itself is `koogate_testkit`'s
//! `TestDb`).
//!
//! [`Snapshot`] reads every table a production call may change (instances, outbox, orders,
//! stored responses; not the nonces, which a refused call is allowed to record) so that tests can
//! prove a bad call changed nothing.

use koogate_gateway::store::{Instance, LicenseCode, OutboxEvent, Store};

/// A second, read-only view of the gateway's database for the tables the `Store` trait cannot
/// list (orders and stored responses).
#[derive(Debug, Clone)]
pub enum Reader {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

type OrderRow = (String, String, String, String, i64);
type ResponseRow = (String, Vec<u8>, i64);

const ORDERS: &str = "SELECT order_id, order_line_id, order_type, raw, fetched_at_ms FROM orders \
                      ORDER BY order_id, order_line_id";
const RESPONSES: &str = "SELECT key, body, created_at_ms FROM responses ORDER BY key";
/// The metering and Kit tables, as (what, row as text): enough to see any write.
const USAGE: &str = "SELECT 'event', event_id || '|' || instance_id || '|' || value_e4 || '|' || \
                     COALESCE(window_id, -1) FROM usage_events \
                     UNION ALL SELECT 'window', metering_sn || '|' || instance_id || '|' || \
                     value_e4 || '|' || status || '|' || attempts FROM usage_windows \
                     UNION ALL SELECT 'kit', kind || '|' || instance_id || '|' || tenant_id || '|' || \
                     app_id || '|' || item || '|' || data || '|' || deleted FROM kit_records \
                     ORDER BY 1, 2";

impl Reader {
    pub async fn connect(url: &str) -> Self {
        if url.starts_with("postgres") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap();
            Self::Postgres(pool)
        } else {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap();
            Self::Sqlite(pool)
        }
    }

    async fn orders(&self) -> Vec<OrderRow> {
        match self {
            Self::Sqlite(pool) => sqlx::query_as(ORDERS).fetch_all(pool).await,
            Self::Postgres(pool) => sqlx::query_as(ORDERS).fetch_all(pool).await,
        }
        .unwrap()
    }

    async fn responses(&self) -> Vec<ResponseRow> {
        match self {
            Self::Sqlite(pool) => sqlx::query_as(RESPONSES).fetch_all(pool).await,
            Self::Postgres(pool) => sqlx::query_as(RESPONSES).fetch_all(pool).await,
        }
        .unwrap()
    }

    async fn usage(&self) -> Vec<(String, String)> {
        match self {
            Self::Sqlite(pool) => sqlx::query_as(USAGE).fetch_all(pool).await,
            Self::Postgres(pool) => sqlx::query_as(USAGE).fetch_all(pool).await,
        }
        .unwrap()
    }

    /// Runs a statement that changes the database, which nothing else here does.
    pub async fn execute(&self, sql: &'static str) {
        match self {
            Self::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Self::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap();
    }

    /// Every stored response key.
    pub async fn response_keys(&self) -> Vec<String> {
        self.responses().await.into_iter().map(|r| r.0).collect()
    }
}

/// Everything a production call may change, read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub instances: Vec<Instance>,
    pub events: Vec<OutboxEvent>,
    pub orders: Vec<(String, String, String, String, i64)>,
    pub responses: Vec<(String, Vec<u8>, i64)>,
    pub usage: Vec<(String, String)>,
    pub license_codes: Vec<LicenseCode>,
}

impl Snapshot {
    pub async fn take(store: &dyn Store, reader: &Reader) -> Self {
        Self {
            instances: store.list_instances(100_000, 0).await.unwrap(),
            events: store.list_events(None, 100_000).await.unwrap(),
            orders: reader.orders().await,
            responses: reader.responses().await,
            usage: reader.usage().await,
            license_codes: store.list_license_codes(None, 100_000).await.unwrap(),
        }
    }
}
