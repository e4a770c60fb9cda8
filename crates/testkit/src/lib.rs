//! Throwaway databases for tests: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database on the server named by `PUMPGUARD_TEST_PG` (dropped afterwards).
//! Tests that need PostgreSQL call [`pg_url`] and skip, saying why, when it is unset.
//! [`radius`] runs a real FreeRADIUS and eapol_test; [`nats`] a real nats-server.

#![allow(clippy::print_stderr)]

pub mod nats;
pub mod radius;

use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

/// The environment variable that names the PostgreSQL server for tests.
pub const PG_ENV: &str = "PUMPGUARD_TEST_PG";

/// `PUMPGUARD_TEST_PG`, or `None` after printing why the test skips.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipping PostgreSQL part of {test}: {PG_ENV} is not set");
            None
        }
    }
}

/// Whether the tests run as root (live capture needs it, or CAP_NET_RAW; CI runs as
/// root).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false)
}

/// A database that exists for the life of this value.
#[derive(Debug)]
pub struct TestDb {
    /// The `--db` URL of the database.
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// The directory lives as long as the database is needed.
    Sqlite(#[allow(dead_code)] tempfile::TempDir, PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    /// A new SQLite database file (not yet created: the store creates it).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("pumpguard.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: Kind::Sqlite(dir, path),
        }
    }

    /// A new, empty PostgreSQL database on the server at `admin_url`.
    pub async fn postgres(admin_url: &str) -> TestDb {
        let name = format!("pgtest_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}={admin_url}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        TestDb {
            url: replace_database(admin_url, &name),
            kind: Kind::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        }
    }

    /// Both backends: SQLite always, PostgreSQL when `PUMPGUARD_TEST_PG` is set.
    pub async fn all(test: &str) -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        if let Some(url) = pg_url(test) {
            dbs.push(TestDb::postgres(&url).await);
        }
        dbs
    }

    /// The SQLite file, for SQLite databases.
    pub fn sqlite_path(&self) -> Option<&PathBuf> {
        match &self.kind {
            Kind::Sqlite(_, p) => Some(p),
            Kind::Postgres { .. } => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// Runs raw SQL on the database behind pumpguard's back (to tamper with it).
    pub async fn execute(&self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.kind {
            Kind::Sqlite(..) => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .expect("execute")
                    .rows_affected()
            }
            Kind::Postgres { .. } => {
                let mut c = PgConnection::connect(&self.url).await.expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .expect("execute")
                    .rows_affected()
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { admin_url, name } = &self.kind {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside or outside a runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = PgConnection::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                                .execute(&mut c)
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// The same server URL with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// The third-party test data folder (`../shared/data` beside the repository), from
/// `PUMPGUARD_SHARED_DATA` or found by walking up from this crate. Tests that check
/// against it fail when it is missing: it is part of the test bed, not optional.
pub fn shared_data() -> PathBuf {
    if let Some(dir) = std::env::var_os("PUMPGUARD_SHARED_DATA") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in here.ancestors() {
        let candidate = dir.join("shared").join("data");
        if candidate.join("README.md").is_file() {
            return candidate;
        }
    }
    // Where this workplace keeps it, for checkouts made elsewhere (CI's clean clone).
    let workplace = PathBuf::from("/work/shared/data");
    if workplace.join("README.md").is_file() {
        return workplace;
    }
    panic!(
        "third-party test data not found: set PUMPGUARD_SHARED_DATA or put it at ../shared/data beside the repository"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
