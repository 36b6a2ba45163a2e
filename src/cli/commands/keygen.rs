//! `commons-nostr keygen`: a new secret key file for a bot or the server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{load_settings, npub, usage_error};
use crate::configuration::default_key_path;
use crate::keys::{self, SecretSource};

pub(in crate::cli) fn keygen(config: Option<&Path>, bot: &str, out: Option<PathBuf>) -> ExitCode {
    let path = match out {
        Some(p) => p,
        None => {
            let settings = match load_settings(config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let configured = if bot == "server" {
                Some(settings.server.nsec_path.clone())
            } else {
                settings.nostr.bots.get(bot).map(|b| b.nsec_path.clone())
            };
            match configured {
                Some(SecretSource::File(p)) => p,
                _ => default_key_path(bot),
            }
        }
    };
    match keys::write_new_key_file(&path) {
        Ok(k) => {
            eprintln!("wrote {} (mode 0600)", path.display());
            println!("{}", npub(&k.public_key()));
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => usage_error(format!(
            "{} exists; refusing to overwrite a key (move it away first)",
            path.display()
        )),
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
