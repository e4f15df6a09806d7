//! Shell-style wildcards in the last component of a path: `include sites-enabled/*`,
//! a dated log file (`secureclaw-*.log`).

use std::path::{Path, PathBuf};

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell-style match of one path component: `*` and `?` (classes `[...]` match literally).
pub use shipcheck_core::wildcard::matches as glob_match;

/// The entries of `pattern`'s folder whose names match its last component (a hidden name
/// only when the pattern starts with a dot), each with its modification time. A missing
/// folder matches nothing; a folder or entry that cannot be read is an error, not "no
/// match".
pub fn matching(pattern: &Path) -> Result<Vec<(PathBuf, std::time::SystemTime)>, String> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = pattern.parent().unwrap_or(Path::new("/"));
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries.take(100_000) {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let found = entry.file_name().to_string_lossy().into_owned();
        // As glob(3) and Caddy: a leading dot is matched only by a leading dot.
        if (found.starts_with('.') && !name.starts_with('.')) || !glob_match(&name, &found) {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        out.push((entry.path(), modified));
    }
    out.sort();
    Ok(out)
}

/// The path a probe reads for `path`: itself, or, when its last component has a wildcard,
/// the newest match (`None` when nothing matches).
pub fn newest_if_wildcard(path: &Path) -> Result<Option<PathBuf>, String> {
    let wildcard = path
        .file_name()
        .is_some_and(|n| has_wildcard(&n.to_string_lossy()));
    if wildcard {
        newest_match(path)
    } else {
        Ok(Some(path.to_owned()))
    }
}

/// The newest (by modification time) entry matching `pattern`; `None` when none does.
pub fn newest_match(pattern: &Path) -> Result<Option<PathBuf>, String> {
    Ok(matching(pattern)?
        .into_iter()
        .max_by_key(|(_, t)| *t)
        .map(|(p, _)| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_the_shell_does() {
        assert!(glob_match("*.conf", "site.conf"));
        assert!(!glob_match("*.conf", "site.conf.bak"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("a?c", "ac"));
    }

    /// As glob(3) (nginx's include) and Caddy's import: a wildcard does not match a leading
    /// dot, so an editor's `.site.conf.swp` or a `.disabled.conf` is not read.
    #[test]
    fn a_wildcard_does_not_match_a_hidden_file() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.conf", ".disabled.conf"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let names = |pattern: &str| -> Vec<String> {
            matching(&dir.path().join(pattern))
                .unwrap()
                .iter()
                .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("*.conf"), ["a.conf"]);
        assert_eq!(names(".*.conf"), [".disabled.conf"]);
    }

    #[test]
    fn the_newest_match_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("app-2026-11-29.log");
        let new = dir.path().join("app-2026-11-30.log");
        std::fs::write(&old, "a").unwrap();
        std::fs::write(&new, "b").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        assert_eq!(
            newest_match(&dir.path().join("app-*.log")).unwrap(),
            Some(new)
        );
        assert_eq!(newest_match(&dir.path().join("none-*.log")).unwrap(), None);
    }
}
