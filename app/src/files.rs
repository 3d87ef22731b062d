//! Files `vatd` writes outside RocksDB (genesis, keys, `upgrade-info.json`, bundles),
//! written so that a crash or an I/O error never leaves one half-written or zeroed: the
//! bytes go to a temporary file in the same directory, which is synced and then renamed
//! (or linked, when an existing file must not be replaced) into place, and the directory
//! is synced so the new name survives a power cut.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How the file may be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Replace any existing file; readable as the umask allows.
    Replace,
    /// Fail if the file exists; readable by the owner only (key files).
    NewPrivate,
}

/// Writes `bytes` to `path` atomically and durably (see the module docs).
pub fn write(path: &Path, bytes: &[u8], mode: Mode) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = open_new(&tmp, mode)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        match mode {
            Mode::Replace => std::fs::rename(&tmp, path)?,
            // A link fails if `path` exists: never replace a key.
            Mode::NewPrivate => {
                std::fs::hard_link(&tmp, path)?;
                std::fs::remove_file(&tmp)?;
            }
        }
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn open_new(path: &Path, mode: Mode) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    if mode == Mode::NewPrivate {
        o.mode(0o600);
    }
    // A temporary file left by a crashed earlier run of this same pid is stale.
    let _ = std::fs::remove_file(path);
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_and_keys_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("genesis.json");
        write(&p, b"one", Mode::Replace).expect("write");
        write(&p, b"two", Mode::Replace).expect("replace");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        let k = dir.path().join("key.json");
        write(&k, b"secret", Mode::NewPrivate).expect("key");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&k).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(write(&k, b"other", Mode::NewPrivate).is_err());
        assert_eq!(std::fs::read(&k).expect("read"), b"secret");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "no temporary file is left");
    }
}
