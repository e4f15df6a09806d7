//! Applying a plan with care: every target checked first (no symbolic link, writable,
//! unchanged since it was read), a timestamped backup of each file and mode written before
//! anything changes, each file replaced atomically (temporary file in the same folder,
//! fsync, rename) with its mode and owner kept, and on any failure what was already changed
//! restored from the backup. `undo` restores the last backup byte for byte.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// Why a plan was not applied (nothing was changed, or all of it was restored).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{path}: {why}; nothing was changed")]
    Refused { path: String, why: String },
    #[error("{path}: {why}; the files already changed were restored from the backup {backup}")]
    RolledBack {
        path: String,
        why: String,
        backup: String,
    },
    #[error("the backup could not be written ({0}); nothing was changed")]
    Backup(String),
    #[error("{0}")]
    Undo(String),
}

/// One entry of a backup's manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Saved {
    pub path: PathBuf,
    /// The file's bytes before, in the backup folder (`None` for a chmod alone).
    pub copy: Option<String>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// SHA-256 of the content before and after.
    pub before: String,
    pub after: String,
    /// The mode after (a chmod), when it changed.
    #[serde(default)]
    pub mode_after: Option<u32>,
}

/// A backup: where it is, what it saved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub at: String,
    pub items: Vec<String>,
    pub saved: Vec<Saved>,
    #[serde(default)]
    pub undone: bool,
}

/// The folder backups are kept in: `$SHIPCHECK_STATE_DIR`, else `$XDG_STATE_HOME/shipcheck`,
/// else `~/.local/state/shipcheck`; backups under `fix/`.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SHIPCHECK_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("shipcheck")
}

fn sha(bytes: &[u8]) -> String {
    shipcheck_core::hex::sha256(bytes)
}

/// Checks every target of `plan` before anything is written.
fn check_targets(plan: &Plan) -> Result<(), ApplyError> {
    let refuse = |path: &Path, why: String| ApplyError::Refused {
        path: path.display().to_string(),
        why,
    };
    for f in &plan.files {
        let meta =
            std::fs::symlink_metadata(&f.path).map_err(|e| refuse(&f.path, e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(refuse(
                &f.path,
                "a symbolic link (edit its target by hand)".into(),
            ));
        }
        if meta.permissions().mode() & 0o200 == 0
            || rustix::fs::access(&f.path, rustix::fs::Access::WRITE_OK).is_err()
        {
            return Err(refuse(&f.path, "read-only: not changed".into()));
        }
        let dir = f.path.parent().unwrap_or(Path::new("."));
        if rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err() {
            return Err(refuse(
                dir,
                "the folder is not writable (a file is replaced by a rename in it)".into(),
            ));
        }
        let now = std::fs::read(&f.path).map_err(|e| refuse(&f.path, e.to_string()))?;
        if now != f.before.as_bytes() {
            return Err(refuse(
                &f.path,
                "changed since it was read: run `shipcheck fix` again to see the new diff".into(),
            ));
        }
    }
    for m in &plan.modes {
        let meta =
            std::fs::symlink_metadata(&m.path).map_err(|e| refuse(&m.path, e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(refuse(&m.path, "a symbolic link".into()));
        }
        if meta.permissions().mode() & 0o7777 != m.from {
            return Err(refuse(&m.path, "its mode changed since it was read".into()));
        }
    }
    Ok(())
}

/// Applies `plan` for `items`; returns the backup's folder.
pub fn apply(plan: &Plan, state: &Path) -> Result<PathBuf, ApplyError> {
    check_targets(plan)?;
    let at = jiff::Timestamp::now();
    let dir = state.join("fix").join(format!(
        "{}-{}",
        at.strftime("%Y%m%dT%H%M%S%.fZ"),
        std::process::id()
    ));
    let backup_err = |e: std::io::Error| ApplyError::Backup(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(backup_err)?;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    let mut saved = Vec::new();
    for (n, f) in plan.files.iter().enumerate() {
        let meta = std::fs::metadata(&f.path).map_err(backup_err)?;
        let copy = format!("{n}.orig");
        write_synced(&dir.join(&copy), f.before.as_bytes(), 0o600).map_err(backup_err)?;
        saved.push(Saved {
            path: f.path.clone(),
            copy: Some(copy),
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            before: sha(f.before.as_bytes()),
            after: sha(f.after.as_bytes()),
            mode_after: None,
        });
    }
    for m in &plan.modes {
        let meta = std::fs::metadata(&m.path).map_err(backup_err)?;
        saved.push(Saved {
            path: m.path.clone(),
            copy: None,
            mode: m.from,
            uid: meta.uid(),
            gid: meta.gid(),
            before: String::new(),
            after: String::new(),
            mode_after: Some(m.to),
        });
    }
    for o in &plan.owners {
        let meta = std::fs::metadata(&o.path).map_err(backup_err)?;
        saved.push(Saved {
            path: o.path.clone(),
            copy: None,
            mode: meta.permissions().mode() & 0o7777,
            uid: o.from.0,
            gid: o.from.1,
            before: String::new(),
            after: String::new(),
            mode_after: None,
        });
    }
    let manifest = Manifest {
        at: at.to_string(),
        items: plan.items.clone(),
        saved,
        undone: false,
    };
    write_manifest(&dir, &manifest).map_err(backup_err)?;
    // Now the changes; on a failure, what changed is put back.
    let mut done = 0;
    let result = (|| {
        for (f, s) in plan.files.iter().zip(&manifest.saved) {
            replace(&f.path, f.after.as_bytes(), s).map_err(|e| (f.path.clone(), e))?;
            done += 1;
        }
        for m in &plan.modes {
            std::fs::set_permissions(&m.path, std::fs::Permissions::from_mode(m.to))
                .map_err(|e| (m.path.clone(), e))?;
            done += 1;
        }
        for o in &plan.owners {
            std::os::unix::fs::chown(&o.path, Some(o.to.0), Some(o.to.1))
                .map_err(|e| (o.path.clone(), e))?;
            done += 1;
        }
        Ok::<(), (PathBuf, std::io::Error)>(())
    })();
    if let Err((path, e)) = result {
        let _ = restore(&dir, &manifest.saved[..done]);
        return Err(ApplyError::RolledBack {
            path: path.display().to_string(),
            why: e.to_string(),
            backup: dir.display().to_string(),
        });
    }
    Ok(dir)
}

/// Replaces `path` with `bytes` atomically, keeping the mode and owner in `saved`.
fn replace(path: &Path, bytes: &[u8], saved: &Saved) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.shipcheck-{}.tmp", std::process::id()));
    let written = (|| {
        write_synced(&tmp, bytes, saved.mode)?;
        // The owner is kept where this process may set it (root, or the owner itself).
        let _ = std::os::unix::fs::chown(&tmp, Some(saved.uid), Some(saved.gid));
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(saved.mode))?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn write_manifest(dir: &Path, m: &Manifest) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(m).map_err(std::io::Error::other)?;
    let tmp = dir.join("manifest.json.tmp");
    let _ = std::fs::remove_file(&tmp);
    write_synced(&tmp, &text, 0o600)?;
    std::fs::rename(&tmp, dir.join("manifest.json"))
}

/// Puts the saved files and modes back.
fn restore(dir: &Path, saved: &[Saved]) -> std::io::Result<()> {
    for s in saved {
        match &s.copy {
            Some(copy) => {
                let bytes = std::fs::read(dir.join(copy))?;
                replace(&s.path, &bytes, s)?;
            }
            None => {
                std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(s.mode))?;
                let meta = std::fs::metadata(&s.path)?;
                if (meta.uid(), meta.gid()) != (s.uid, s.gid) {
                    std::os::unix::fs::chown(&s.path, Some(s.uid), Some(s.gid))?;
                }
            }
        }
    }
    Ok(())
}

/// Restores the last backup not yet undone; refuses when a file changed since the fix
/// (undoing would lose that change). Returns the manifest restored.
pub fn undo(state: &Path) -> Result<Manifest, ApplyError> {
    let root = state.join("fix");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| ApplyError::Undo(format!("no fix to undo ({}: {e})", root.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs.iter().rev() {
        let text = std::fs::read(dir.join("manifest.json"))
            .map_err(|e| ApplyError::Undo(format!("{}: {e}", dir.display())))?;
        let mut m: Manifest = serde_json::from_slice(&text)
            .map_err(|e| ApplyError::Undo(format!("{}: a damaged manifest: {e}", dir.display())))?;
        if m.undone {
            continue;
        }
        for s in &m.saved {
            let changed = match (&s.copy, s.mode_after) {
                (Some(_), _) => std::fs::read(&s.path)
                    .map(|b| sha(&b) != s.after)
                    .unwrap_or(true),
                (None, Some(after)) => std::fs::metadata(&s.path)
                    .map(|meta| meta.permissions().mode() & 0o7777 != after)
                    .unwrap_or(true),
                (None, None) => false,
            };
            if changed {
                return Err(ApplyError::Undo(format!(
                    "{} changed since the fix of {}: undoing would lose that change; its copy before the fix is in {}",
                    s.path.display(),
                    m.at,
                    dir.display()
                )));
            }
        }
        restore(dir, &m.saved)
            .map_err(|e| ApplyError::Undo(format!("restoring from {}: {e}", dir.display())))?;
        m.undone = true;
        write_manifest(dir, &m).map_err(|e| ApplyError::Undo(e.to_string()))?;
        return Ok(m);
    }
    Err(ApplyError::Undo(format!(
        "no fix to undo in {}",
        root.display()
    )))
}
