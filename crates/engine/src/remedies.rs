//! The mechanical fixes of a run's failing items (`shipcheck fix`): each item's `remedy:`
//! with its templates resolved against the plan's variables, as the fix crate plans them.

use std::collections::BTreeMap;

use shipcheck_core::outcome::{Run, Status};
use shipcheck_core::remedy::Action;
use shipcheck_core::template::Scope;
use shipcheck_fix::{Key, Request, Resolved};

use crate::plan::Plan;

/// One failing item with a remedy, or why its remedy cannot be resolved.
pub type Found = Result<Request, (String, String)>;

/// The remedies of the items of `run` that failed (or warned), in plan order.
pub fn of_failures(plan: &Plan, run: &Run, base: &std::path::Path) -> Vec<Found> {
    let status: BTreeMap<String, Status> = run
        .results
        .iter()
        .map(|r| (r.qualified_id(), r.status))
        .collect();
    let scope = Scope { vars: &plan.vars };
    plan.items
        .iter()
        .filter_map(|p| {
            let item = plan.item(p.at);
            let remedy = item.remedy.as_deref()?;
            let qualified = plan.qualified(p.at).to_string();
            let failing = matches!(status.get(&qualified), Some(Status::Fail | Status::Warn));
            let observed = run
                .results
                .iter()
                .find(|r| r.qualified_id() == qualified)
                .and_then(|r| r.evidence.as_ref())
                .map(|e| &e.observed);
            failing.then(|| resolve(&scope, base, (&qualified, observed), &item.fix, remedy))
        })
        .collect()
}

fn resolve(
    scope: &Scope<'_>,
    base: &std::path::Path,
    (item, observed): (&str, Option<&serde_json::Value>),
    manual: &str,
    remedy: &shipcheck_core::remedy::Remedy,
) -> Found {
    let fail = |why: String| (item.to_string(), why);
    let action = remedy.action().map_err(fail)?;
    let path = |t: &shipcheck_core::text::Text| scope.expand_path(&t.value, base).map_err(fail);
    let key = |action: &Action<'_>| -> Result<Key, (String, String)> {
        let t = action.target().ok_or_else(|| fail("no key".into()))?;
        Ok(Key {
            path: path(t.path)?,
            format: t.format,
            key: t.key.to_string(),
            env_file: t.env_file.map(path).transpose()?,
        })
    };
    let resolved = match &action {
        Action::Chmod(c) => Resolved::Chmod {
            path: match (&c.path, &c.path_from) {
                (Some(p), _) => path(p)?,
                (None, Some(q)) => observed_path(q, observed, base).map_err(fail)?,
                (None, None) => return Err(fail("a chmod remedy names no path".into())),
            },
            mode: shipcheck_core::remedy::parse_mode(&c.mode).map_err(fail)?,
        },
        Action::Chown(c) => Resolved::Chown {
            path: path(&c.path)?,
            owner: c.owner.clone(),
            group: c.group.clone(),
        },
        Action::Set(s) => Resolved::Set {
            key: key(&action)?,
            value: s.value.clone(),
        },
        Action::Remove(_) => Resolved::Remove { key: key(&action)? },
        Action::Secret(s) => Resolved::Secret {
            key: key(&action)?,
            length: s.length,
            alphabet: s.alphabet,
        },
    };
    Ok(Request {
        item: item.to_string(),
        applicability: remedy.applicability,
        action: resolved,
        manual: manual.to_string(),
    })
}

/// The path `query` gives over what the check observed (relative to `base`).
fn observed_path(
    query: &str,
    observed: Option<&serde_json::Value>,
    base: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    let value = observed.ok_or("the check observed nothing to take the path from")?;
    let found =
        shipcheck_core::jq::first(query, value).map_err(|e| format!("path_from `{query}`: {e}"))?;
    let text = found
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("path_from `{query}` gives {found}, not a path"))?;
    Ok(shipcheck_core::template::resolve_path(text, base))
}
