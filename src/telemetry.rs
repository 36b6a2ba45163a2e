//! Logging, set up once per process with `tracing`.
//!
//! Human-readable lines by default, one JSON object per line with `logging.format = "json"`
//! (for journald or a log shipper). `RUST_LOG` overrides `logging.level`. Nothing here knows
//! about secrets: they never reach a log call in the first place (see [`crate::keys`]).
//!
//! What a newcomer must read (the npubs, where the page is, the demonstration) is printed
//! plainly on stdout, not logged; the log stays for what went wrong. So two things are kept
//! out of its way: sea-orm-migration reports every migration it checks at `info` (a screenful on
//! every start), so its target is held at `warn` unless the filter names it; and colour codes
//! are written only to a terminal (never into a file or a pipe, nor with `NO_COLOR` set).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::configuration::{LogFormat, LoggingSettings};

/// The tracing target of sea-orm-migration's progress lines.
const MIGRATION_TARGET: &str = "sea_orm_migration";

/// Installs the global subscriber. Later calls (tests that start several services in one
/// process) keep the first one and are harmless.
pub fn init(settings: &LoggingSettings) {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|d| EnvFilter::try_new(d).is_ok())
        .unwrap_or_else(|| settings.level.clone());
    let filter = EnvFilter::try_new(with_quiet_migrations(&directives))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `directives` with migrations' progress held at `warn`, unless they already say something
/// about it (`sea_orm_migration=info` to see them again).
pub fn with_quiet_migrations(directives: &str) -> String {
    if directives.contains(MIGRATION_TARGET) {
        return directives.to_owned();
    }
    let directives = directives.trim().trim_end_matches(',');
    if directives.is_empty() {
        format!("{MIGRATION_TARGET}=warn")
    } else {
        format!("{directives},{MIGRATION_TARGET}=warn")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_quiet_unless_named() {
        assert_eq!(with_quiet_migrations("info"), "info,sea_orm_migration=warn");
        assert_eq!(
            with_quiet_migrations("commons_nostr=debug,warn,"),
            "commons_nostr=debug,warn,sea_orm_migration=warn"
        );
        assert_eq!(with_quiet_migrations(""), "sea_orm_migration=warn");
        assert_eq!(
            with_quiet_migrations("trace,sea_orm_migration=info"),
            "trace,sea_orm_migration=info"
        );
        for directives in ["info", "trace", "commons_nostr=debug,warn"] {
            assert!(EnvFilter::try_new(with_quiet_migrations(directives)).is_ok());
        }
    }
}
