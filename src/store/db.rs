//! Opening the database, applying migrations, and checking it is alive.
//!
//! One code path serves both supported backends, chosen by the URL in `[database] url`:
//!
//! - **SQLite** (`sqlite://path/to/file.db`, the default for a single server). The parent
//!   directory is created when missing, and so is the file unless the URL says otherwise with
//!   `?mode=`. Connections use WAL journal mode (readers and the one writer never block each
//!   other), a busy timeout of [`SQLITE_BUSY_TIMEOUT`] (a writer waits for the write
//!   lock instead of failing at once), enforced foreign keys and temporary storage in memory
//!   ([`SQLITE_TEMP_STORE`]). SQLite runs one writer at a
//!   time whatever the pool size, so the pool is small ([`SQLITE_MAX_CONNECTIONS`]): enough for
//!   reads to proceed beside a write, no more, and each keeps few prepared statements
//!   ([`SQLITE_STATEMENT_CACHE`]). A transaction that reads and then writes must be
//!   opened with [`begin_write`]: a plain (deferred) SQLite transaction that read before another
//!   connection wrote cannot upgrade to a writer and fails with `SQLITE_BUSY` without waiting.
//! - **PostgreSQL** (`postgres://` or `postgresql://`, for several servers on one database): a
//!   normal pool of [`POSTGRES_MAX_CONNECTIONS`].
//!
//! Any other URL is refused with [`DbSetupError::UnsupportedScheme`]. Errors name the database by
//! its URL with any password replaced by `***`; a password never reaches an error message or a
//! log line.
//!
//! [`migrate`] applies every pending migration of the `migration` crate inside one transaction
//! that first takes a database-wide lock (`BEGIN IMMEDIATE` on SQLite, an advisory lock on
//! PostgreSQL), so servers starting together on one database migrate it once, one after the
//! other, and a failed migration leaves the schema as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// How long an SQLite connection waits for the write lock before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool size for an SQLite file: one writer at a time anyway, a few readers beside it.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Prepared statements kept per SQLite connection (sqlx's default is 100). Batched inserts
/// have one SQL text per row count, each prepared with thousands of parameters, so a cache of
/// 100 filled with them held about 10 MB inside SQLite under a steady stream of zap receipts
/// (`examples/rss_bench.rs` prints SQLite's own count); 16 keeps the few statements that
/// repeat (outbox, cursors, audit log) and held 2-4 MB.
pub const SQLITE_STATEMENT_CACHE: usize = 16;

/// Where SQLite keeps its temporary data: in memory. The one kind the service makes in bulk is
/// the statement journal: every multi-row `INSERT` of a batch of receipts inside a larger
/// transaction saves, before it changes them, the pages it touches (the table's last pages and
/// a page of each index on a random key: receipt id, payment hash, sender), so the statement
/// alone could be undone. In a temporary file that was about 14 KB written per receipt
/// recorded during a backfill, 42 % of all the bytes the process wrote (`BENCHMARKS.md`,
/// third round); in memory it is a few MB for the length of one statement.
pub const SQLITE_TEMP_STORE: &str = "MEMORY";

/// Pool size for PostgreSQL.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// How long opening the first connection may take at start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a PostgreSQL query may wait for a connection from the pool (opening one if need
/// be) once the service runs. Short, so a database that went away fails each request within
/// a few seconds (a 503, a retried batch) instead of stalling callers behind a dead pool.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`ping`] waits for an answer before calling the database down.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The key of the PostgreSQL advisory lock [`migrate`] holds while migrating
/// (the ASCII bytes of "commons\0").
const MIGRATION_LOCK_KEY: i64 = 0x636f_6d6d_6f6e_7300;

/// Why the database could not be opened. Every `url` here has its password replaced by `***`.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error(
        "unsupported database URL `{url}`: expected `sqlite://<file>` or `postgres://<user>@<host>/<database>`"
    )]
    UnsupportedScheme { url: String },

    /// The URL has a supported scheme but cannot be understood.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The directory that should hold the SQLite file could not be created.
    #[error("cannot create directory `{}` for the SQLite database `{url}`: {source}", path.display())]
    CreateDir {
        url: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The database refused or did not answer.
    #[error("cannot connect to the database `{url}`: {detail}")]
    Connect { url: String, detail: String },
}

/// The database backends this service runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a parsed URL names, by its scheme.
    fn of_url(url: &url::Url) -> Option<Self> {
        match url.scheme() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// Opens a connection pool on `url` (`sqlite://...` or `postgres://...`), configured as the
/// module documentation describes. Does not migrate; call [`migrate`] for that.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    connect_within(url, CONNECT_TIMEOUT).await
}

/// [`connect`], giving up on an unreachable database after `timeout`.
async fn connect_within(url: &str, timeout: Duration) -> Result<DatabaseConnection, DbSetupError> {
    let url = url.trim();
    let secrets = Secrets::of_url(url);
    let shown = secrets.display_url(url);
    // Parsed here first: the driver's own "cannot be parsed" error would quote the whole URL,
    // password included.
    let parsed = url::Url::parse(url).map_err(|e| DbSetupError::InvalidUrl {
        url: shown.clone(),
        reason: e.to_string(),
    })?;
    match Backend::of_url(&parsed) {
        Some(Backend::Sqlite) => {
            // The SQLite driver only recognises its scheme in lowercase.
            let url = match url.get(..7) {
                Some(scheme) if scheme != "sqlite:" => format!("sqlite:{}", &url[7..]),
                _ => url.to_owned(),
            };
            connect_sqlite(&url, shown, timeout).await
        }
        Some(Backend::Postgres) => connect_postgres(url, &secrets, shown, timeout).await,
        None => Err(DbSetupError::UnsupportedScheme { url: shown }),
    }
}

async fn connect_sqlite(
    url: &str,
    shown: String,
    timeout: Duration,
) -> Result<DatabaseConnection, DbSetupError> {
    // Parse once here so a bad URL is reported before anything touches the disk.
    let parsed = url
        .parse::<SqliteConnectOptions>()
        .map_err(|e| DbSetupError::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
    let (in_memory, explicit_mode) = sqlite_url_flags(url);

    if !in_memory {
        if let Some(dir) = parent_dir(parsed.get_filename()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| DbSetupError::CreateDir {
                    url: shown.clone(),
                    path: dir.to_path_buf(),
                    source,
                })?;
        }
    }

    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(timeout)
        .acquire_timeout(timeout)
        .sqlx_logging(false);
    if in_memory {
        // An in-memory database lives as long as its last connection: keep exactly one, forever.
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        options.max_connections(SQLITE_MAX_CONNECTIONS);
    }
    options.map_sqlx_sqlite_opts(move |sqlite| {
        let sqlite = sqlite
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", SQLITE_TEMP_STORE)
            .statement_cache_capacity(SQLITE_STATEMENT_CACHE);
        // Without an explicit `?mode=`, a missing database file is created (its directory was
        // made above); `mode=rw` or `mode=ro` keep SQLite's stricter behaviour.
        let sqlite = if explicit_mode {
            sqlite
        } else {
            sqlite.create_if_missing(true)
        };
        if in_memory {
            sqlite
        } else {
            sqlite.journal_mode(SqliteJournalMode::Wal)
        }
    });

    Database::connect(options)
        .await
        .map_err(|e| DbSetupError::Connect {
            url: shown,
            detail: e.to_string(),
        })
}

async fn connect_postgres(
    url: &str,
    secrets: &Secrets,
    shown: String,
    timeout: Duration,
) -> Result<DatabaseConnection, DbSetupError> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .min_connections(1)
        .connect_timeout(timeout)
        .acquire_timeout(timeout.min(ACQUIRE_TIMEOUT))
        .idle_timeout(Duration::from_secs(600))
        .set_application_name("commons-nostr")
        .sqlx_logging(false);

    match Database::connect(options).await {
        Ok(db) => Ok(db),
        Err(e) => {
            let mut detail = e.to_string();
            if let Some(cause) = postgres_failure_cause(url, timeout).await {
                detail = format!("{detail} ({cause})");
            }
            Err(DbSetupError::Connect {
                url: shown,
                // The driver's message could quote the URL it was given; scrub it to be sure.
                detail: secrets.scrub(&detail),
            })
        }
    }
}

/// Why a single direct connection to `url` fails, if it does.
///
/// The pool retries a refused connection until its timeout, then reports only "pool timed out";
/// one plain attempt recovers the cause an operator needs ("connection refused", "password
/// authentication failed", "database ... does not exist").
async fn postgres_failure_cause(url: &str, timeout: Duration) -> Option<String> {
    use sea_orm::sqlx::{Connection, PgConnection};
    match tokio::time::timeout(timeout, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => {
            // Only probing; failing to close it politely changes nothing.
            let _ = conn.close().await;
            None
        }
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} s", timeout.as_secs_f32())),
    }
}

/// Applies every pending migration, all in one transaction under a database-wide lock, so
/// concurrent callers on one database migrate it once and a failure changes nothing.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Raw SQL: sea-orm has no API for advisory locks. The lock is released at commit or
        // rollback, so a crash mid-migration cannot leave it held.
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await?;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Opens a transaction that is a writer from its first statement.
///
/// On SQLite this is `BEGIN IMMEDIATE`: the write lock is taken at once (waiting up to
/// [`SQLITE_BUSY_TIMEOUT`]), so a transaction that reads, then writes, cannot fail half-way
/// because another connection wrote in between. On PostgreSQL it is a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Runs `work` (a whole transaction) as a task of its own and waits for its result.
///
/// A transaction must never depend on its caller being polled. An actix actor does not poll
/// the futures it spawned while it waits on another one (`ctx.wait`, [`actix::AtomicResponse`]):
/// a transaction inside a spawned future can then hold SQLite's write lock, frozen, while the
/// future the actor waits on asks for that lock, and only the busy timeout ends the deadlock
/// (seen with back-to-back audit appends and audit-head publications in one actor). A task of
/// its own always runs to its commit or rollback, even if the caller is dropped meanwhile.
pub async fn detached<T, E, F>(work: F) -> Result<T, E>
where
    F: std::future::Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<DbErr> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(DbErr::Custom(format!("database task cancelled: {e}")).into()),
    }
}

/// Whether the database answers a trivial query within a few seconds (for `/healthz`).
pub async fn ping(db: &DatabaseConnection) -> bool {
    matches!(
        tokio::time::timeout(PING_TIMEOUT, db.ping()).await,
        Ok(Ok(()))
    )
}

/// [`ping`], recording the answer in `commons_database_up` (and a failure in
/// `commons_database_errors_total{operation="probe"}`). Logs when the state changes.
pub async fn probe(db: &DatabaseConnection, metrics: &crate::metrics::Metrics) -> bool {
    let up = ping(db).await;
    let was = metrics.database_up.set(i64::from(up));
    if !up {
        metrics.database_error("probe");
    }
    if was != i64::from(up) {
        if up {
            tracing::info!("the database answers again");
        } else {
            tracing::error!(
                timeout_secs = PING_TIMEOUT.as_secs(),
                "the database does not answer"
            );
        }
    }
    up
}

/// `(in_memory, explicit_mode)` for an SQLite URL: whether it names an in-memory database, and
/// whether it says how the file is to be opened (`?mode=`).
fn sqlite_url_flags(url: &str) -> (bool, bool) {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut in_memory = path.is_empty() || path == ":memory:";
    let mut explicit_mode = false;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "mode" {
            explicit_mode = true;
            in_memory |= value == "memory";
        }
    }
    (in_memory, explicit_mode)
}

/// The directory holding `file`, when there is one to create.
fn parent_dir(file: &Path) -> Option<&Path> {
    file.parent().filter(|dir| !dir.as_os_str().is_empty())
}

/// The secret parts of a database URL, to keep them out of anything shown to a person.
struct Secrets {
    /// Every form a secret may take in a message, longest first.
    values: Vec<String>,
}

impl Secrets {
    fn of_url(url: &str) -> Self {
        let mut values = Vec::new();
        if let Ok(parsed) = url::Url::parse(url) {
            if let Some(password) = parsed.password() {
                values.push(password.to_owned());
                if let Ok(decoded) = percent_decode(password) {
                    values.push(decoded);
                }
            }
            for (key, value) in parsed.query_pairs() {
                if key.eq_ignore_ascii_case("password") {
                    values.push(value.into_owned());
                }
            }
        }
        values.retain(|value| !value.is_empty());
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Self { values }
    }

    /// `text` with every secret replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
    }

    /// The URL as it may be shown: secrets replaced, or only its scheme when it cannot be
    /// parsed (an unparseable URL could hide a password anywhere).
    fn display_url(&self, url: &str) -> String {
        match url::Url::parse(url) {
            Ok(parsed) => {
                let has_user_info = !parsed.username().is_empty() || parsed.password().is_some();
                if self.values.is_empty() && !has_user_info {
                    url.to_owned()
                } else {
                    let mut shown = parsed.clone();
                    if parsed.password().is_some() {
                        // Only fails for URLs that cannot have a password, and this one has one.
                        let _ = shown.set_password(Some("***"));
                    }
                    self.scrub(shown.as_str())
                }
            }
            Err(_) => match url.split_once(':') {
                Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    format!("{scheme}:<unparseable>")
                }
                _ => "<unparseable>".to_owned(),
            },
        }
    }
}

/// Percent-decodes a URL component to UTF-8.
fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => std::str::from_utf8(hex)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_scheme() {
        let backend = |url: &str| Backend::of_url(&url::Url::parse(url).unwrap());
        assert_eq!(
            backend("sqlite://data/commons.db?mode=rwc"),
            Some(Backend::Sqlite)
        );
        assert_eq!(backend("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(backend("SQLite://data/commons.db"), Some(Backend::Sqlite));
        assert_eq!(backend("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(backend("PostgreSQL://u@h/db"), Some(Backend::Postgres));
        assert_eq!(backend("mysql://u@h/db"), None);
        assert_eq!(backend("file:///data/commons.db"), None);
    }

    #[tokio::test]
    async fn unparseable_urls_are_refused_without_the_password() {
        for url in ["postgres://alice:topsecret@[::1/commons", "data/commons.db"] {
            let err = connect(url).await.expect_err("not a URL");
            assert!(matches!(err, DbSetupError::InvalidUrl { .. }), "{err:?}");
            assert!(!err.to_string().contains("topsecret"), "{err}");
        }
    }

    #[tokio::test]
    async fn in_memory_sqlite_keeps_its_data() {
        let db = connect("sqlite::memory:").await.unwrap();
        migrate(&db).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO relay_cursors (relay_url, stream, last_seen_at, updated_at) \
             VALUES ('wss://a', 'zap-receipts', 1, 1)",
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM relay_cursors",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
        assert!(ping(&db).await);
    }

    #[tokio::test]
    async fn sqlite_connections_keep_temporary_data_in_memory_and_use_wal() {
        let dir = tempfile::tempdir().unwrap();
        let db = connect(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        // Every pooled connection, not only the first: hold them all at once.
        let mut held = Vec::new();
        for _ in 0..SQLITE_MAX_CONNECTIONS {
            let txn = db.begin().await.unwrap();
            let pragma = |name: &str| {
                sea_orm::Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}"))
            };
            let temp_store = txn.query_one_raw(pragma("temp_store")).await.unwrap();
            // 2 is MEMORY (0 default, 1 file).
            assert_eq!(temp_store.unwrap().try_get_by_index::<i64>(0).unwrap(), 2);
            let journal = txn.query_one_raw(pragma("journal_mode")).await.unwrap();
            assert_eq!(
                journal.unwrap().try_get_by_index::<String>(0).unwrap(),
                "wal"
            );
            held.push(txn);
        }
    }

    #[test]
    fn sqlite_flags() {
        assert_eq!(sqlite_url_flags("sqlite://data/x.db"), (false, false));
        assert_eq!(
            sqlite_url_flags("sqlite://data/x.db?mode=rwc"),
            (false, true)
        );
        assert_eq!(sqlite_url_flags("sqlite::memory:"), (true, false));
        assert_eq!(sqlite_url_flags("sqlite://x.db?mode=memory"), (true, true));
    }

    #[test]
    fn parent_dir_skips_bare_file_names() {
        assert_eq!(parent_dir(Path::new("x.db")), None);
        assert_eq!(parent_dir(Path::new("data/x.db")), Some(Path::new("data")));
    }

    #[test]
    fn passwords_never_shown() {
        let url = "postgres://alice:s3cr%40t@db.example.org:5432/commons";
        let secrets = Secrets::of_url(url);
        let shown = secrets.display_url(url);
        assert_eq!(shown, "postgres://alice:***@db.example.org:5432/commons");
        assert_eq!(
            secrets.scrub("error for s3cr@t and s3cr%40t"),
            "error for *** and ***"
        );

        let url = "postgres://db.example.org/commons?user=alice&password=hunter22";
        let shown = Secrets::of_url(url).display_url(url);
        assert!(!shown.contains("hunter22"), "{shown}");

        let url = "postgres://alice:pw@[bad/commons";
        assert_eq!(
            Secrets::of_url(url).display_url(url),
            "postgres:<unparseable>"
        );

        let url = "sqlite://data/commons.db?mode=rwc";
        assert_eq!(Secrets::of_url(url).display_url(url), url);
    }

    #[tokio::test]
    async fn unsupported_scheme_is_refused_without_the_password() {
        let err = connect("mysql://root:topsecret@localhost/commons")
            .await
            .expect_err("mysql is not supported");
        assert!(matches!(err, DbSetupError::UnsupportedScheme { .. }));
        let message = err.to_string();
        assert!(message.contains("unsupported database URL"), "{message}");
        assert!(!message.contains("topsecret"), "{message}");
    }

    #[tokio::test]
    async fn failed_postgres_connection_hides_the_password() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let err = connect_within(
            "postgres://alice:topsecret@127.0.0.1:1/commons",
            Duration::from_millis(500),
        )
        .await
        .expect_err("nothing listens on port 1");
        assert!(matches!(err, DbSetupError::Connect { .. }));
        let message = err.to_string();
        assert!(!message.contains("topsecret"), "{message}");
        assert!(message.contains("alice:***@127.0.0.1:1"), "{message}");
        eprintln!("{message}");
    }
}
