//! The stored form of an encrypted value, and the binding (AAD) helper.
//!
//! ```text
//! offset  size  field
//! 0       1     format version, = 1
//! 1       1     L = length of the key id (1..=32)
//! 2       L     key id, ASCII (e.g. "k2")
//! 2+L     12    AES-GCM nonce, random per encryption
//! 14+L    n+16  ciphertext (n = plaintext length) followed by the 16-byte GCM tag
//! ```
//!
//! The header (version, length, key id) is authenticated together with the caller's
//! AAD, so changing the key id in a stored value makes it fail to open.

use std::fmt;

use crate::error::{Result, VaultError};
use crate::key_id::{KeyId, MAX_KEY_ID_LEN};

/// Format version written in the first byte of every sealed value.
pub const FORMAT_VERSION: u8 = 1;
/// AES-GCM nonce length in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes.
pub const TAG_LEN: usize = 16;

/// An encrypted value in its stored form (one BLOB / BYTEA column).
///
/// A `Sealed` has always passed the format check, so [`Sealed::key_id`] is cheap and
/// infallible; whether it *opens* is only known with the keyring and the right AAD.
/// The bytes are ciphertext and not secret, but `Debug` still shows only the key id
/// and the length.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    bytes: Vec<u8>,
    key_id: KeyId,
}

impl Sealed {
    /// Checks the format of stored bytes and wraps them.
    ///
    /// # Errors
    /// [`VaultError::Malformed`] if the bytes are not a version-1 sealed value.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Sealed> {
        let bytes = bytes.into();
        let key_id = Sealed::key_id_of(&bytes)?;
        Ok(Sealed { bytes, key_id })
    }

    /// Reads the key id of stored bytes without copying or decrypting them
    /// (what rotation uses to find entries still under an old key).
    ///
    /// # Errors
    /// [`VaultError::Malformed`] if the bytes are not a version-1 sealed value.
    pub fn key_id_of(bytes: &[u8]) -> Result<KeyId> {
        Ok(Layout::parse(bytes)?.key_id)
    }

    /// The id of the key this value was sealed with.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stored form, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Assembles a sealed value from its parts (used by the keyring).
    pub(crate) fn from_parts(key_id: &KeyId, bytes: Vec<u8>) -> Sealed {
        debug_assert_eq!(Sealed::key_id_of(&bytes).ok().as_ref(), Some(key_id));
        Sealed {
            bytes,
            key_id: key_id.clone(),
        }
    }
}

impl AsRef<[u8]> for Sealed {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<Sealed> for Vec<u8> {
    fn from(sealed: Sealed) -> Vec<u8> {
        sealed.bytes
    }
}

impl TryFrom<Vec<u8>> for Sealed {
    type Error = VaultError;
    fn try_from(bytes: Vec<u8>) -> Result<Sealed> {
        Sealed::from_bytes(bytes)
    }
}

impl TryFrom<&[u8]> for Sealed {
    type Error = VaultError;
    fn try_from(bytes: &[u8]) -> Result<Sealed> {
        Sealed::from_bytes(bytes)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The parsed pieces of a sealed value, borrowing the stored bytes.
pub(crate) struct Layout<'a> {
    pub(crate) key_id: KeyId,
    /// Version, id length and id: authenticated as the first part of the GCM AAD.
    pub(crate) header: &'a [u8],
    pub(crate) nonce: &'a [u8; NONCE_LEN],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: &'a [u8; TAG_LEN],
}

impl<'a> Layout<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Layout<'a>> {
        let (&version, rest) = bytes
            .split_first()
            .ok_or(VaultError::Malformed("empty value"))?;
        if version != FORMAT_VERSION {
            return Err(VaultError::Malformed("unsupported format version"));
        }
        let (&id_len, rest) = rest
            .split_first()
            .ok_or(VaultError::Malformed("truncated header"))?;
        let id_len = usize::from(id_len);
        if id_len == 0 || id_len > MAX_KEY_ID_LEN {
            return Err(VaultError::Malformed("bad key id length"));
        }
        if rest.len() < id_len + NONCE_LEN + TAG_LEN {
            return Err(VaultError::Malformed("too short"));
        }
        let (id, rest) = rest.split_at(id_len);
        let key_id = std::str::from_utf8(id)
            .ok()
            .and_then(KeyId::parse)
            .ok_or(VaultError::Malformed("bad key id"))?;
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        Ok(Layout {
            key_id,
            header: &bytes[..2 + id_len],
            nonce: nonce.try_into().expect("split at NONCE_LEN"),
            ciphertext,
            tag: tag.try_into().expect("split at TAG_LEN"),
        })
    }
}

/// The header of a new sealed value: version, id length, id.
pub(crate) fn header(key_id: &KeyId) -> Vec<u8> {
    let id = key_id.as_str().as_bytes();
    let id_len = u8::try_from(id.len()).expect("KeyId is at most 32 bytes");
    let mut out = Vec::with_capacity(2 + id.len());
    out.push(FORMAT_VERSION);
    out.push(id_len);
    out.extend_from_slice(id);
    out
}

/// The GCM associated data: the sealed header followed by the caller's binding.
/// The header is self-delimiting, so the concatenation is unambiguous.
pub(crate) fn gcm_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + aad.len());
    out.extend_from_slice(header);
    out.extend_from_slice(aad);
    out
}

/// Builds the binding (AAD) for a value stored in a given row for a given purpose.
///
/// `purpose` names what the value is (e.g. `"donor.my_number"`), `row_id` is the
/// owning row's id bytes (e.g. the 16 bytes of its UUID). A ciphertext copied to
/// another row or another column then fails to open. Both parts are
/// length-prefixed, so no two different `(purpose, row_id)` pairs give the same AAD.
pub fn aad(purpose: &str, row_id: &[u8]) -> Vec<u8> {
    const PREFIX: &[u8] = b"furusato:aad:v1:";
    let mut out = Vec::with_capacity(PREFIX.len() + 16 + purpose.len() + row_id.len());
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(&(purpose.len() as u64).to_be_bytes());
    out.extend_from_slice(purpose.as_bytes());
    out.extend_from_slice(&(row_id.len() as u64).to_be_bytes());
    out.extend_from_slice(row_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, ct_len: usize) -> Vec<u8> {
        let mut b = header(&KeyId::parse(id).unwrap());
        b.extend_from_slice(&[7u8; NONCE_LEN]);
        b.extend(std::iter::repeat_n(9u8, ct_len + TAG_LEN));
        b
    }

    #[test]
    fn parses_layout() {
        let bytes = sample("k12", 5);
        let l = Layout::parse(&bytes).unwrap();
        assert_eq!(l.key_id.as_str(), "k12");
        assert_eq!(l.header, &[1, 3, b'k', b'1', b'2']);
        assert_eq!(l.nonce, &[7u8; NONCE_LEN]);
        assert_eq!(l.ciphertext, &[9u8; 5]);
        assert_eq!(l.tag, &[9u8; TAG_LEN]);
    }

    #[test]
    fn empty_plaintext_is_well_formed() {
        let bytes = sample("k1", 0);
        assert_eq!(bytes.len(), 2 + 2 + NONCE_LEN + TAG_LEN);
        assert_eq!(Sealed::key_id_of(&bytes).unwrap().as_str(), "k1");
    }

    #[test]
    fn rejects_malformed() {
        let good = sample("k1", 3);
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            vec![2, 2, b'k', b'1'],
            {
                let mut b = good.clone();
                b[0] = 0;
                b
            },
            {
                let mut b = good.clone();
                b[1] = 0;
                b
            },
            {
                let mut b = good.clone();
                b[1] = 33;
                b
            },
            {
                let mut b = good.clone();
                b[2] = b':';
                b
            },
            good[..2 + 2 + NONCE_LEN + TAG_LEN - 1].to_vec(),
        ];
        for case in cases {
            assert!(
                matches!(
                    Sealed::from_bytes(case.clone()),
                    Err(VaultError::Malformed(_))
                ),
                "{case:?} should be malformed"
            );
        }
        assert!(Sealed::from_bytes(good).is_ok());
    }

    #[test]
    fn debug_shows_id_and_length_only() {
        let s = Sealed::from_bytes(sample("k1", 3)).unwrap();
        assert_eq!(format!("{s:?}"), r#"Sealed { key_id: "k1", len: 35 }"#);
    }

    #[test]
    fn aad_is_unambiguous() {
        assert_ne!(aad("ab", b"c"), aad("a", b"bc"));
        assert_ne!(aad("a", b""), aad("", b"a"));
        assert_eq!(
            aad("donor.my_number", b"\x01\x02"),
            aad("donor.my_number", b"\x01\x02")
        );
        assert_ne!(
            aad("donor.my_number", b"\x01"),
            aad("donor.my_number", b"\x02")
        );
    }
}
