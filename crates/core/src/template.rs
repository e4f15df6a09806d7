//! `${name}` templates in pack strings: `${var}` is a profile variable, `${env:NAME}` an
//! environment variable of the shipcheck process, `$${` a literal `${`. A leading `~/` in a
//! path expands to `$HOME`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `${...}` reference found in a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ref<'a> {
    Var(&'a str),
    Env(&'a str),
}

/// Lists the references in `text`, or says why the template is malformed.
pub fn references(text: &str) -> Result<Vec<Ref<'_>>, String> {
    let mut refs = Vec::new();
    walk(text, |piece| {
        if let Piece::Ref(r) = piece {
            refs.push(r);
        }
    })?;
    Ok(refs)
}

/// Values a template can refer to.
pub struct Scope<'a> {
    pub vars: &'a BTreeMap<String, String>,
}

impl Scope<'_> {
    /// Expands every reference; an unknown variable or unset env var is an error naming it.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut missing = None;
        walk(text, |piece| match piece {
            Piece::Lit(s) => out.push_str(s),
            Piece::Ref(Ref::Var(name)) => match self.vars.get(name) {
                Some(v) => out.push_str(v),
                None => missing = Some(format!("variable `{name}` has no value")),
            },
            Piece::Ref(Ref::Env(name)) => match std::env::var(name) {
                Ok(v) => out.push_str(&v),
                Err(_) => missing = Some(format!("environment variable `{name}` is not set")),
            },
        })?;
        match missing {
            Some(m) => Err(m),
            None => Ok(out),
        }
    }

    /// Expands a path template, then `~/`, then makes it absolute against `base`.
    pub fn expand_path(&self, text: &str, base: &Path) -> Result<PathBuf, String> {
        let expanded = self.expand(text)?;
        Ok(resolve_path(&expanded, base))
    }
}

/// `~/x` → `$HOME/x`; a relative path is taken relative to `base` (the profile's folder).
pub fn resolve_path(text: &str, base: &Path) -> PathBuf {
    let path = match text.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(rest),
            None => PathBuf::from(text),
        },
        None => PathBuf::from(text),
    };
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

enum Piece<'a> {
    Lit(&'a str),
    Ref(Ref<'a>),
}

fn walk<'a>(text: &'a str, mut f: impl FnMut(Piece<'a>)) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        f(Piece::Lit(&rest[..i]));
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            f(Piece::Lit("${"));
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
            let name = tail[..end].trim();
            let r = match name.strip_prefix("env:") {
                Some(env) => Ref::Env(env.trim()),
                None => Ref::Var(name),
            };
            let bare = match r {
                Ref::Var(n) | Ref::Env(n) => n,
            };
            if bare.is_empty()
                || !bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            {
                return Err(format!(
                    "`${{{name}}}` in `{text}` is not a variable reference (use ${{name}} or ${{env:NAME}})"
                ));
            }
            f(Piece::Ref(r));
            rest = &tail[end + 1..];
        } else {
            f(Piece::Lit("$"));
            rest = &after[1..];
        }
    }
    f(Piece::Lit(rest));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_vars_env_and_escapes() {
        let mut vars = BTreeMap::new();
        vars.insert("dir".to_string(), "/etc/app".to_string());
        let scope = Scope { vars: &vars };
        assert_eq!(scope.expand("${dir}/a.json").unwrap(), "/etc/app/a.json");
        assert_eq!(scope.expand("cost $5 $${x}").unwrap(), "cost $5 ${x}");
        assert!(scope.expand("${nope}").unwrap_err().contains("`nope`"));
        assert!(scope.expand("${dir").is_err());
        assert!(references("${a b}").is_err());
        assert_eq!(
            references("${a}${env:HOME}").unwrap(),
            vec![Ref::Var("a"), Ref::Env("HOME")]
        );
    }

    #[test]
    fn relative_paths_resolve_against_base() {
        assert_eq!(
            resolve_path("conf/x.json", Path::new("/srv")),
            PathBuf::from("/srv/conf/x.json")
        );
        assert_eq!(
            resolve_path("/abs", Path::new("/srv")),
            PathBuf::from("/abs")
        );
    }
}
