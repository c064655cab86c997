//! One fresh database per test: a temp-file SQLite, or a uuid-named PostgreSQL database on the
//! server named by `KOOGATE_TEST_DATABASE_URL` (the approach of `store_story.rs`). Both are
//! removed on drop, also when the test panics.
//!
//! [`Snapshot`] reads every table a production call may change (instances, outbox, orders,
//! stored responses; not the nonces, which a refused call is allowed to record) so that tests can
//! prove a bad call changed nothing.

use std::io::Write;
use std::path::PathBuf;

use koogate_gateway::store::{Instance, OutboxEvent, Store};

pub const PG_ENV: &str = "KOOGATE_TEST_DATABASE_URL";

/// Which store the gateway under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `Some(self)` when this backend can run here. PostgreSQL without
    /// `KOOGATE_TEST_DATABASE_URL` prints a loud SKIPPED line (to the real stderr, which the test
    /// harness does not capture) and gives `None`.
    pub fn available(self, test: &str) -> Option<Self> {
        if self == Self::Postgres && std::env::var(PG_ENV).is_err() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test} (PostgreSQL): {PG_ENV} is not set"
            );
            return None;
        }
        Some(self)
    }
}

/// A database owned by one test; dropping it deletes it.
#[derive(Debug)]
pub enum TestDb {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database and its URL. PostgreSQL panics when the variable is set but the server
    /// is unusable, so CI cannot skip silently.
    pub async fn create(backend: Backend) -> (Self, String) {
        let name = format!("koogate_produce_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                let url = format!("sqlite://{}", path.display());
                (Self::Sqlite(path), url)
            }
            Backend::Postgres => {
                let admin_url = std::env::var(PG_ENV)
                    .unwrap_or_else(|_| panic!("{PG_ENV} must be set for a PostgreSQL test"));
                admin_execute(&admin_url, format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|err| {
                        panic!("{PG_ENV} is set but PostgreSQL is unusable: {err}")
                    });
                let url = with_database(&admin_url, &name);
                (Self::Postgres { admin_url, name }, url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Self::Postgres { admin_url, name } => {
                // Drop cannot await, and may run inside the test's runtime: use a runtime of its
                // own on a thread of its own. FORCE ends the gateway's pooled connections.
                let (admin_url, database) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(admin_execute(
                        &admin_url,
                        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                    ))
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test database {name}");
                }
            }
        }
    }
}

/// `admin_url` with its database name replaced by `database`.
fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").expect("postgres URL has a scheme");
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

async fn admin_execute(admin_url: &str, sql: String) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

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
}

impl Snapshot {
    pub async fn take(store: &dyn Store, reader: &Reader) -> Self {
        Self {
            instances: store.list_instances(100_000, 0).await.unwrap(),
            events: store.list_events(None, 100_000).await.unwrap(),
            orders: reader.orders().await,
            responses: reader.responses().await,
            usage: reader.usage().await,
        }
    }
}

#[test]
fn database_name_is_replaced_in_admin_url() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}
