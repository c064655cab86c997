//! The databases of a run, all fresh: the gateway's, the outbox drain line's gateway's and the
//! storage ceiling's, on the same backend and the same disk. SQLite: files in the run's temporary
//! directory. PostgreSQL: three databases created on the server of `--database-url` and dropped at the end, so that a run
//! never finds the instances of an earlier one (the sandbox order ids are deterministic).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::{Connection, PgConnection};

#[derive(Debug)]
pub enum Databases {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        admin_url: String,
        gateway: String,
        drain: String,
        ceiling: String,
    },
}

/// Which `koogate serve` a database is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    /// The one the five workloads run against.
    Workloads,
    /// The one with a vendor hook, for the outbox drain line.
    Drain,
}

impl Databases {
    /// SQLite in `dir` without a URL; otherwise three new databases next to the one named.
    pub async fn create(database_url: Option<&str>, dir: &Path) -> anyhow::Result<Self> {
        let Some(admin_url) = database_url else {
            return Ok(Self::Sqlite {
                dir: dir.to_owned(),
            });
        };
        if !admin_url.starts_with("postgres://") && !admin_url.starts_with("postgresql://") {
            anyhow::bail!("--database-url must be a postgres:// URL (SQLite is the default)");
        }
        let run = uuid::Uuid::new_v4().simple().to_string();
        let this = Self::Postgres {
            admin_url: admin_url.to_owned(),
            gateway: format!("koogate_bench_{run}_gw"),
            drain: format!("koogate_bench_{run}_drain"),
            ceiling: format!("koogate_bench_{run}_ceil"),
        };
        if let Self::Postgres {
            gateway,
            drain,
            ceiling,
            ..
        } = &this
        {
            for name in [gateway, drain, ceiling] {
                admin(admin_url, &format!("CREATE DATABASE {name}")).await?;
            }
        }
        Ok(this)
    }

    /// `KOOGATE_DATABASE_URL` for a gateway; `None` keeps its default (SQLite in its data dir,
    /// which differs between the two).
    pub fn gateway_url(&self, which: Gateway) -> anyhow::Result<Option<String>> {
        match self {
            Self::Sqlite { .. } => Ok(None),
            Self::Postgres {
                admin_url,
                gateway,
                drain,
                ..
            } => {
                let name = match which {
                    Gateway::Workloads => gateway,
                    Gateway::Drain => drain,
                };
                with_database(admin_url, name).map(Some)
            }
        }
    }

    /// The database of the storage ceiling `name`, on the same backend and disk as the
    /// gateway's (SQLite: a fresh file per ceiling; PostgreSQL: one database for the one).
    pub fn ceiling_url(&self, name: &str) -> anyhow::Result<String> {
        match self {
            Self::Sqlite { dir } => {
                let dir = dir.join(name);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                Ok(format!("sqlite://{}", dir.join("koogate.db").display()))
            }
            Self::Postgres {
                admin_url, ceiling, ..
            } => with_database(admin_url, ceiling),
        }
    }

    /// Drops the PostgreSQL databases (SQLite files go with the temporary directory).
    pub async fn remove(&self) -> anyhow::Result<()> {
        if let Self::Postgres {
            admin_url,
            gateway,
            drain,
            ceiling,
        } = self
        {
            for name in [gateway, drain, ceiling] {
                admin(
                    admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await?;
            }
        }
        Ok(())
    }
}

async fn admin(url: &str, statement: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to the --database-url server")?;
    // The names are generated here (`koogate_bench_<uuid>_...`), never taken from input.
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .with_context(|| format!("running `{statement}`"))?;
    conn.close().await.ok();
    Ok(())
}

/// `url` with its database name replaced, query parameters kept.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let authority_start = url.find("://").context("a database URL needs a scheme")? + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &rest[authority_len..];
    let query = after.find('?').map_or("", |i| &after[i..]);
    Ok(format!(
        "{}{}/{name}{query}",
        &url[..authority_start],
        &rest[..authority_len]
    ))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_only_the_database_name() {
        let cases = [
            ("postgres://u@h:5432/test", "postgres://u@h:5432/x"),
            (
                "postgres://u:p@h/test?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgresql://h", "postgresql://h/x"),
            ("postgres://h?a=b", "postgres://h/x?a=b"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "x").unwrap(), expected, "{url}");
        }
    }
}
