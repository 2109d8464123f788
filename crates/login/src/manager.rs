//! `AuthManager`: hands out the current credentials, refreshes ChatGPT tokens when they are
//! stale (or once after the model API answered 401), and never storms the token endpoint.
//!
//! - **Poisoning.** A permanent refresh failure marks the current snapshot, keyed to the exact
//!   bytes of auth.json it came from. Later refreshes of that snapshot fail at once, without a
//!   request, and no token is handed out for it. The mark falls away by itself when auth.json
//!   changes (login, logout, another process refreshing, a successful refresh). Transient
//!   failures never poison.
//! - **Single flight.** In one process, concurrent refreshes wait for one another; whoever
//!   comes second finds the new tokens and does not refresh again.
//! - **Across processes.** Re-read → refresh → write happens under an advisory lock on
//!   `auth.json.lock`, so two processes sharing a `CODEX_HOME` never spend one refresh token
//!   twice.

use crate::jwt::is_stale;
use crate::refresh::{self, PermanentReason, RefreshError};
use crate::storage::{AuthDotJson, AuthMode, StorageError};
use crate::store::{Store, StoreKind};
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The lock file beside auth.json.
pub const LOCK_FILE: &str = "auth.json.lock";

/// Credentials as read from auth.json, with the bytes they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub auth: AuthDotJson,
    raw: Vec<u8>,
}

impl Snapshot {
    pub fn mode(&self) -> Option<AuthMode> {
        self.auth.mode()
    }
}

/// Why no usable token could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// A permanent failure already happened for these credentials; nothing was sent.
    #[error("{}", .0.message())]
    Poisoned(PermanentReason),
    #[error("waiting for the auth lock failed: {0}")]
    Lock(std::io::Error),
}

impl AuthError {
    /// Whether signing in again is the only way forward.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            AuthError::Poisoned(_) | AuthError::Refresh(RefreshError::Permanent(_))
        )
    }
}

/// When to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshWhen<'a> {
    /// Only when the access token is stale.
    IfStale,
    /// After the model API rejected `rejected` with 401: refresh, unless the stored token is
    /// already a different one (someone else refreshed meanwhile).
    Rejected { rejected: &'a str },
}

/// What `getAuthStatus` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    pub auth_method: Option<AuthMode>,
    pub auth_token: Option<String>,
    pub requires_openai_auth: bool,
}

#[derive(Debug, Default)]
struct State {
    snapshot: Option<Arc<Snapshot>>,
    poison: Option<(Vec<u8>, PermanentReason)>,
}

/// See the module documentation.
pub struct AuthManager {
    codex_home: PathBuf,
    store: Store,
    /// An error when HTTPS cannot be set up; reported at the first refresh, as a transient
    /// failure (fixing the trust store does not change the credentials).
    client: Result<reqwest::Client, String>,
    token_url: String,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
}

impl AuthManager {
    /// Loads the credentials from the store config.toml names (`CODEX_HOME/auth.json` by
    /// default); the token endpoint comes from the environment.
    pub fn new(codex_home: &Path) -> Result<Self, StorageError> {
        Self::with_token_url(codex_home, &refresh::token_url())
    }

    /// As [`AuthManager::new`] with an explicit token endpoint.
    pub fn with_token_url(codex_home: &Path, token_url: &str) -> Result<Self, StorageError> {
        let kind = StoreKind::from_config(codex_home).map_err(StorageError::Config)?;
        Self::with_store(codex_home, Store::new(kind, codex_home), token_url)
    }

    /// As [`AuthManager::with_token_url`] with an explicit store.
    pub fn with_store(
        codex_home: &Path,
        store: Store,
        token_url: &str,
    ) -> Result<Self, StorageError> {
        let manager = AuthManager {
            codex_home: codex_home.to_path_buf(),
            store,
            client: refresh::http_client(),
            token_url: token_url.to_string(),
            state: Mutex::new(State::default()),
            flight: tokio::sync::Mutex::new(()),
        };
        manager.reload()?;
        Ok(manager)
    }

    /// Where the credentials live (sign-in flows write through it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current credentials (as last loaded).
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.state().snapshot.clone()
    }

    /// Re-reads the stored credentials; returns whether it changed. A change also lifts any poison, since
    /// the poison belongs to the old content.
    pub fn reload(&self) -> Result<bool, StorageError> {
        let loaded = self.store.read()?;
        let mut state = self.state();
        let changed =
            state.snapshot.as_ref().map(|s| &s.raw) != loaded.as_ref().map(|(_, raw)| raw);
        if changed {
            state.snapshot = loaded.map(|(auth, raw)| Arc::new(Snapshot { auth, raw }));
        }
        Ok(changed)
    }

    /// The permanent failure that poisons the current credentials, if any.
    pub fn poisoned(&self) -> Option<PermanentReason> {
        let state = self.state();
        match (&state.poison, &state.snapshot) {
            (Some((raw, reason)), Some(snapshot)) if *raw == snapshot.raw => Some(*reason),
            _ => None,
        }
    }

    /// The token for model requests: the API key, or a ChatGPT access token refreshed as
    /// `when` says. `None` when not signed in.
    pub async fn token(&self, when: RefreshWhen<'_>) -> Result<Option<String>, AuthError> {
        self.reload()?;
        let Some(snapshot) = self.snapshot() else {
            return Ok(None);
        };
        if snapshot.mode() == Some(AuthMode::Apikey) {
            return Ok(snapshot.auth.openai_api_key.clone());
        }
        let Some(tokens) = &snapshot.auth.tokens else {
            return Ok(snapshot.auth.openai_api_key.clone());
        };
        if let Some(reason) = self.poisoned() {
            return Err(AuthError::Poisoned(reason));
        }
        let needed = match when {
            RefreshWhen::IfStale => {
                is_stale(&tokens.access_token, snapshot.auth.last_refresh, Utc::now())
            }
            RefreshWhen::Rejected { rejected } => tokens.access_token == rejected,
        };
        if !needed {
            return Ok(Some(tokens.access_token.clone()));
        }
        self.refresh(when).await.map(Some)
    }

    /// Refreshes under the in-process and cross-process locks, re-checking after each wait.
    async fn refresh(&self, when: RefreshWhen<'_>) -> Result<String, AuthError> {
        let _flight = self.flight.lock().await;
        let lock_path = self.codex_home.join(LOCK_FILE);
        let _lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            if let Some(dir) = lock_path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|e| AuthError::Lock(std::io::Error::other(e)))?
        .map_err(AuthError::Lock)?;

        // Another task or process may have refreshed (or signed out) while we waited.
        self.reload()?;
        let snapshot = self
            .snapshot()
            .ok_or(AuthError::Poisoned(PermanentReason::Unauthorized))?;
        let Some(tokens) = snapshot.auth.tokens.clone() else {
            return snapshot
                .auth
                .openai_api_key
                .clone()
                .ok_or(AuthError::Poisoned(PermanentReason::Unauthorized));
        };
        if let Some(reason) = self.poisoned() {
            return Err(AuthError::Poisoned(reason));
        }
        let still_needed = match when {
            RefreshWhen::IfStale => {
                is_stale(&tokens.access_token, snapshot.auth.last_refresh, Utc::now())
            }
            RefreshWhen::Rejected { rejected } => tokens.access_token == rejected,
        };
        if !still_needed {
            return Ok(tokens.access_token);
        }

        let answer = match &self.client {
            Ok(client) => refresh::request(client, &self.token_url, &tokens.refresh_token).await,
            Err(problem) => Err(RefreshError::Transient(problem.clone())),
        };
        match answer {
            Ok(answer) => {
                let mut auth = snapshot.auth.clone();
                let new_tokens = auth.tokens.as_mut().expect("checked above");
                if let Some(id_token) = answer.id_token {
                    new_tokens.id_token = id_token;
                }
                if let Some(access_token) = answer.access_token {
                    new_tokens.access_token = access_token;
                }
                if let Some(refresh_token) = answer.refresh_token {
                    new_tokens.refresh_token = refresh_token;
                }
                let token = new_tokens.access_token.clone();
                auth.last_refresh = Some(Utc::now());
                let raw = self.store.write(&auth)?;
                let mut state = self.state();
                state.snapshot = Some(Arc::new(Snapshot { auth, raw }));
                state.poison = None;
                Ok(token)
            }
            Err(RefreshError::Permanent(reason)) => {
                self.state().poison = Some((snapshot.raw.clone(), reason));
                Err(AuthError::Refresh(RefreshError::Permanent(reason)))
            }
            Err(transient) => Err(AuthError::Refresh(transient)),
        }
    }

    /// `getAuthStatus`: the sign-in method stays visible after a permanent failure, but no
    /// token is handed out for poisoned credentials. A transient refresh failure hands out the
    /// current token.
    pub async fn status(
        &self,
        include_token: bool,
        refresh_token: bool,
    ) -> Result<AuthStatus, StorageError> {
        self.reload()?;
        let snapshot = self.snapshot();
        let auth_method = snapshot.as_ref().and_then(|s| s.mode());
        let mut auth_token = None;
        if include_token || refresh_token {
            let current = snapshot.as_ref().and_then(|s| match s.mode() {
                Some(AuthMode::Apikey) => s.auth.openai_api_key.clone(),
                _ => s.auth.tokens.as_ref().map(|t| t.access_token.clone()),
            });
            let token = if refresh_token {
                match self.token(RefreshWhen::IfStale).await {
                    Ok(token) => token,
                    Err(AuthError::Storage(e)) => return Err(e),
                    Err(e) if e.needs_login() => None,
                    Err(_) => current,
                }
            } else if self.poisoned().is_some() {
                None
            } else {
                current
            };
            if include_token {
                auth_token = token;
            }
        }
        Ok(AuthStatus {
            auth_method,
            auth_token,
            requires_openai_auth: true,
        })
    }

    /// Stores an API key as the credentials (replacing any sign-in).
    pub fn login_with_api_key(&self, api_key: &str) -> Result<(), StorageError> {
        let auth = AuthDotJson {
            auth_mode: Some(AuthMode::Apikey),
            openai_api_key: Some(api_key.to_string()),
            ..Default::default()
        };
        let raw = self.store.write(&auth)?;
        let mut state = self.state();
        state.snapshot = Some(Arc::new(Snapshot { auth, raw }));
        state.poison = None;
        Ok(())
    }

    /// Signs out: revokes the refresh token (best effort; `revoke_url` is the endpoint) and
    /// deletes the stored credentials. Returns whether there were any, and the revocation
    /// problem if it failed.
    pub async fn logout_and_revoke(
        &self,
        revoke_url: &str,
    ) -> Result<(bool, Option<String>), StorageError> {
        self.reload()?;
        let refresh_token = self
            .snapshot()
            .and_then(|s| s.auth.tokens.as_ref().map(|t| t.refresh_token.clone()));
        let problem = match refresh_token {
            Some(token) => match &self.client {
                Ok(client) => refresh::revoke(client, revoke_url, &token).await.err(),
                Err(problem) => Some(problem.clone()),
            },
            None => None,
        };
        Ok((self.logout()?, problem))
    }

    /// Deletes the stored credentials; `false` when there were none.
    pub fn logout(&self) -> Result<bool, StorageError> {
        let removed = self.store.delete()?;
        let mut state = self.state();
        state.snapshot = None;
        state.poison = None;
        Ok(removed)
    }
}
