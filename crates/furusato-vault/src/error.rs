//! The vault's error type.
//!
//! No variant carries plaintext or key bytes. Key ids and file paths are not secret
//! and do appear; reasons for rejecting key material are fixed phrases written by
//! this crate, never text copied from the input (serde/hex messages can quote it).

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::KeyId;

/// Result alias for this crate.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Where key material was read from; named in [`VaultError::BadKeys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file at this path.
    File(PathBuf),
    /// The environment variable of this name (normally `FURUSATO_VAULT_KEYS`).
    Env(&'static str),
    /// JSON handed to [`Keyring::from_json`](crate::Keyring::from_json).
    Json,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "key file {}", path.display()),
            KeySource::Env(name) => write!(f, "environment variable {name}"),
            KeySource::Json => f.write_str("key JSON"),
        }
    }
}

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Authentication failed: wrong key, wrong binding (AAD: purpose or row id),
    /// or the stored value was altered.
    #[error("decryption failed: wrong key, wrong binding (purpose/row) or tampered data")]
    Decrypt,

    /// The sealed value names a key that is not in the keyring.
    #[error("unknown key id {0}: the keyring does not hold this key")]
    UnknownKeyId(KeyId),

    /// The stored bytes are not a sealed value of a supported format.
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),

    /// The key file / environment variable / JSON is not a valid keyring.
    #[error("bad key material in {origin}: {reason}")]
    BadKeys {
        /// Where the keys came from.
        origin: KeySource,
        /// What is wrong, in words written by this crate.
        reason: String,
    },

    /// `keyfile::init` found a file already at the path.
    #[error("key file {} already exists; refusing to overwrite it", .path.display())]
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },

    /// Reading or writing a key file failed.
    #[error("cannot {action} key file {}: {source}", .path.display())]
    KeyFileIo {
        /// The key file (or its temporary sibling).
        path: PathBuf,
        /// What was being done: "read", "write", "rename", …
        action: &'static str,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The environment variable holding the keys is not set (or not Unicode).
    #[error("environment variable {0} is not set")]
    EnvNotSet(&'static str),

    /// A key cannot be retired (it is the active key, or not in the file).
    #[error("cannot retire key {id}: {reason}")]
    Retire {
        /// The key that was asked to be retired.
        id: KeyId,
        /// Why not.
        reason: &'static str,
    },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

impl VaultError {
    pub(crate) fn bad_keys(origin: &KeySource, reason: impl Into<String>) -> VaultError {
        VaultError::BadKeys {
            origin: origin.clone(),
            reason: reason.into(),
        }
    }
}
