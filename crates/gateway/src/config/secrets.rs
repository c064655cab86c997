//! Secret values in configuration, and the secrets koogate generates on first start so that a
//! zero-configuration `koogate serve` is secure by default and stable across restarts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};
use crate::domain::license_issue::LicenseSigner;
use crate::secret_box::SecretBox;

/// A configured secret: `Debug` never shows it, nor does an error about its value. It is read
/// from a string only (see `config::setting`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Secrets created by koogate itself, kept in `{data_dir}/secrets.toml` (mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GeneratedSecrets {
    pub access_key: String,
    pub api_token: String,
    pub master_key: String,
    pub hook_secret: String,
    /// Added after the first release: a file written before it lacks the key, which is then
    /// generated and the file rewritten ([`Self::load_or_create`]).
    #[serde(default)]
    pub license_signing_key: String,
    /// Sandbox open-API credentials (used only in sandbox mode).
    pub sandbox_ak: String,
    pub sandbox_sk: String,
}

impl GeneratedSecrets {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("secrets.toml")
    }

    /// Reads the file, or creates it with fresh random values. Returns whether it was created.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, bool), ConfigError> {
        Self::load_or_create_for(data_dir, false)
    }

    /// Like [`Self::load_or_create`]; `license_key_configured` skips adding a license signing
    /// key to a file written before it existed (so a configured key needs no writable file).
    pub fn load_or_create_for(
        data_dir: &Path,
        license_key_configured: bool,
    ) -> Result<(Self, bool), ConfigError> {
        let path = Self::path(data_dir);
        let err = |cause| ConfigError::Secrets {
            path: path.clone(),
            cause,
        };
        if let Some(mut secrets) = Self::load(data_dir)? {
            if secrets.license_signing_key.is_empty() && !license_key_configured {
                secrets.license_signing_key = LicenseSigner::generate_hex_seed();
                let text = toml::to_string(&secrets)
                    .map_err(|e| err(std::io::Error::other(e.to_string())))?;
                replace_private(&path, &text).map_err(err)?;
            }
            return Ok((secrets, false));
        }
        crate::private_files::private_dir(data_dir).map_err(err)?;
        let secrets = Self::generate();
        let text =
            toml::to_string(&secrets).map_err(|e| err(std::io::Error::other(e.to_string())))?;
        write_private(&path, &text).map_err(err)?;
        Ok((secrets, true))
    }

    /// Reads the file without creating anything (`koogate doctor`); `None` when it does not exist.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, ConfigError> {
        let path = Self::path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| ConfigError::Toml {
                    path: path.clone(),
                    message: e.message().to_owned(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(ConfigError::Secrets { path, cause }),
        }
    }

    fn generate() -> Self {
        Self {
            access_key: random_token(32),
            api_token: random_token(40),
            master_key: SecretBox::generate_key(),
            hook_secret: format!("whsec_{}", random_base64(24)),
            license_signing_key: LicenseSigner::generate_hex_seed(),
            sandbox_ak: format!("SANDBOX{}", random_token(13).to_ascii_uppercase()),
            sandbox_sk: random_token(40),
        }
    }

    /// Fills every unset secret in `config` from these values.
    pub fn fill(&self, config: &mut Config) {
        let fill = |slot: &mut Option<Secret>, value: &str| {
            if slot.is_none() {
                *slot = Some(Secret::new(value));
            }
        };
        fill(&mut config.access_key, &self.access_key);
        fill(&mut config.api_token, &self.api_token);
        fill(&mut config.master_key, &self.master_key);
        fill(&mut config.hook_secret, &self.hook_secret);
        if !self.license_signing_key.is_empty() {
            fill(&mut config.license_signing_key, &self.license_signing_key);
        }
    }
}

fn random_token(len: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn random_base64(bytes: usize) -> String {
    use base64::Engine;
    use rand::Rng;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Writes `text` next to `path` and renames it over `path`, so a crash leaves the old file or the
/// new one, never half of either; the directory is synced so the rename itself survives a power
/// cut. The temporary name is unique, so two processes upgrading at once cannot delete each
/// other's file (the last rename wins, and each process uses what it wrote until restarted).
fn replace_private(path: &Path, text: &str) -> std::io::Result<()> {
    let temp = path.with_extension(format!("toml.{}.new", uuid::Uuid::new_v4().simple()));
    write_private(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
