//! `file` probe: existence, type, permission bits, owner, size, executable bit, content
//! regex, and the age of the newest entry in a directory (for backups). A wildcard in the
//! path's last component inspects the newest match (a dated log file).

use shipcheck_core::spec::file::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::SystemTime;

use serde_json::json;

use super::{Finding, Observation, ProbeCtx};
use shipcheck_core::duration::Span;

/// Cache key: the user name of a uid.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct OwnerOf(u32);

impl crate::Observe for FileProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let mut path = ctx.path(&self.path)?;
        // A wildcard in the last component (a dated log, `app-*.log`) means the newest match;
        // none matching is a missing file.
        if let Some(newest) = crate::glob::newest_if_wildcard(&path)? {
            path = newest;
        }
        let shown = path.display().to_string();
        let mut obs = Observation::new(
            json!({"path": shown, "exists": false}),
            format!("file {shown}"),
        );
        obs.location = Some(super::FileLocation {
            path: shown.clone(),
            line: None,
        });
        let want_exists = self.exists.unwrap_or(true);
        let link_meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return missing(self, ctx, obs, "not found".into());
            }
            Err(e) => return Err(format!("cannot inspect {shown}: {e}")),
        };
        // Facts below describe the target of a symlink, as a service opening it would see:
        // a dangling link is a file that does not exist, and one that cannot be followed (a
        // loop, a folder on the way that cannot be searched) could not be checked.
        let meta = if link_meta.file_type().is_symlink() {
            match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let to = std::fs::read_link(&path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    obs.value["symlink_to"] = json!(to);
                    return missing(self, ctx, obs, format!("a dangling symlink to {to}"));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot inspect {shown}: a symlink that cannot be followed: {e}"
                    ));
                }
            }
        } else {
            link_meta.clone()
        };
        if !want_exists {
            obs.findings
                .push(Finding::new(false, "does not exist", "exists"));
        }
        let kind = if link_meta.file_type().is_symlink() {
            FileKind::Symlink
        } else if link_meta.is_dir() {
            FileKind::Dir
        } else {
            FileKind::File
        };
        let mode = meta.permissions().mode() & 0o7777;
        // Once per uid and run: every file item names its owner.
        let uid = meta.uid();
        let named = ctx
            .cache
            .memo(OwnerOf(uid), || shipcheck_core::users::user_name(uid));
        let owner = named.clone().ok().flatten();
        let mut facts = json!({
            "path": shown,
            "exists": true,
            "type": kind_name(kind),
            "mode": format!("{mode:04o}"),
            "uid": meta.uid(),
            "owner": owner.clone().unwrap_or_else(|| meta.uid().to_string()),
            "size": meta.len(),
            "executable": mode & 0o100 != 0,
        });
        if let Some(want) = self.kind {
            obs.findings.push(Finding::new(
                want == kind
                    || (want != FileKind::Symlink
                        && kind == FileKind::Symlink
                        && target_kind(&meta) == want),
                format!("type {}", kind_name(want)),
                if kind == FileKind::Symlink {
                    format!("symlink to a {}", kind_name(target_kind(&meta)))
                } else {
                    kind_name(kind).to_string()
                },
            ));
        }
        if let Some(max) = &self.mode_max {
            let max_bits = parse_mode(&max.value).unwrap_or(0);
            let extra = mode & !max_bits;
            obs.findings.push(Finding::new(
                extra == 0,
                format!("mode at most {:04o}", max_bits),
                if extra == 0 {
                    format!("{mode:04o}")
                } else {
                    format!("{mode:04o} (extra bits {extra:04o})")
                },
            ));
        }
        if let Some(want) = &self.owner {
            let by_id = want.parse::<u32>().ok();
            // A name compared with an owner that could not be named: could not check.
            if let (None, Err(e)) = (by_id, &named) {
                return Err(format!(
                    "cannot tell whether {shown} is owned by {want}: {e}"
                ));
            }
            let ok = owner.as_deref() == Some(want.as_str()) || by_id == Some(meta.uid());
            let seen = owner
                .clone()
                .unwrap_or_else(|| format!("uid {}", meta.uid()));
            obs.findings
                .push(Finding::new(ok, format!("owner {want}"), seen));
        }
        if let Some(min) = self.min_size {
            obs.findings.push(Finding::new(
                meta.len() >= min,
                format!("size ≥ {min} bytes"),
                format!("{} bytes", meta.len()),
            ));
        }
        if let Some(max) = self.max_size {
            obs.findings.push(Finding::new(
                meta.len() <= max,
                format!("size ≤ {max} bytes"),
                format!("{} bytes", meta.len()),
            ));
        }
        if let Some(want) = self.executable {
            let is = mode & 0o100 != 0;
            obs.findings.push(Finding::new(
                is == want,
                if want { "executable" } else { "not executable" },
                format!("mode {mode:04o}"),
            ));
        }
        // A folder's entries, listed once for its newest and its count.
        let (named, listed) = if self.newest_max_age.is_some() || self.min_entries.is_some() {
            let named = match &self.entries_named {
                Some(re) => Some(
                    shipcheck_core::pattern::compile(&ctx.expand(re)?)
                        .map_err(|e| format!("invalid regex: {e}"))?,
                ),
                None => None,
            };
            let listed = entries(&path, named.as_ref())?;
            (named, listed)
        } else {
            (None, Vec::new())
        };
        if let Some(max_age) = self.newest_max_age {
            match listed.iter().min_by_key(|(_, age)| *age).cloned() {
                Some((name, age)) => {
                    facts["newest"] = json!(name);
                    facts["newest_age_seconds"] = json!(age.as_secs());
                    obs.findings.push(Finding::new(
                        age <= max_age.0,
                        format!("newest entry younger than {max_age}"),
                        format!(
                            "{name} is {}",
                            Span(std::time::Duration::from_secs(age.as_secs())).approx()
                        ),
                    ));
                }
                None => obs.findings.push(Finding::new(
                    false,
                    format!("newest entry younger than {max_age}"),
                    match &named {
                        Some(re) => format!("no entry is named as /{}/ asks", re.as_str()),
                        None => "the directory has no entry (hidden ones aside)".to_string(),
                    },
                )),
            }
        }
        if let Some(min) = self.min_entries {
            let count = listed.len() as u64;
            let oldest = listed.iter().max_by_key(|(_, age)| *age).cloned();
            facts["entries"] = json!(count);
            if let Some((name, age)) = &oldest {
                facts["oldest"] = json!(name);
                facts["oldest_age_seconds"] = json!(age.as_secs());
            }
            let span = oldest
                .map(|(n, a)| format!(", the oldest ({n}) {}", Span(a).approx()))
                .unwrap_or_default();
            obs.findings.push(Finding::new(
                count >= min,
                format!("at least {min} entries"),
                format!(
                    "{count} {}{span}",
                    if count == 1 { "entry" } else { "entries" }
                ),
            ));
        }
        if self.contains.is_some() || self.not_contains.is_some() {
            let bytes = super::read_bounded(&path, super::MAX_FILE_BYTES)?;
            let text = String::from_utf8_lossy(&bytes);
            for (re, must) in [(&self.contains, true), (&self.not_contains, false)] {
                let Some(re) = re else { continue };
                let pattern = ctx.expand(re)?;
                let rx = shipcheck_core::pattern::compile(&pattern).map_err(|e| {
                    format!(
                        "invalid regex: {}",
                        shipcheck_core::diag::one_line(&e.to_string())
                    )
                })?;
                let hit = rx.find(&text).map(|m| line_of(&text, m.start()));
                if let (Some(line), Some(loc)) = (hit, obs.location.as_mut())
                    && loc.line.is_none()
                {
                    loc.line = Some(line);
                }
                let observed = match hit {
                    Some(line) => format!("matches at line {line}"),
                    None => "no match".to_string(),
                };
                obs.findings.push(Finding::new(
                    hit.is_some() == must,
                    format!(
                        "content {} /{}/",
                        if must { "matches" } else { "does not match" },
                        re.value
                    ),
                    observed,
                ));
            }
        }
        obs.value = facts;
        Ok(obs)
    }
}

/// The path is not there for a service opening it (`detail` says how): a finding on
/// `exists`, or nothing to judge when the item is `if_present`.
fn missing(
    probe: &FileProbe,
    ctx: &ProbeCtx,
    mut obs: Observation,
    detail: String,
) -> Result<Observation, String> {
    if probe.if_present {
        obs.findings.push(Finding::new(
            true,
            "if present",
            format!("{detail}: nothing to judge"),
        ));
        return Ok(obs);
    }
    if let Some(re) = &probe.writer {
        let re = shipcheck_core::pattern::compile(&ctx.expand(re)?)
            .map_err(|e| format!("invalid regex: {e}"))?;
        obs.value["writer_uptime_seconds"] = json!(crate::process::youngest_uptime(&re));
    }
    let want_exists = probe.exists.unwrap_or(true);
    obs.findings.push(Finding::new(
        !want_exists,
        if want_exists {
            "exists"
        } else {
            "does not exist"
        },
        detail,
    ));
    Ok(obs)
}

fn kind_name(k: FileKind) -> &'static str {
    match k {
        FileKind::File => "file",
        FileKind::Dir => "dir",
        FileKind::Symlink => "symlink",
    }
}

fn target_kind(meta: &std::fs::Metadata) -> FileKind {
    if meta.is_dir() {
        FileKind::Dir
    } else {
        FileKind::File
    }
}

/// Whether a folder's entry counts: named as `named` says, else not hidden (a lock or a
/// dump in progress, often a dot file, is no backup).
fn counted(name: &str, named: Option<&regex::Regex>) -> bool {
    match named {
        Some(re) => re.is_match(name),
        None => !name.starts_with('.'),
    }
}

/// The entries of `dir` that count (see [`counted`]), each with its age. An entry whose
/// time cannot be read makes the newest and the count unknowable: an error, not a smaller
/// list.
fn entries(
    dir: &std::path::Path,
    named: Option<&regex::Regex>,
) -> Result<Vec<(String, std::time::Duration)>, String> {
    let listing =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let now = SystemTime::now();
    let mut out = Vec::new();
    for entry in listing.take(100_000) {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !counted(&name, named) {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| format!("cannot read {}/{name}: {e}", dir.display()))?;
        out.push((name, now.duration_since(modified).unwrap_or_default()));
    }
    Ok(out)
}

pub(crate) fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0600"), Some(0o600));
        assert_eq!(parse_mode("0o755"), Some(0o755));
        assert_eq!(parse_mode("600"), Some(0o600));
        assert_eq!(parse_mode("0900"), None);
        assert_eq!(parse_mode("rw-"), None);
    }
}
