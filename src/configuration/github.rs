//! `[github]`: GitHub's webhook: its secret, the repositories whose pull requests are governance
//! actions and the keyholders' logins.

use serde::{Deserialize, Serialize};

use super::{SecretSource, SettingsError};

/// `[github]`: GitHub's webhook (DESIGN.md "Governance actions from GitHub";
/// the `POST /webhooks/github` route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GithubSettings {
    /// Where the webhook's secret lives (`env:VAR` or a file path); `None`: the webhook route
    /// answers 404.
    pub webhook_secret: Option<SecretSource>,
    /// `owner/name`, lower-cased: whose pull requests are governance actions.
    pub repositories: Vec<String>,
    /// GitHub logins, lower-cased, whose approving reviews are keyholder signatures.
    pub keyholders: Vec<String>,
}

impl GithubSettings {
    /// Whether `full_name` (`owner/name`, any case) is one of `repositories`.
    pub fn follows(&self, full_name: &str) -> bool {
        let full_name = full_name.to_ascii_lowercase();
        self.repositories.contains(&full_name)
    }

    /// Whether `login` (any case) is one of `keyholders`.
    pub fn is_keyholder(&self, login: &str) -> bool {
        let login = login.to_ascii_lowercase();
        self.keyholders.contains(&login)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGithub {
    /// Empty or absent: unset.
    #[serde(default)]
    webhook_secret: Option<String>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    keyholders: Vec<String>,
}

impl RawGithub {
    pub(super) fn validate(self) -> Result<GithubSettings, SettingsError> {
        let webhook_secret = self
            .webhook_secret
            .as_deref()
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
            .map(|raw| SecretSource::parse("github.webhook_secret", raw))
            .transpose()?;
        let mut repositories = Vec::with_capacity(self.repositories.len());
        for (i, raw) in self.repositories.iter().enumerate() {
            let key = format!("github.repositories[{i}]");
            let name = raw.trim().to_ascii_lowercase();
            let part_ok = |p: &str| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            };
            match name.split_once('/') {
                Some((owner, repo)) if part_ok(owner) && part_ok(repo) => {}
                _ => {
                    return Err(SettingsError::invalid(
                        key,
                        format!("{raw:?} is not a repository like owner/name"),
                    ))
                }
            }
            if repositories.contains(&name) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw} is listed twice"),
                ));
            }
            repositories.push(name);
        }
        let mut keyholders = Vec::with_capacity(self.keyholders.len());
        for (i, raw) in self.keyholders.iter().enumerate() {
            let key = format!("github.keyholders[{i}]");
            let login = raw.trim().to_ascii_lowercase();
            if !is_github_login(&login) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw:?} is not a GitHub login (1 to 39 letters, digits or '-')"),
                ));
            }
            if keyholders.contains(&login) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw} is listed twice"),
                ));
            }
            keyholders.push(login);
        }
        Ok(GithubSettings {
            webhook_secret,
            repositories,
            keyholders,
        })
    }
}

/// A GitHub login: 1 to 39 ASCII letters, digits or hyphens, not starting with a hyphen.
pub fn is_github_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && !login.starts_with('-')
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key_of, load};
    use super::*;

    #[test]
    fn github_webhook_is_off_by_default_and_its_settings_are_checked() {
        let s = load(None, &[]).unwrap();
        assert_eq!(s.github.webhook_secret, None);
        assert!(s.github.repositories.is_empty());
        assert_eq!(s.governance.review_days, [7, 30, 90, 0, 180]);
        assert_eq!(s.governance.review_days_for(1), Some(7));
        assert_eq!(s.governance.review_days_for(4), Some(0));
        assert_eq!(s.governance.review_days_for(0), None);
        assert_eq!(s.governance.review_days_for(6), None);

        let s = load(
            None,
            &[
                (
                    "COMMONS__GITHUB__WEBHOOK_SECRET",
                    "env:GITHUB_WEBHOOK_SECRET",
                ),
                (
                    "COMMONS__GITHUB__REPOSITORIES",
                    "BTC-Commons/Governance,a/b",
                ),
                ("COMMONS__GITHUB__KEYHOLDERS", "Alice,bob-2"),
                ("COMMONS__GOVERNANCE__REVIEW_DAYS", "1,2,3,0,365"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.github.webhook_secret,
            Some(SecretSource::Env("GITHUB_WEBHOOK_SECRET".into()))
        );
        assert!(s.github.follows("btc-commons/GOVERNANCE"));
        assert!(!s.github.follows("btc-commons/other"));
        assert!(s.github.is_keyholder("ALICE"));
        assert!(!s.github.is_keyholder("carol"));
        assert_eq!(s.governance.review_days, [1, 2, 3, 0, 365]);

        for (key, value, named) in [
            (
                "COMMONS__GITHUB__WEBHOOK_SECRET",
                "env:",
                "github.webhook_secret",
            ),
            (
                "COMMONS__GITHUB__REPOSITORIES",
                "no-slash",
                "github.repositories[0]",
            ),
            (
                "COMMONS__GITHUB__REPOSITORIES",
                "a/b,A/B",
                "github.repositories[1]",
            ),
            (
                "COMMONS__GITHUB__KEYHOLDERS",
                "not a login",
                "github.keyholders[0]",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3",
                "governance.review_days",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3,4,-1",
                "governance.review_days",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3,4,366",
                "governance.review_days",
            ),
        ] {
            assert_eq!(key_of(load(None, &[(key, value)])), named, "{key}={value}");
        }
    }
}
