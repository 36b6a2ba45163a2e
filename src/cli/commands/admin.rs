//! The admin commands (`action`, `note`, `restart-bot`, `tally`): one request to the running
//! service's HTTP API, its JSON answer printed.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use super::{load_settings, usage_error};
use crate::cli::admin_client::{AdminClient, ClientError};
use crate::keys;

/// Why an admin command failed.
pub(in crate::cli) enum AdminFailure {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The service refused, or could not be reached: exit 1.
    Client(ClientError),
}

impl From<ClientError> for AdminFailure {
    fn from(e: ClientError) -> Self {
        AdminFailure::Client(e)
    }
}

type AdminFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, AdminFailure>>>>;

/// Runs one admin request in an actix system and prints its answer.
pub(in crate::cli) fn admin(
    config: Option<&Path>,
    needs_token: bool,
    request: impl FnOnce(AdminClient) -> AdminFuture,
) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let client = if needs_token {
        match AdminClient::from_settings(&settings, &keys::process_env) {
            Ok(client) => client,
            Err(e) => return usage_error(e),
        }
    } else {
        AdminClient::public(&settings)
    };
    let answer = actix_rt::System::new().block_on(request(client));
    match answer {
        Ok(json) => {
            let text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string());
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(AdminFailure::Usage(message)) => usage_error(message),
        Err(AdminFailure::Client(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--tag NAME=VALUE` arguments as note tags.
pub fn note_tags(tags: &[String]) -> Result<Vec<Vec<String>>, String> {
    tags.iter()
        .map(|tag| match tag.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok(vec![name.trim().to_owned(), value.to_owned()])
            }
            _ => Err(format!(
                "--tag {tag:?}: expected NAME=VALUE, like t=release"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_tags_are_name_equals_value() {
        assert_eq!(
            note_tags(&["t=release".into(), "r=https://x.org/?a=b".into()]).unwrap(),
            vec![
                vec!["t".to_string(), "release".to_string()],
                vec!["r".to_string(), "https://x.org/?a=b".to_string()]
            ]
        );
        assert!(note_tags(&["release".into()]).is_err());
        assert!(note_tags(&["=x".into()]).is_err());
    }
}
