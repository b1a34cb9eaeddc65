//! Key files: creation, rotation and retirement of data keys.
//!
//! A key file holds the keyring as JSON (see [`Keyring::from_json`]). It must live
//! outside the database and preferably off the database host. On unix it is
//! written with mode `0600`. Changes are written atomically: a temporary file
//! `.<name>.tmp` next to the key file, synced, then renamed over it. The temporary
//! file is created exclusively before the key file is read, so it also acts as a
//! lock: two concurrent key operations cannot lose each other's keys (the second
//! fails with an "already exists" error on the temporary file).
//!
//! Rotation procedure:
//! 1. [`add_key_for_rotation`]: a new data key becomes active; old keys stay.
//! 2. Restart the servers so they seal with the new key.
//! 3. Reseal every entry still under an old key ([`Keyring::needs_reseal`], [`Keyring::reseal`]).
//! 4. When no entry uses an old key any more, [`retire_key`] it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{KeySource, Result, VaultError};
use crate::json;
use crate::key_id::KeyId;
use crate::keyring::Keyring;

/// Creates a new key file at `path` with fresh random keys (data key `k1`, active;
/// blind-index key `b1`) and returns the keyring.
///
/// # Errors
/// [`VaultError::KeyFileExists`] if anything exists at `path` (it is never
/// overwritten), [`VaultError::KeyFileIo`] if writing fails, [`VaultError::Rng`].
pub fn init(path: impl AsRef<Path>) -> Result<Keyring> {
    let path = path.as_ref();
    if fs::symlink_metadata(path).is_ok() {
        return Err(VaultError::KeyFileExists {
            path: path.to_owned(),
        });
    }
    let keyring = Keyring::generate()?;
    let content = json::render(&keyring);
    // `create_new` makes the no-overwrite check race-free.
    let mut file = create_private(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => VaultError::KeyFileExists {
            path: path.to_owned(),
        },
        _ => io_error(path, "create", e),
    })?;
    if let Err(e) = file.write_all(&content).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(io_error(path, "write", e));
    }
    sync_parent(path)?;
    Ok(keyring)
}

/// Adds a new random data key to the key file at `path` and makes it active,
/// keeping the old keys (still needed to open entries until they are resealed).
/// Returns the updated keyring and the id of the new active key (`k<n+1>`).
/// The blind-index key is unchanged.
///
/// # Errors
/// [`VaultError::KeyFileIo`] / [`VaultError::BadKeys`] if the file cannot be read,
/// parsed or rewritten, [`VaultError::Rng`].
pub fn add_key_for_rotation(path: impl AsRef<Path>) -> Result<(Keyring, KeyId)> {
    update(path.as_ref(), |keyring| keyring.add_data_key())
}

/// Removes the data key `id` from the key file at `path` and returns the updated
/// keyring. The caller must first check that no stored entry is sealed under it
/// (with [`crate::Sealed::key_id_of`]): values under a retired key can never be
/// opened again.
///
/// # Errors
/// [`VaultError::Retire`] if `id` is the active key or not in the file; otherwise
/// as [`add_key_for_rotation`].
pub fn retire_key(path: impl AsRef<Path>, id: &KeyId) -> Result<Keyring> {
    update(path.as_ref(), |keyring| keyring.remove_data_key(id)).map(|(keyring, ())| keyring)
}

/// Whether the key file can be read or written by users other than its owner
/// (unix mode has group/other bits). Always `false` on other platforms.
/// For `furusato doctor`-style checks; loading does not refuse such files.
///
/// # Errors
/// [`VaultError::KeyFileIo`] if the file's metadata cannot be read.
pub fn permissions_too_open(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let meta = fs::metadata(path).map_err(|e| io_error(path, "inspect", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(meta.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(false)
    }
}

/// Reads and parses a key file.
pub(crate) fn load(path: &Path) -> Result<Keyring> {
    let content = read(path)?;
    json::parse(&content, &KeySource::File(path.to_owned()))
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut file = File::open(path).map_err(|e| io_error(path, "read", e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // Sized up front so the buffer does not reallocate (and leave copies) while reading.
    let capacity = usize::try_from(size).unwrap_or(0).saturating_add(1);
    let mut content = Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut content)
        .map_err(|e| io_error(path, "read", e))?;
    Ok(content)
}

/// Read-modify-write of a key file under the temporary-file lock.
fn update<T>(path: &Path, change: impl FnOnce(&mut Keyring) -> Result<T>) -> Result<(Keyring, T)> {
    let tmp = temp_path(path);
    let mut file = create_private(&tmp).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => VaultError::KeyFileIo {
            path: tmp.clone(),
            action: "lock",
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "another key operation is running, or a previous one crashed \
                 (remove this temporary file if no other operation is running)",
            ),
        },
        _ => io_error(&tmp, "create", e),
    })?;

    let result = (|| {
        let mut keyring = load(path)?;
        let value = change(&mut keyring)?;
        let content = json::render(&keyring);
        file.write_all(&content)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&tmp, "write", e))?;
        fs::rename(&tmp, path).map_err(|e| io_error(path, "replace", e))?;
        Ok((keyring, value))
    })();
    drop(file);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        sync_parent(path)?;
    }
    result
}

/// `.<name>.tmp` in the same directory (so the rename stays on one filesystem).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keys".to_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Creates a new file (never opens an existing one) readable by the owner only.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes the directory entry durable after a create or rename (unix only).
fn sync_parent(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| io_error(parent, "sync directory of", e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn io_error(path: &Path, action: &'static str, source: io::Error) -> VaultError {
    VaultError::KeyFileIo {
        path: path.to_owned(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aad;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn init_rotate_load_round_trip() {
        let d = dir();
        let path = d.path().join("vault-keys.json");

        let created = init(&path).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert!(!permissions_too_open(&path).unwrap());
        assert_eq!(created.active_key_id().as_str(), "k1");

        let loaded = Keyring::load_file(&path).unwrap();
        let a = aad("donor.my_number", b"row-1");
        let under_k1 = created.seal(b"secret-1", &a);
        assert_eq!(loaded.open(&under_k1, &a).unwrap().as_slice(), b"secret-1");
        assert_eq!(
            loaded.blind_index("my_number", b"x"),
            created.blind_index("my_number", b"x")
        );

        let (rotated, new_id) = add_key_for_rotation(&path).unwrap();
        assert_eq!(new_id.as_str(), "k2");
        assert_eq!(rotated.active_key_id(), &new_id);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert!(!temp_path(&path).exists());

        let reloaded = Keyring::load_file(&path).unwrap();
        assert_eq!(reloaded.active_key_id().as_str(), "k2");
        let ids: Vec<_> = reloaded.data_key_ids().map(KeyId::as_str).collect();
        assert_eq!(ids, ["k1", "k2"]);
        // Old entries still open; the blind-index key did not change.
        assert_eq!(
            reloaded.open(&under_k1, &a).unwrap().as_slice(),
            b"secret-1"
        );
        assert_eq!(
            reloaded.blind_index("my_number", b"x"),
            created.blind_index("my_number", b"x")
        );
        assert_eq!(reloaded.blind_index_key_id().as_str(), "b1");

        // Reseal, then retire k1.
        let moved = reloaded.reseal(&under_k1, &a).unwrap();
        assert_eq!(moved.key_id().as_str(), "k2");
        let k1 = KeyId::parse("k1").unwrap();
        let after = retire_key(&path, &k1).unwrap();
        assert!(!after.has_data_key(&k1));
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);

        let final_ring = Keyring::load_file(&path).unwrap();
        assert_eq!(final_ring.data_key_ids().count(), 1);
        assert_eq!(final_ring.open(&moved, &a).unwrap().as_slice(), b"secret-1");
        assert!(matches!(
            final_ring.open(&under_k1, &a),
            Err(VaultError::UnknownKeyId(_))
        ));

        // Rotating again gives k3, never reusing ids.
        let (_, id3) = add_key_for_rotation(&path).unwrap();
        assert_eq!(id3.as_str(), "k3");
    }

    #[test]
    fn init_refuses_to_overwrite() {
        let d = dir();
        let path = d.path().join("keys.json");
        fs::write(&path, "not mine").unwrap();
        let err = init(&path).unwrap_err();
        assert!(matches!(err, VaultError::KeyFileExists { .. }), "{err:?}");
        assert!(err.to_string().contains("already exists"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not mine");

        // Also when the existing file is a key file.
        let path2 = d.path().join("keys2.json");
        init(&path2).unwrap();
        let before = fs::read(&path2).unwrap();
        assert!(matches!(
            init(&path2),
            Err(VaultError::KeyFileExists { .. })
        ));
        assert_eq!(fs::read(&path2).unwrap(), before);
    }

    #[test]
    fn retire_refuses_active_and_unknown_keys_and_leaves_file_alone() {
        let d = dir();
        let path = d.path().join("keys.json");
        init(&path).unwrap();
        let before = fs::read(&path).unwrap();
        let k1 = KeyId::parse("k1").unwrap();
        let err = retire_key(&path, &k1).unwrap_err();
        assert!(err.to_string().contains("active key"), "{err}");
        let k7 = KeyId::parse("k7").unwrap();
        assert!(matches!(
            retire_key(&path, &k7),
            Err(VaultError::Retire { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn concurrent_operation_is_refused_by_the_lock() {
        let d = dir();
        let path = d.path().join("keys.json");
        init(&path).unwrap();
        fs::write(temp_path(&path), "").unwrap();
        let err = add_key_for_rotation(&path).unwrap_err();
        assert!(err.to_string().contains("another key operation"), "{err}");
        // The key file was not touched and the foreign lock was not removed.
        assert_eq!(Keyring::load_file(&path).unwrap().data_key_ids().count(), 1);
        assert!(temp_path(&path).exists());
    }

    #[test]
    fn bad_file_errors_name_the_path_but_not_the_key() {
        let d = dir();
        let path = d.path().join("keys.json");
        let hex_key = "ab".repeat(31); // 62 digits: too short
        fs::write(
            &path,
            format!(
                r#"{{"version":1,"active":"k1","keys":{{"k1":"{hex_key}"}},"blind_index":{{"id":"b1","key":"{}"}}}}"#,
                "cd".repeat(32)
            ),
        )
        .unwrap();
        let err = Keyring::load_file(&path).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            !text.contains(&hex_key[..16]) && !text.contains(&"cd".repeat(8)),
            "{text}"
        );

        let missing = d.path().join("missing.json");
        assert!(matches!(
            Keyring::load_file(&missing),
            Err(VaultError::KeyFileIo { action: "read", .. })
        ));
        assert!(matches!(
            add_key_for_rotation(&missing),
            Err(VaultError::KeyFileIo { .. })
        ));
        assert!(!temp_path(&missing).exists());
    }

    #[cfg(unix)]
    #[test]
    fn reports_open_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir();
        let path = d.path().join("keys.json");
        init(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(permissions_too_open(&path).unwrap());
        // Rotation writes a fresh 0600 file.
        add_key_for_rotation(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
