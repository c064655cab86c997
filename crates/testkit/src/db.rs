//! One fresh database per test: a temp-file SQLite, or a uuid-named PostgreSQL database on the
//! server named by `KOOGATE_TEST_DATABASE_URL`. Both are removed on drop, also when the test
//! panics.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

/// The variable naming the PostgreSQL server the tests may create databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/test` (the database named is only connected to).
pub const PG_ENV: &str = "KOOGATE_TEST_DATABASE_URL";

/// Writes `line` to the real stderr: the test harness captures `eprintln!` (and hides it for
/// passing tests), and a skip or a leftover database must be seen.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `Some(self)` when this backend can run here. PostgreSQL without `KOOGATE_TEST_DATABASE_URL`
    /// prints a loud SKIPPED line naming `test` and gives `None`.
    pub fn available(self, test: &str) -> Option<Self> {
        match self {
            Self::Sqlite => Some(self),
            Self::Postgres => Self::admin_url(test).map(|_| self),
        }
    }

    /// The value of `KOOGATE_TEST_DATABASE_URL`, or `None` after the loud SKIPPED line, for a test
    /// that hands the server to something else (`koogate bench --database-url`).
    pub fn admin_url(test: &str) -> Option<String> {
        let url = std::env::var(PG_ENV).ok();
        if url.is_none() {
            say(&format!(
                "SKIPPED: {test} (PostgreSQL): {PG_ENV} is not set"
            ));
        }
        url
    }
}

/// A database owned by one test; dropping it deletes it.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database. PostgreSQL panics when `KOOGATE_TEST_DATABASE_URL` is unset (ask
    /// [`Backend::available`] first) or set but unusable, so CI cannot skip silently.
    pub async fn create(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("koogate-test-{id}.db"));
                Self {
                    url: format!("sqlite://{}", path.display()),
                    place: Place::Sqlite(path),
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(PG_ENV)
                    .unwrap_or_else(|_| panic!("{PG_ENV} must be set for a PostgreSQL test"));
                let name = format!("koogate_test_{id}");
                admin_execute(&admin_url, format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|err| {
                        panic!("{PG_ENV} is set but PostgreSQL is unusable: {err}")
                    });
                Self {
                    url: with_database(&admin_url, &name),
                    place: Place::Postgres { admin_url, name },
                }
            }
        }
    }

    /// [`TestDb::create`] for a test outside any async runtime.
    pub fn create_blocking(backend: Backend) -> Self {
        match std::thread::spawn(move || own_runtime().block_on(Self::create(backend))).join() {
            Ok(db) => db,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// `sqlite://...` or `postgres://...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path of the SQLite file (`None` on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.place {
            Place::Sqlite(path) => Some(path),
            Place::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.place {
            Place::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Place::Postgres { admin_url, name } => {
                // Drop cannot await, and may run inside the test's runtime: use a runtime of its
                // own on a thread of its own. FORCE ends the connections still open.
                let (admin_url, database) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    own_runtime().block_on(admin_execute(
                        &admin_url,
                        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                    ))
                })
                .join();
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => say(&format!(
                        "warning: could not drop test database {name}: {err}"
                    )),
                    Err(_) => say(&format!("warning: could not drop test database {name}")),
                }
            }
        }
    }
}

fn own_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `story` with the URL of a fresh database on `backend` (nothing, after the SKIPPED line,
/// when PostgreSQL is not configured), on a task of its own so that a failing assertion still
/// reaches the clean-up; the story's panic is raised again after.
pub async fn on_fresh_database<F, Fut>(backend: Backend, test: &str, story: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(backend) = backend.available(test) else {
        return;
    };
    let db = TestDb::create(backend).await;
    let outcome = tokio::spawn(story(db.url().to_owned())).await;
    drop(db);
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// `admin_url` with its database name replaced by `database`, query parameters kept.
pub fn with_database(admin_url: &str, database: &str) -> String {
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

/// Runs one administrative statement (`CREATE DATABASE`, `DROP DATABASE`) on its own connection.
/// The statement is built by the tests from generated names, never from input.
pub async fn admin_execute(admin_url: &str, sql: String) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

#[cfg(test)]
mod tests {
    use super::with_database;

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
        assert_eq!(
            with_database("postgresql://h:5432", "x"),
            "postgresql://h:5432/x"
        );
    }
}
