//! `$CODEX_HOME/auth.json`: the Codex format, read as Codex writes it, written atomically with
//! mode 0600, unknown fields kept.
//!
//! ```json
//! {"auth_mode": "chatgpt", "OPENAI_API_KEY": null,
//!  "tokens": {"id_token": "<jwt>", "access_token": "<jwt>", "refresh_token": "…", "account_id": "…"},
//!  "last_refresh": "2026-11-01T12:00:00Z"}
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file name under `CODEX_HOME`.
pub const AUTH_FILE: &str = "auth.json";

/// How the user signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[serde(alias = "apiKey", alias = "api_key", alias = "ApiKey")]
    Apikey,
    #[serde(alias = "ChatGPT", alias = "chatGPT")]
    Chatgpt,
}

/// ChatGPT tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenData {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Fields this version does not know, kept when the file is rewritten.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthDotJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<AuthMode>,
    #[serde(rename = "OPENAI_API_KEY", default)]
    pub openai_api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AuthDotJson {
    /// The sign-in method: explicit `auth_mode`, else tokens mean ChatGPT and a key means API key.
    pub fn mode(&self) -> Option<AuthMode> {
        self.auth_mode.or_else(|| {
            if self.tokens.is_some() {
                Some(AuthMode::Chatgpt)
            } else if self.openai_api_key.is_some() {
                Some(AuthMode::Apikey)
            } else {
                None
            }
        })
    }
}

/// Reading or writing auth.json failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error(
        "{} is not a valid auth file ({source}); it was left as it is: fix or delete it, then sign in again with `codex login`",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}; the previous file is unchanged", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "the OS keyring failed: {0}; set cli_auth_credentials_store = \"file\" (or \"auto\") in config.toml to keep credentials in auth.json"
    )]
    Keyring(String),
    #[error("{0}")]
    Config(String),
}

/// `CODEX_HOME/auth.json`.
pub fn auth_file(codex_home: &Path) -> PathBuf {
    codex_home.join(AUTH_FILE)
}

/// The stored auth and the exact bytes it was read from; `None` when there is no file.
pub fn read(codex_home: &Path) -> Result<Option<(AuthDotJson, Vec<u8>)>, StorageError> {
    let path = auth_file(codex_home);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StorageError::Read { path, source }),
    };
    let auth =
        serde_json::from_slice(&bytes).map_err(|source| StorageError::Corrupt { path, source })?;
    Ok(Some((auth, bytes)))
}

/// Serializes `auth` as it will be stored.
pub fn to_bytes(auth: &AuthDotJson) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(auth).expect("auth serializes");
    bytes.push(b'\n');
    bytes
}

/// Replaces auth.json atomically (temporary file, fsync, rename, fsync of the directory), mode
/// 0600 whatever the old file's mode. Returns the bytes written.
pub fn write(codex_home: &Path, auth: &AuthDotJson) -> Result<Vec<u8>, StorageError> {
    let path = auth_file(codex_home);
    let bytes = to_bytes(auth);
    let error = |source| StorageError::Write {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(codex_home).map_err(error)?;
    let temp = codex_home.join(format!(".{AUTH_FILE}.{}.tmp", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&temp, &path)?;
        if let Ok(dir) = fs::File::open(codex_home) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&temp);
        return Err(error(source));
    }
    Ok(bytes)
}

/// Removes auth.json; `false` when there was none.
pub fn delete(codex_home: &Path) -> Result<bool, StorageError> {
    let path = auth_file(codex_home);
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StorageError::Write { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODEX_WRITTEN: &str = r#"{
  "OPENAI_API_KEY": null,
  "tokens": {
    "id_token": "eyJ.x.y",
    "access_token": "at",
    "refresh_token": "rt",
    "account_id": "acc-1",
    "future_token_field": 7
  },
  "last_refresh": "2026-11-01T12:00:00.123456Z",
  "future_top_level": {"a": 1}
}"#;

    #[test]
    fn reads_codex_files_and_keeps_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(auth_file(dir.path()), CODEX_WRITTEN).unwrap();
        let (auth, _) = read(dir.path()).unwrap().unwrap();
        assert_eq!(auth.mode(), Some(AuthMode::Chatgpt));
        assert_eq!(
            auth.tokens.as_ref().unwrap().account_id.as_deref(),
            Some("acc-1")
        );
        write(dir.path(), &auth).unwrap();
        let again: serde_json::Value =
            serde_json::from_slice(&fs::read(auth_file(dir.path())).unwrap()).unwrap();
        assert_eq!(again["future_top_level"]["a"], 1);
        assert_eq!(again["tokens"]["future_token_field"], 7);
        assert_eq!(again["OPENAI_API_KEY"], serde_json::Value::Null);
    }

    #[cfg(unix)]
    #[test]
    fn writes_are_private_whatever_the_old_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::write(auth_file(dir.path()), "{}").unwrap();
        fs::set_permissions(auth_file(dir.path()), fs::Permissions::from_mode(0o644)).unwrap();
        write(
            dir.path(),
            &AuthDotJson {
                openai_api_key: Some("sk-test".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let mode = fs::metadata(auth_file(dir.path()))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from(AUTH_FILE)],
            "no temporary file is left"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(auth_file(dir.path()), "{not json").unwrap();
        let error = read(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("auth.json is not a valid auth file"),
            "{error}"
        );
        assert!(error.contains("codex login"), "{error}");
        assert_eq!(
            fs::read_to_string(auth_file(dir.path())).unwrap(),
            "{not json"
        );
    }

    #[test]
    fn a_missing_file_is_no_auth() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        assert!(!delete(dir.path()).unwrap());
    }
}
