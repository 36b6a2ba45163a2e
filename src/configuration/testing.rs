//! Test fixtures: settings loaded from the embedded defaults, an optional file and a map of
//! `COMMONS__*` variables, and the key an error names.

use super::{Settings, SettingsError, SettingsSources};

pub(super) fn load(toml: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    if let Some(text) = toml {
        std::fs::write(&path, text).unwrap();
    }
    Settings::load(SettingsSources {
        config_file: toml.map(|_| path.as_path()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

pub(super) fn key_of(r: Result<Settings, SettingsError>) -> String {
    r.unwrap_err().key().unwrap_or("<none>").to_string()
}
