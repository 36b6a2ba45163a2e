//! Everything a service's database holds, as text: every row of every table, for a test that
//! must show a secret is nowhere in it. SQLite rows are read with `quote()` (blobs as `X'..'`
//! hex), PostgreSQL rows with `row_to_json` (`bytea` as `\x..` hex); the text is lowercased, so
//! a hex secret is found however a column stores it.

use commons_nostr::store::db;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn strings(conn: &sea_orm::DatabaseConnection, sql: String, column: &str) -> Vec<String> {
    let backend = conn.get_database_backend();
    conn.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("a query of the database")
        .iter()
        .map(|row| row.try_get::<String>("", column).expect("a text column"))
        .collect()
}

/// Every row of every table of the database at `url`, lowercased, one row a line.
pub async fn database_text(url: &str) -> String {
    let conn = db::connect(url).await.expect("the test database");
    let backend = conn.get_database_backend();
    let tables = match backend {
        DbBackend::Sqlite => {
            strings(
                &conn,
                "SELECT name AS t FROM sqlite_master WHERE type = 'table'".into(),
                "t",
            )
            .await
        }
        _ => {
            strings(
                &conn,
                "SELECT table_name::text AS t FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
                    .into(),
                "t",
            )
            .await
        }
    };
    assert!(!tables.is_empty(), "the database has tables");
    let mut text = String::new();
    for table in tables {
        let rows = match backend {
            DbBackend::Sqlite => {
                let columns = strings(
                    &conn,
                    format!("SELECT name AS c FROM pragma_table_info('{table}')"),
                    "c",
                )
                .await;
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                strings(&conn, format!("SELECT {row} AS r FROM \"{table}\""), "r").await
            }
            _ => {
                strings(
                    &conn,
                    format!("SELECT row_to_json(t)::text AS r FROM \"{table}\" t"),
                    "r",
                )
                .await
            }
        };
        for row in rows {
            text.push_str(&table);
            text.push('|');
            text.push_str(&row.to_lowercase());
            text.push('\n');
        }
    }
    conn.close().await.ok();
    text
}
