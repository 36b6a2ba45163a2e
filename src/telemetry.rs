//! Logging, set up once per process with `tracing`.
//!
//! Human-readable lines by default, one JSON object per line with `logging.format = "json"`
//! (for journald or a log shipper). `RUST_LOG` overrides `logging.level`. Nothing here knows
//! about secrets: they never reach a log call in the first place (see [`crate::keys`]).
//!
//! What a newcomer must read (the npubs, where the page is, the demonstration) is printed
//! plainly on stdout, not logged; the log stays for what changed or went wrong. So the routine
//! is kept out of its way: the service's own start-up steps log at `debug`; the libraries that
//! narrate every start at `info` ([`QUIET_TARGETS`]: sea-orm-migration checks every migration,
//! actix-server its workers, the relay pool each connection) are held at `warn` unless the
//! filter names them (`sea_orm_migration=info` to see the migrations again); and colour codes
//! are written only to a terminal (never into a file or a pipe, nor with `NO_COLOR` set).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::configuration::{LogFormat, LoggingSettings};

/// Library targets whose `info` lines are start-up routine: held at `warn` unless named.
pub const QUIET_TARGETS: [&str; 3] = ["sea_orm_migration", "actix_server", "nostr_relay_pool"];

/// Installs the global subscriber. Later calls (tests that start several services in one
/// process) keep the first one and are harmless.
pub fn init(settings: &LoggingSettings) {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|d| EnvFilter::try_new(d).is_ok())
        .unwrap_or_else(|| settings.level.clone());
    let filter = EnvFilter::try_new(with_quiet_routine(&directives))
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

/// `directives` with each of [`QUIET_TARGETS`] held at `warn`, unless they already name it.
pub fn with_quiet_routine(directives: &str) -> String {
    let mut out = directives.trim().trim_end_matches(',').to_owned();
    for target in QUIET_TARGETS {
        if !directives.contains(target) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(target);
            out.push_str("=warn");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routine_library_targets_are_quiet_unless_named() {
        const QUIET: &str = "sea_orm_migration=warn,actix_server=warn,nostr_relay_pool=warn";
        assert_eq!(with_quiet_routine("info"), format!("info,{QUIET}"));
        assert_eq!(
            with_quiet_routine("commons_nostr=debug,warn,"),
            format!("commons_nostr=debug,warn,{QUIET}")
        );
        assert_eq!(with_quiet_routine(""), QUIET);
        assert_eq!(
            with_quiet_routine("trace,sea_orm_migration=info"),
            "trace,sea_orm_migration=info,actix_server=warn,nostr_relay_pool=warn"
        );
        for directives in ["info", "trace", "commons_nostr=debug,warn"] {
            assert!(EnvFilter::try_new(with_quiet_routine(directives)).is_ok());
        }
    }
}
