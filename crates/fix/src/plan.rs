//! What the remedies of failing items would change: each file's new text (edits of one file
//! by several items applied in turn), the chmods, and what cannot be done losslessly (with
//! the reason and the manual fix). Nothing is written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use shipcheck_core::remedy::{Alphabet, Applicability, FileFormat};

use crate::{dotenv, ini, json5, toml, yaml};

/// A remedy with its templates resolved.
#[derive(Clone, Debug)]
pub struct Request {
    /// `pack:id`.
    pub item: String,
    pub applicability: Applicability,
    pub action: Resolved,
    /// The item's `fix:` text: the manual fix when this one cannot be made.
    pub manual: String,
}

/// A remedy's action on real paths.
#[derive(Clone, Debug)]
pub enum Resolved {
    Chmod {
        path: PathBuf,
        mode: u32,
    },
    Chown {
        path: PathBuf,
        owner: String,
        group: Option<String>,
    },
    Set {
        key: Key,
        value: Value,
    },
    Remove {
        key: Key,
    },
    Secret {
        key: Key,
        length: usize,
        alphabet: Alphabet,
    },
}

/// A key in a file.
#[derive(Clone, Debug)]
pub struct Key {
    pub path: PathBuf,
    pub format: FileFormat,
    pub key: String,
    /// Where a `${VAR}` reference's value is set.
    pub env_file: Option<PathBuf>,
}

/// One file's change.
#[derive(Clone, Debug)]
pub struct FileChange {
    pub path: PathBuf,
    pub before: String,
    pub after: String,
    pub items: Vec<String>,
}

/// One mode change.
#[derive(Clone, Debug)]
pub struct ModeChange {
    pub path: PathBuf,
    pub from: u32,
    pub to: u32,
    pub item: String,
}

/// A file's `(uid, gid)`.
pub type Owner = (u32, u32);

/// One owner change.
#[derive(Clone, Debug)]
pub struct OwnerChange {
    pub path: PathBuf,
    pub from: Owner,
    pub to: Owner,
    pub item: String,
}

/// A remedy that is not made, and why.
#[derive(Clone, Debug)]
pub struct NotMade {
    pub item: String,
    pub reason: String,
    pub manual: String,
}

/// Everything the remedies would change.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub files: Vec<FileChange>,
    pub modes: Vec<ModeChange>,
    pub owners: Vec<OwnerChange>,
    /// Items with an unsafe remedy left out (no `--unsafe`).
    pub unsafe_skipped: Vec<String>,
    pub refused: Vec<NotMade>,
    /// Secret values (old weak ones and new ones) to mask wherever the plan is shown.
    pub secrets: Vec<String>,
    /// Items whose remedy is in the plan.
    pub items: Vec<String>,
}

/// Largest file edited.
const MAX_FILE: u64 = 4 << 20;

/// Plans `requests`; unsafe ones only with `with_unsafe`.
pub fn plan(requests: &[Request], with_unsafe: bool) -> Plan {
    let mut p = Plan::default();
    let mut texts: BTreeMap<PathBuf, (String, String, Vec<String>)> = BTreeMap::new();
    for r in requests {
        if r.applicability == Applicability::Unsafe && !with_unsafe {
            p.unsafe_skipped.push(r.item.clone());
            continue;
        }
        let made = match &r.action {
            Resolved::Chmod { path, mode } => chmod(path, *mode).map(|(from, to)| {
                p.modes.push(ModeChange {
                    path: path.clone(),
                    from,
                    to,
                    item: r.item.clone(),
                });
            }),
            Resolved::Chown { path, owner, group } => {
                chown(path, owner, group.as_deref()).map(|(from, to)| {
                    p.owners.push(OwnerChange {
                        path: path.clone(),
                        from,
                        to,
                        item: r.item.clone(),
                    });
                })
            }
            Resolved::Set { key, value } => edit(
                &mut texts,
                &mut p.secrets,
                r,
                key,
                Some(value.clone()),
                false,
            ),
            Resolved::Remove { key } => edit(&mut texts, &mut p.secrets, r, key, None, false),
            Resolved::Secret {
                key,
                length,
                alphabet,
            } => crate::secret::generate(*length, *alphabet).and_then(|s| {
                p.secrets.push(s.clone());
                edit(
                    &mut texts,
                    &mut p.secrets,
                    r,
                    key,
                    Some(Value::from(s)),
                    true,
                )
            }),
        };
        match made {
            Ok(()) => p.items.push(r.item.clone()),
            Err(reason) => p.refused.push(NotMade {
                item: r.item.clone(),
                reason,
                manual: r.manual.clone(),
            }),
        }
    }
    p.files = texts
        .into_iter()
        .filter(|(_, (before, after, _))| before != after)
        .map(|(path, (before, after, items))| FileChange {
            path,
            before,
            after,
            items,
        })
        .collect();
    p
}

fn chmod(path: &Path, mode: u32) -> Result<(u32, u32), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link: change its target by hand",
            path.display()
        ));
    }
    let from = meta.permissions().mode() & 0o7777;
    // Only bits are taken away: a mode already stricter stays.
    Ok((from, from & mode))
}

fn chown(path: &Path, owner: &str, group: Option<&str>) -> Result<(Owner, Owner), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link: change its target by hand",
            path.display()
        ));
    }
    let uid = shipcheck_core::users::uid(owner)?;
    let gid = match group {
        Some(g) => shipcheck_core::users::gid(g)?,
        None => meta.gid(),
    };
    Ok(((meta.uid(), meta.gid()), (uid, gid)))
}

/// Applies one key edit to the file's text so far.
fn edit(
    texts: &mut BTreeMap<PathBuf, (String, String, Vec<String>)>,
    secrets: &mut Vec<String>,
    r: &Request,
    key: &Key,
    value: Option<Value>,
    secret: bool,
) -> Result<(), String> {
    let current = text_of(texts, &key.path)?;
    let old = match key.format {
        FileFormat::Json | FileFormat::Json5 => json5::get(&current, &key.key)?.map(str::to_owned),
        FileFormat::Env => dotenv::get(&current, &key.key),
        FileFormat::Toml => toml::get(&current, &key.key)?,
        FileFormat::Ini => ini::get(&current, &key.key),
        FileFormat::Yaml => yaml::get(&current, &key.key)?,
    };
    if secret && let Some(old) = &old {
        secrets.push(old.trim_matches(['"', '\'']).to_string());
    }
    // A `${VAR}` reference: the value lives where VAR is set.
    if let (Some(old), Some(v)) = (&old, &value)
        && let Some(var) = dotenv::reference(old)
    {
        let Some(env_file) = &key.env_file else {
            return Err(format!(
                "`{}` in {} is `{}`, a reference: the value lives where {var} is set; fix it there",
                key.key,
                key.path.display(),
                old.trim()
            ));
        };
        let env_key = Key {
            path: env_file.clone(),
            format: FileFormat::Env,
            key: var,
            env_file: None,
        };
        return edit(texts, secrets, r, &env_key, Some(v.clone()), secret);
    }
    let plain = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    let after = match (key.format, &value) {
        (FileFormat::Env, Some(v)) => dotenv::set(&current, &key.key, &plain(v))?,
        (FileFormat::Env, None) => dotenv::remove(&current, &key.key),
        (FileFormat::Ini, Some(v)) => ini::set(&current, &key.key, &plain(v))?,
        (FileFormat::Ini, None) => ini::remove(&current, &key.key),
        (FileFormat::Toml, Some(v)) => toml::set(&current, &key.key, v)?,
        (FileFormat::Toml, None) => toml::remove(&current, &key.key)?,
        (FileFormat::Yaml, Some(v)) => yaml::set(&current, &key.key, v)?,
        (FileFormat::Yaml, None) => yaml::remove(&current, &key.key)?,
        (_, Some(v)) => json5::set(&current, &key.key, v)?,
        (_, None) => json5::remove(&current, &key.key)?,
    };
    let entry = texts.get_mut(&key.path).ok_or("internal: file not read")?;
    entry.1 = after;
    entry.2.push(r.item.clone());
    Ok(())
}

/// The file's text as planned so far (read once).
fn text_of(
    texts: &mut BTreeMap<PathBuf, (String, String, Vec<String>)>,
    path: &Path,
) -> Result<String, String> {
    if let Some((_, after, _)) = texts.get(path) {
        return Ok(after.clone());
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link: edit its target by hand (a rename would replace the link)",
            path.display()
        ));
    }
    let bytes = shipcheck_core::bounded::read_bounded(path, MAX_FILE)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    texts.insert(path.to_owned(), (text.clone(), text.clone(), Vec::new()));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &Path, format: FileFormat, key: &str, env_file: Option<PathBuf>) -> Request {
        Request {
            item: "p:i".into(),
            applicability: Applicability::Safe,
            action: Resolved::Set {
                key: Key {
                    path: path.to_owned(),
                    format,
                    key: key.into(),
                    env_file,
                },
                value: Value::from("new"),
            },
            manual: "set it by hand".into(),
        }
    }

    #[test]
    fn what_cannot_be_edited_losslessly_is_refused_with_the_manual_fix() {
        let dir = std::env::temp_dir().join(format!("shipcheck-fix-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("c.json");
        std::fs::write(&json, "{\"token\": \"${TOKEN}\"}\n").unwrap();
        let yaml = dir.join("c.yaml");
        std::fs::write(&yaml, "a: {b: 1}\n").unwrap();
        let p = plan(
            &[
                request(&json, FileFormat::Json, "token", None),
                request(&yaml, FileFormat::Yaml, "a.b", None),
            ],
            false,
        );
        assert!(p.files.is_empty());
        assert!(
            p.refused[0]
                .reason
                .contains("a reference: the value lives where TOKEN is set"),
            "{:?}",
            p.refused
        );
        assert!(
            p.refused[1].reason.contains("add it by hand"),
            "{:?}",
            p.refused
        );
        assert_eq!(p.refused[1].manual, "set it by hand");
        // With the env file named, the value is set there and the reference stays.
        let env = dir.join("app.env");
        std::fs::write(&env, "TOKEN=old\n").unwrap();
        let p = plan(
            &[request(&json, FileFormat::Json, "token", Some(env.clone()))],
            false,
        );
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].path, env);
        assert_eq!(p.files[0].after, "TOKEN=new\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
