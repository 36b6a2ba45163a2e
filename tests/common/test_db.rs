//! A fresh, private database for each integration test, so tests can run in parallel.
//!
//! - [`TestDb::sqlite`]: a database file in its own temporary directory (a real file, not
//!   `:memory:`, so several connections, and a "restart" that reconnects to the same file, see
//!   the same data). The directory is deleted when the `TestDb` is dropped.
//! - [`TestDb::postgres`]: only when `TEST_DATABASE_URL` is set (for example
//!   `postgres://postgres@127.0.0.1:5432/test`). It connects there, creates a uniquely named
//!   database, and hands out that database's URL; dropping the `TestDb` drops the database
//!   (`WITH (FORCE)`, so connections a test left open do not stop it).
//! - [`TestDb::all`]: SQLite always, plus PostgreSQL when configured. Tests that must hold on
//!   every backend loop over it.
//!
//! The helper never migrates: a test calls `commons_nostr::store::db::connect(&test_db.url)` and
//! `commons_nostr::store::db::migrate`, exactly as the service does.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;

/// The environment variable naming a PostgreSQL server (any database on it) for tests.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// One test's own database. Keep it alive as long as the test uses the database.
pub struct TestDb {
    /// The URL to give `commons_nostr::store::db::connect`.
    pub url: String,
    backend: &'static str,
    /// Holds the SQLite file's directory; deleted on drop.
    _dir: Option<TempDir>,
    /// The PostgreSQL database to drop on drop.
    postgres: Option<PostgresDatabase>,
}

impl TestDb {
    /// A fresh SQLite database file in a new temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::Builder::new()
            .prefix("commons-nostr-test-")
            .tempdir()
            .expect("creating a temporary directory for the test database");
        let path = dir.path().join("commons.db");
        TestDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            backend: "sqlite",
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, when `TEST_DATABASE_URL` is set; `None` otherwise.
    ///
    /// Panics when the variable is set but the server cannot be used: a configured backend that
    /// silently went untested would be worse than a failing test.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var(TEST_DATABASE_URL)
            .ok()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())?;
        let name = unique_database_name();
        let url = url_with_database(&admin_url, &name);

        let admin = admin_connection(&admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| {
                panic!("creating test database {name} via {TEST_DATABASE_URL}: {e}")
            });
        // Closing only returns the connection; nothing to do if it fails.
        let _ = admin.close().await;

        Some(TestDb {
            url,
            backend: "postgres",
            _dir: None,
            postgres: Some(PostgresDatabase { admin_url, name }),
        })
    }

    /// A fresh database on every backend available: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Vec<TestDb> {
        let mut databases = vec![TestDb::sqlite().await];
        databases.extend(TestDb::postgres().await);
        databases
    }

    /// `"sqlite"` or `"postgres"`, for assertion messages.
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("url", &self.url)
            .finish()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(database) = self.postgres.take() else {
            return;
        };
        // Drop is synchronous and may run inside the test's runtime, where blocking on a future
        // is not allowed: do the async work on a thread of its own with its own small runtime.
        let dropped = std::thread::spawn(move || database.drop_database()).join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: {e}"),
            Err(_) => eprintln!("warning: the thread dropping a test database panicked"),
        }
    }
}

/// A database created on the `TEST_DATABASE_URL` server.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    fn drop_database(self) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime for dropping test database {}: {e}", self.name))?;
        runtime.block_on(async {
            let admin = admin_connection(&self.admin_url).await;
            let dropped = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
            let _ = admin.close().await;
            dropped
                .map(|_| ())
                .map_err(|e| format!("dropping test database {}: {e}", self.name))
        })
    }
}

/// A single connection to the server named by `TEST_DATABASE_URL`.
async fn admin_connection(admin_url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(admin_url);
    options
        .max_connections(1)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("connecting to {TEST_DATABASE_URL}: {e}"))
}

/// A database name no other test, in this process or another, will pick.
fn unique_database_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    format!(
        "commons_test_{}_{}_{nanos:09}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its path (the database name) replaced by `database`.
fn url_with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url)
        .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is not a valid URL: {e}"));
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}
