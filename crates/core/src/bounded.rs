//! Bounded reads: no probe or command reads more of a file than it can hold. A read that
//! fails says why in a type: a caller that treats "missing" specially (a config file whose
//! absence means defaults) must not treat "unreadable" the same way.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file a probe reads: config files and content checks.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read (missing, permission denied, a symlink loop...).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file (a FIFO, a device, a socket): reading it could block forever or
    /// never end.
    #[error("cannot read {}: not a regular file ({kind})", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    /// The file is larger than the limit.
    #[error("{} is larger than {limit} bytes; shipcheck does not read it", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
}

impl ReadError {
    /// Whether the file does not exist (and nothing else went wrong). Permission denied, a
    /// symlink loop or a folder in the way are not "missing".
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl From<ReadError> for String {
    fn from(e: ReadError) -> String {
        e.to_string()
    }
}

/// Reads at most `limit` bytes of a file, saying so if it is larger.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = open_regular(path)?;
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(buf)
}

/// Opens `path` for reading without blocking (a FIFO with no writer would block `open`),
/// and refuses anything but a regular file.
pub fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer. It has no
    // effect on reads of a regular file.
    #[cfg(target_os = "linux")]
    const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(target_os = "linux"))]
    const O_NONBLOCK: i32 = 0x0004;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
    let meta = file.metadata().map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(file);
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    };
    Err(ReadError::NotAFile {
        path: path.to_owned(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_not_unreadable() {
        let dir = std::env::temp_dir().join(format!("shipcheck-bounded-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let missing = read_bounded(&dir.join("nope"), 10).unwrap_err();
        assert!(missing.is_not_found(), "{missing}");
        // A symlink loop does not exist for `Path::exists`, but it is not missing.
        let a = dir.join("a");
        std::os::unix::fs::symlink(dir.join("b"), &a).unwrap();
        std::os::unix::fs::symlink(&a, dir.join("b")).unwrap();
        let looped = read_bounded(&a, 10).unwrap_err();
        assert!(!looped.is_not_found(), "{looped}");
        // A folder in the way is not missing either.
        let folder = read_bounded(&dir, 10).unwrap_err();
        assert!(!folder.is_not_found(), "{folder}");
        std::fs::write(dir.join("big"), [0u8; 11]).unwrap();
        assert!(matches!(
            read_bounded(&dir.join("big"), 10),
            Err(ReadError::TooLarge { limit: 10, .. })
        ));
        assert_eq!(read_bounded(&dir.join("big"), 11).unwrap().len(), 11);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
