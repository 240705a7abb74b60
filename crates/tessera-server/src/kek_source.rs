//! Where the key-encryption key comes from, and the rules that keep it from being replaced by
//! accident.
//!
//! Order: the configured value (`key_encryption_key`, e.g. `TESSERA_KEY_ENCRYPTION_KEY`), else
//! the KEK file. A missing file is created (mode 0600) only when the store holds no signing keys
//! yet; otherwise starting would mean generating new keys over old ones that can no longer be
//! read, so Tessera refuses with a message instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use tessera_core::{KekError, KeyEncryptionKey};

/// Why the key-encryption key could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekSourceError {
    /// The configured value is malformed.
    #[error("the configured key_encryption_key is invalid: {0}")]
    ConfiguredMalformed(KekError),
    /// The file exists but is malformed.
    #[error("the key-encryption key file {path} is invalid: {source}")]
    FileMalformed {
        /// The file.
        path: PathBuf,
        /// Why.
        source: KekError,
    },
    /// The file is missing although keys sealed under it exist.
    #[error(
        "the key-encryption key file {path} is missing, but the store holds {sealed_keys} signing key(s) \
         sealed under a key-encryption key. Restore the file (or set TESSERA_KEY_ENCRYPTION_KEY); \
         Tessera will not generate new keys over the old ones"
    )]
    MissingWithKeys {
        /// The expected file.
        path: PathBuf,
        /// How many sealed keys exist.
        sealed_keys: usize,
    },
    /// The file could not be read or created.
    #[error("the key-encryption key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// How the KEK was obtained, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekOrigin {
    /// From configuration or the environment.
    Configured,
    /// Read from an existing file.
    File(PathBuf),
    /// A new file was created.
    Created(PathBuf),
}

/// Obtains the KEK. `sealed_keys` is how many signing keys the store holds.
pub fn obtain(
    configured: Option<&str>,
    file: &Path,
    sealed_keys: usize,
) -> Result<(KeyEncryptionKey, KekOrigin), KekSourceError> {
    if let Some(encoded) = configured {
        let kek =
            KeyEncryptionKey::from_base64(encoded).map_err(KekSourceError::ConfiguredMalformed)?;
        return Ok((kek, KekOrigin::Configured));
    }
    let io = |source| KekSourceError::Io {
        path: file.to_owned(),
        source,
    };
    match std::fs::read_to_string(file) {
        Ok(encoded) => {
            warn_if_readable_by_others(file);
            let kek = KeyEncryptionKey::from_base64(&encoded).map_err(|source| {
                KekSourceError::FileMalformed {
                    path: file.to_owned(),
                    source,
                }
            })?;
            Ok((kek, KekOrigin::File(file.to_owned())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if sealed_keys > 0 {
                return Err(KekSourceError::MissingWithKeys {
                    path: file.to_owned(),
                    sealed_keys,
                });
            }
            let (kek, encoded) = KeyEncryptionKey::generate();
            write_new_secret_file(file, encoded.as_bytes()).map_err(io)?;
            Ok((kek, KekOrigin::Created(file.to_owned())))
        }
        Err(e) => Err(io(e)),
    }
}

/// Creates `path` with mode 0600 (never overwriting an existing file) and writes `contents`.
fn write_new_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the key-encryption key file is readable by other users; chmod 600 it"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let (kek, origin) = obtain(None, &path, 0).unwrap();
        assert_eq!(origin, KekOrigin::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = kek.seal("k", b"secret");
        let (again, origin) = obtain(None, &path, 1).unwrap();
        assert_eq!(origin, KekOrigin::File(path));
        assert!(
            again.open("k", &sealed).is_ok(),
            "the same key is read back"
        );
    }

    #[test]
    fn a_missing_file_with_sealed_keys_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let err = obtain(None, &path, 2).unwrap_err();
        assert!(matches!(
            err,
            KekSourceError::MissingWithKeys { sealed_keys: 2, .. }
        ));
        assert!(err.to_string().contains("will not generate new keys"));
        assert!(!path.exists(), "nothing was written");
    }

    #[test]
    fn malformed_sources_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            obtain(None, &path, 0).unwrap_err(),
            KekSourceError::FileMalformed { .. }
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "not a key",
            "left untouched"
        );
        assert!(matches!(
            obtain(Some("short"), &path, 0).unwrap_err(),
            KekSourceError::ConfiguredMalformed(_)
        ));
    }
}
