//! Where credentials live, by `cli_auth_credentials_store` in config.toml:
//! `file` (default: `$CODEX_HOME/auth.json`), `keyring` (the OS keyring), `auto` (the keyring
//! when it works, else the file) or `ephemeral` (this process's memory only).
//!
//! Every store holds the same JSON as auth.json, so the exact bytes still identify a set of
//! credentials (what refresh poisoning is keyed to).

use crate::storage::{self, AuthDotJson, StorageError};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The config key.
pub const CONFIG_KEY: &str = "cli_auth_credentials_store";
/// The keyring service name.
pub const KEYRING_SERVICE: &str = "Codex Auth";

/// The choice in config.toml.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StoreKind {
    #[default]
    File,
    Keyring,
    Auto,
    Ephemeral,
}

impl StoreKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "file" => Some(StoreKind::File),
            "keyring" => Some(StoreKind::Keyring),
            "auto" => Some(StoreKind::Auto),
            "ephemeral" => Some(StoreKind::Ephemeral),
            _ => None,
        }
    }

    /// Reads `cli_auth_credentials_store` from `CODEX_HOME/config.toml` (default `file`).
    pub fn from_config(codex_home: &Path) -> Result<Self, String> {
        let file = codex_home.join("config.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreKind::File),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        match table.get(CONFIG_KEY) {
            None => Ok(StoreKind::File),
            Some(value) => value.as_str().and_then(StoreKind::parse).ok_or_else(|| {
                format!(
                    "{}: `{CONFIG_KEY}`: {value} is not a credential store; use \"file\", \"keyring\", \"auto\" or \"ephemeral\"",
                    file.display()
                )
            }),
        }
    }
}

/// A credential store.
pub enum Store {
    File(PathBuf),
    Keyring { home: PathBuf, account: String },
    Auto { home: PathBuf, account: String },
    Ephemeral(Mutex<Option<Vec<u8>>>),
}

/// The keyring account for a `CODEX_HOME`: `cli|` + the first 16 hex digits of the SHA-256 of
/// its canonical path (one entry per home).
pub fn keyring_account(codex_home: &Path) -> String {
    let canonical = std::fs::canonicalize(codex_home).unwrap_or_else(|_| codex_home.to_path_buf());
    let digest = sha2::Sha256::digest(canonical.to_string_lossy().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("cli|{}", &hex[..16])
}

fn keyring_error(e: keyring::Error) -> StorageError {
    StorageError::Keyring(e.to_string())
}

/// On Linux the keyring is the kernel's, and the entry goes into the *user* keyring: one per
/// uid, shared by every terminal and login of that user, kept while the user has processes
/// (kernel keys live in memory: reboot forgets them). The `keyring` crate's own constructor would
/// use the session keyring and ask for the persistent one, which installs a fresh session
/// keyring in the calling thread when there is none (containers, `su`, services), so a thread
/// would write where another cannot read; we build the credential ourselves instead.
#[cfg(target_os = "linux")]
fn entry(account: &str) -> Result<keyring::Entry, StorageError> {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let user = KeyRing::from_special_id(KeyRingIdentifier::User, true)
        .map_err(|e| StorageError::Keyring(format!("the kernel user keyring: {e:?}")))?;
    let credential = keyring::keyutils::KeyutilsCredential {
        session: user,
        persistent: None,
        description: format!("keyring-rs:{account}@{KEYRING_SERVICE}"),
    };
    Ok(keyring::Entry::new_with_credential(Box::new(credential)))
}

#[cfg(not(target_os = "linux"))]
fn entry(account: &str) -> Result<keyring::Entry, StorageError> {
    keyring::Entry::new(KEYRING_SERVICE, account).map_err(keyring_error)
}

/// Whether `auto` prefers the keyring. Not on Linux: the kernel keyring forgets everything at
/// reboot, and `auto` must not log people out behind their backs (the reference CLI's `auto`
/// also ends up on the file on a machine without a Secret Service). Ask for `keyring`
/// explicitly to use it.
const AUTO_PREFERS_KEYRING: bool = !cfg!(target_os = "linux");

fn keyring_read(account: &str) -> Result<Option<(AuthDotJson, Vec<u8>)>, StorageError> {
    match entry(account)?.get_password() {
        Ok(text) => {
            let auth = serde_json::from_str(&text).map_err(|source| StorageError::Corrupt {
                path: PathBuf::from(format!("keyring entry \"{KEYRING_SERVICE}\" / {account}")),
                source,
            })?;
            Ok(Some((auth, text.into_bytes())))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

fn keyring_write(account: &str, auth: &AuthDotJson) -> Result<Vec<u8>, StorageError> {
    let bytes = storage::to_bytes(auth);
    entry(account)?
        .set_password(&String::from_utf8_lossy(&bytes))
        .map_err(keyring_error)?;
    Ok(bytes)
}

fn keyring_delete(account: &str) -> Result<bool, StorageError> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}

impl Store {
    pub fn new(kind: StoreKind, codex_home: &Path) -> Store {
        let home = codex_home.to_path_buf();
        match kind {
            StoreKind::File => Store::File(home),
            StoreKind::Keyring => Store::Keyring {
                account: keyring_account(&home),
                home,
            },
            StoreKind::Auto if !AUTO_PREFERS_KEYRING => Store::File(home),
            StoreKind::Auto => Store::Auto {
                account: keyring_account(&home),
                home,
            },
            StoreKind::Ephemeral => Store::Ephemeral(Mutex::new(None)),
        }
    }

    /// The stored credentials and their exact bytes.
    pub fn read(&self) -> Result<Option<(AuthDotJson, Vec<u8>)>, StorageError> {
        match self {
            Store::File(home) => storage::read(home),
            Store::Keyring { account, .. } => keyring_read(account),
            Store::Auto { home, account } => match keyring_read(account) {
                Ok(Some(found)) => Ok(Some(found)),
                Ok(None) | Err(StorageError::Keyring(_)) => storage::read(home),
                Err(other) => Err(other),
            },
            Store::Ephemeral(memory) => {
                let bytes = memory.lock().unwrap_or_else(|p| p.into_inner()).clone();
                Ok(bytes.map(|b| (serde_json::from_slice(&b).expect("we wrote it"), b)))
            }
        }
    }

    /// Replaces the stored credentials; returns the bytes stored.
    pub fn write(&self, auth: &AuthDotJson) -> Result<Vec<u8>, StorageError> {
        match self {
            Store::File(home) => storage::write(home, auth),
            Store::Keyring { account, .. } => keyring_write(account, auth),
            Store::Auto { home, account } => match keyring_write(account, auth) {
                Ok(bytes) => {
                    // The keyring holds them now; a file would only go stale.
                    storage::delete(home)?;
                    Ok(bytes)
                }
                Err(StorageError::Keyring(_)) => storage::write(home, auth),
                Err(other) => Err(other),
            },
            Store::Ephemeral(memory) => {
                let bytes = storage::to_bytes(auth);
                *memory.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes.clone());
                Ok(bytes)
            }
        }
    }

    /// Deletes the stored credentials (from every place `auto` may have put them).
    pub fn delete(&self) -> Result<bool, StorageError> {
        match self {
            Store::File(home) => storage::delete(home),
            Store::Keyring { account, .. } => keyring_delete(account),
            Store::Auto { home, account } => {
                let from_keyring = keyring_delete(account).unwrap_or(false);
                Ok(storage::delete(home)? || from_keyring)
            }
            Store::Ephemeral(memory) => Ok(memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .is_some()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuthDotJson {
        AuthDotJson {
            openai_api_key: Some("sk-store".into()),
            ..Default::default()
        }
    }

    #[test]
    fn config_choice() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StoreKind::from_config(dir.path()), Ok(StoreKind::File));
        std::fs::write(
            dir.path().join("config.toml"),
            "cli_auth_credentials_store = \"ephemeral\"\n",
        )
        .unwrap();
        assert_eq!(StoreKind::from_config(dir.path()), Ok(StoreKind::Ephemeral));
        std::fs::write(
            dir.path().join("config.toml"),
            "cli_auth_credentials_store = \"vault\"\n",
        )
        .unwrap();
        let error = StoreKind::from_config(dir.path()).unwrap_err();
        assert!(
            error.contains("`cli_auth_credentials_store`: \"vault\" is not a credential store"),
            "{error}"
        );
    }

    #[test]
    fn ephemeral_never_touches_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(StoreKind::Ephemeral, dir.path());
        store.write(&sample()).unwrap();
        assert_eq!(store.read().unwrap().unwrap().0, sample());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
        assert!(store.delete().unwrap());
        assert!(store.read().unwrap().is_none());
    }

    #[test]
    fn keyring_account_is_per_home() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        assert!(keyring_account(a.path()).starts_with("cli|"));
        assert_eq!(keyring_account(a.path()).len(), 4 + 16);
        assert_ne!(keyring_account(a.path()), keyring_account(b.path()));
    }

    /// The OS keyring for real (the kernel's keyring on Linux, which always works there).
    #[test]
    fn keyring_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(StoreKind::Keyring, dir.path());
        match store.write(&sample()) {
            Ok(_) => {}
            Err(StorageError::Keyring(reason)) if !cfg!(target_os = "linux") => {
                println!("SKIP: no usable OS keyring here ({reason})");
                return;
            }
            Err(other) => panic!("{other}"),
        }
        assert_eq!(store.read().unwrap().unwrap().0, sample());
        // Another handle on the same home sees the same entry; another home does not.
        assert_eq!(
            Store::new(StoreKind::Keyring, dir.path())
                .read()
                .unwrap()
                .unwrap()
                .0,
            sample()
        );
        let other = tempfile::tempdir().unwrap();
        assert!(
            Store::new(StoreKind::Keyring, other.path())
                .read()
                .unwrap()
                .is_none()
        );
        assert!(
            !storage::auth_file(dir.path()).exists(),
            "nothing was written to the file"
        );
        assert!(store.delete().unwrap());
        assert!(store.read().unwrap().is_none());
        assert!(!store.delete().unwrap());
    }

    #[test]
    fn auto_on_this_platform() {
        let dir = tempfile::tempdir().unwrap();
        let auto = Store::new(StoreKind::Auto, dir.path());
        std::fs::write(
            storage::auth_file(dir.path()),
            "{\"OPENAI_API_KEY\":\"sk-old-file\"}",
        )
        .unwrap();
        auto.write(&sample()).unwrap();
        assert_eq!(auto.read().unwrap().unwrap().0, sample());
        let file_left = storage::auth_file(dir.path()).exists();
        if AUTO_PREFERS_KEYRING {
            assert!(!file_left, "auto moves credentials into the keyring");
        } else {
            assert!(file_left, "auto keeps credentials in the file on Linux");
            assert_eq!(storage::read(dir.path()).unwrap().unwrap().0, sample());
        }
        assert!(auto.delete().unwrap());
        assert!(auto.read().unwrap().is_none());
    }
}
