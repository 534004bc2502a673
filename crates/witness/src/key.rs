//! The witness's key: made on first start in `DIR/witness.key` (only its owner may read it), its
//! cosignature/v1 verifier key in `DIR/witness.pub`.

use std::fs;
use std::path::{Path, PathBuf};

use sig_share_tlog::{Ed25519Signer, Ed25519Verifier};

/// The private key's file in the data directory.
pub const KEY_FILE: &str = "witness.key";
/// The public (vkey) file in the data directory.
pub const PUB_FILE: &str = "witness.pub";

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The key file is not a key.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Others than its owner may read (or write) the key file.
    #[error(
        "{path} may be read by others than its owner (mode {mode:04o}): a witness key must be private; `chmod 600 {path}` and check who has seen it"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key exists under another name.
    #[error(
        "{path} holds the witness named {have:?}, not {want:?}: a witness's name is part of its identity (its key ID); pass --name {have:?} or use another data directory"
    )]
    OtherName {
        /// The file.
        path: PathBuf,
        /// The name the key has.
        have: String,
        /// The name asked for.
        want: String,
    },
    /// The name cannot be a note key name.
    #[error("the witness name {0:?} cannot name a key: it must be non-empty, without spaces or '+'")]
    BadName(String),
    /// No randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// The witness's signer and whether it was just made.
#[derive(Debug)]
pub struct WitnessKey {
    /// The signing key (its name is the witness's name).
    pub signer: Ed25519Signer,
    /// The cosignature/v1 verifier key (type 0x04), as `witness.pub` holds it.
    pub verifier: Ed25519Verifier,
    /// Whether this start made the key.
    pub created: bool,
}

/// The witness key in `dir`, made with `name` if there is none. With a key present, `name` (if
/// given) must be its name: the name is part of the key's identity.
pub fn load_or_create(dir: &Path, name: Option<&str>, default_name: &str) -> Result<WitnessKey, KeyError> {
    let path = dir.join(KEY_FILE);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| KeyError::Io { path, error }
    };
    let (signer, created) = if path.exists() {
        check_private(&path)?;
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let signer = Ed25519Signer::from_skey(&text)
            .map_err(|e| KeyError::Malformed { path: path.clone(), reason: e.to_string() })?;
        if let Some(want) = name.filter(|n| *n != signer.name()) {
            return Err(KeyError::OtherName { path, have: signer.name().to_owned(), want: want.to_owned() });
        }
        (signer, false)
    } else {
        let name = name.unwrap_or(default_name);
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let signer = Ed25519Signer::from_seed(name, &seed).map_err(|_| KeyError::BadName(name.to_owned()))?;
        create_private_dir(dir).map_err(io(dir))?;
        sig_share_log::embedded::write_private(&path, format!("{}\n", signer.skey()).as_bytes()).map_err(io(&path))?;
        (signer, true)
    };
    let verifier = signer.cosigner_verifier();
    // Written (again) whenever it is missing or stale: it is derived from the key.
    let pub_path = dir.join(PUB_FILE);
    let vkey = format!("{}\n", verifier.vkey());
    if fs::read_to_string(&pub_path).ok().as_deref() != Some(vkey.as_str()) {
        fs::write(&pub_path, vkey).map_err(io(&pub_path))?;
    }
    Ok(WitnessKey { signer, verifier, created })
}

/// Creates `dir` (and its parents) if missing, the directory itself readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Refuses a key file that its group or others may read or write.
fn check_private(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|error| KeyError::Io { path: path.to_owned(), error })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed { path: path.to_owned(), mode });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("w");
        let k = load_or_create(&data, None, "witness.example/w1").unwrap();
        assert!(k.created);
        assert_eq!(k.signer.name(), "witness.example/w1");
        assert!(k.verifier.is_cosigner());
        let vkey = fs::read_to_string(data.join(PUB_FILE)).unwrap();
        assert_eq!(vkey.trim(), k.verifier.vkey());
        assert!(vkey.contains("+B"), "a 0x04 key's base64 starts with B: {vkey}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.join(KEY_FILE)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Again: the same key, whatever the default.
        let again = load_or_create(&data, None, "other").unwrap();
        assert!(!again.created);
        assert_eq!(again.verifier.vkey(), k.verifier.vkey());
        assert!(matches!(load_or_create(&data, Some("other"), "x"), Err(KeyError::OtherName { .. })));
        assert!(matches!(load_or_create(&dir.path().join("v"), Some("bad name"), "x"), Err(KeyError::BadName(_))));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path(), Some("w"), "w").unwrap();
        let key = dir.path().join(KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(dir.path(), None, "w").unwrap_err();
        assert!(matches!(err, KeyError::Exposed { mode: 0o644, .. }), "{err}");
        assert!(!err.to_string().contains("PRIVATE"), "the key never appears in an error");
    }
}
