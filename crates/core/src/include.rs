//! The packs a profile runs: each pack it names, then the packs those include (once each;
//! a cycle is an error), with `exclude:` checked against the included pack.

use std::sync::Arc;

use crate::diag::{Pos, Problem};
use crate::error::Error;
use crate::pack::{LoadedPack, builtin};
use crate::profile::Profile;

/// Loads the packs a profile names: built-in names first, then paths relative to the
/// profile's folder.
pub fn load_packs(profile: &Profile) -> Result<Vec<Arc<LoadedPack>>, Error> {
    let mut out: Vec<Arc<LoadedPack>> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    for name in &profile.file.packs {
        let lp = match load_one(&name.value, &profile.dir, None) {
            Err(Error::UnknownPack {
                name: unknown,
                known,
            }) => {
                let mut p = Problem::new(
                    format!(
                        "unknown pack `{unknown}`: not a built-in pack ({known}) and no such file"
                    ),
                    Pos::from_location(&name.referenced),
                );
                if let Some(m) = crate::diag::did_you_mean(&unknown, builtin::names()) {
                    p = p.with_help(format!("did you mean `{m}`?"));
                }
                return Err(profile.located(vec![p]));
            }
            other => other?,
        };
        if listed.contains(&lp.pack.name) {
            return Err(Error::DuplicatePack {
                profile: profile.path.clone(),
                pack: lp.pack.name.clone(),
            });
        }
        listed.push(lp.pack.name.clone());
        add_with_includes(lp, &profile.dir, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

/// Loads a built-in pack by name, or a pack file relative to `dir` (`included_by` names
/// the including pack in the error).
pub fn load_one(
    name: &str,
    dir: &std::path::Path,
    included_by: Option<&str>,
) -> Result<LoadedPack, Error> {
    if let Some(lp) = builtin::load(name) {
        return lp;
    }
    let path = dir.join(name);
    if path.is_file() {
        return crate::pack::load_pack_file(&path);
    }
    let known = builtin::names().join(", ");
    Err(match included_by {
        Some(by) => Error::UnknownInclude {
            by: by.into(),
            name: name.into(),
            known,
        },
        None => Error::UnknownPack {
            name: name.into(),
            known,
        },
    })
}

/// Adds `lp` and, after it, the packs it includes (once each; a cycle is an error).
fn add_with_includes(
    lp: LoadedPack,
    dir: &std::path::Path,
    out: &mut Vec<Arc<LoadedPack>>,
    stack: &mut Vec<String>,
) -> Result<(), Error> {
    let name = lp.pack.name.clone();
    if stack.contains(&name) {
        stack.push(name);
        return Err(Error::IncludeCycle {
            chain: stack.clone(),
        });
    }
    if out.iter().any(|p| p.pack.name == name) {
        return Ok(());
    }
    let includes: Vec<(String, Vec<String>)> = lp
        .pack
        .include
        .iter()
        .map(|i| (i.pack.clone(), i.exclude.clone()))
        .collect();
    let own_dir = if lp.origin == "builtin" {
        dir.to_owned()
    } else {
        std::path::Path::new(&lp.origin)
            .parent()
            .map_or_else(|| dir.to_owned(), |p| p.to_owned())
    };
    out.push(Arc::new(lp));
    stack.push(name.clone());
    for (inc, exclude) in includes {
        let child = load_one(&inc, &own_dir, Some(&name))?;
        let has = |id: &str| {
            child
                .pack
                .sections
                .iter()
                .flat_map(|s| &s.items)
                .any(|i| i.id.value == id)
        };
        if let Some(missing) = exclude.iter().find(|id| !has(id)) {
            return Err(Error::UnknownExclude {
                pack: name,
                item: missing.clone(),
                included: inc,
            });
        }
        add_with_includes(child, &own_dir, out, stack)?;
    }
    stack.pop();
    Ok(())
}
