//! # furusato-vault
//!
//! Encryption of 特定個人情報 (個人番号, later identity-document images) and other
//! secret fields, independent of the database: the database stores opaque bytes,
//! the keys come from outside it.
//!
//! ```
//! use furusato_vault::{Keyring, aad};
//!
//! let keyring = Keyring::generate()?; // in production: Keyring::load_file / from_env
//! let row_id = [7u8; 16];             // the owning row's UUID bytes
//! let binding = aad("donor.my_number", &row_id);
//!
//! let sealed = keyring.seal(b"000000000000", &binding);
//! let stored: Vec<u8> = sealed.into_bytes(); // one BLOB / BYTEA column
//!
//! let plain = keyring.open(&stored, &binding)?; // Zeroizing<Vec<u8>>
//! assert_eq!(plain.as_slice(), b"000000000000");
//!
//! // Exact-match lookup without decrypting: store this in an indexed column.
//! let index: [u8; 32] = keyring.blind_index("my_number", b"000000000000");
//! # let _ = index;
//! # Ok::<(), furusato_vault::VaultError>(())
//! ```
//!
//! ## Keys
//!
//! A [`Keyring`] holds 256-bit data-encryption keys with ids (`k1`, `k2`, …), exactly
//! one of them *active* for new encryptions, and one separate 256-bit blind-index
//! key with its own id (`b1`). It is loaded from a key file ([`keyfile`], mode 0600)
//! or from the `FURUSATO_VAULT_KEYS` environment variable, both holding
//! `{"version":1,"active":"k2","keys":{"k1":"<64 hex>","k2":"…"},"blind_index":{"id":"b1","key":"<64 hex>"}}`.
//! Key material is kept in heap boxes that are zeroized on drop; `Debug` shows ids only,
//! and no error ever contains key bytes or plaintext.
//!
//! Data keys rotate: [`keyfile::add_key_for_rotation`] makes a new key active and
//! keeps the old ones, [`Keyring::reseal`] moves each entry to the active key, and
//! [`keyfile::retire_key`] drops an old key once nothing uses it. The blind-index key
//! is never rotated by this crate, since every stored index would change.
//!
//! ## Sealed format
//!
//! AES-256-GCM with a random 96-bit nonce per encryption. Stored form ([`Sealed`]):
//!
//! ```text
//! version (1 byte, = 1) || key-id length L (1 byte) || key id (L bytes, ASCII)
//!   || nonce (12 bytes) || ciphertext || GCM tag (16 bytes)
//! ```
//!
//! The GCM associated data is the header (version, length, key id) followed by the
//! caller's binding, normally [`aad`]`(purpose, row_id)`. A ciphertext copied to
//! another row or column, or with its key id edited, fails to open. The key id is
//! readable without decrypting ([`Sealed::key_id_of`]), which is how rotation finds
//! entries still under an old key. Random nonces are safe for up to about 2³²
//! encryptions per key; rotate well before that.
//!
//! ## Blind index
//!
//! [`Keyring::blind_index`] = HMAC-SHA256(blind-index key, `"furusato:" + purpose + ":v1:" + value`):
//! deterministic, so equal normalized values can be found by an indexed equality
//! lookup, and separated by purpose.
//!
//! ## Threat model
//!
//! - **A database dump or backup alone reveals nothing** about sealed values: it holds
//!   only ciphertext, key ids and blind indexes. The keys never enter the database.
//! - **Keep key files off the database host** (and out of database backups). With the
//!   blind-index key, an attacker holding a dump can brute-force the blind index of a
//!   個人番号: the keyspace is at most 10¹² (really 10¹¹: 11 digits + check digit),
//!   hours to days of HMAC computation on one machine. Without the key, the index reveals nothing beyond
//!   equality of values.
//! - Whoever holds the data keys *and* the database can read everything: access to
//!   the key file is equivalent to access to the 個人番号. The application decides
//!   who may call [`Keyring::open`] and audits each reveal; this crate does not.
//! - Plaintext returned by [`Keyring::open`] is in a `Zeroizing` buffer, wiped when
//!   dropped; copies the caller makes are the caller's responsibility.

mod error;
mod json;
mod key_id;
pub mod keyfile;
mod keyring;
mod sealed;

pub use error::{KeySource, Result, VaultError};
pub use key_id::{KeyId, MAX_KEY_ID_LEN};
pub use keyring::{ENV_VAR, KEY_LEN, Keyring};
pub use sealed::{FORMAT_VERSION, NONCE_LEN, Sealed, TAG_LEN, aad};
pub use zeroize::Zeroizing;
