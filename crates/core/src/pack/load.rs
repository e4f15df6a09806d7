//! Parsing and validating packs. Parsing is strict (unknown fields and wrong types are
//! errors); validation then checks what types cannot: unique ids, exactly one probe or
//! attestation, compilable jq and regexes, declared variables. Every problem is located.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::{Item, Pack, Text};
use crate::diag::{Pos, Problem, SourceDiagnostics};
use crate::error::Error;
use crate::template;

/// A validated pack and where it came from.
#[derive(Debug)]
pub struct LoadedPack {
    pub pack: Pack,
    /// `builtin` or the path it was read from.
    pub origin: String,
}

/// Reads and validates a pack file.
pub fn load_pack_file(path: &Path) -> Result<LoadedPack, Error> {
    let text = Error::read_text(path)?;
    let mut loaded = load_pack_text(&path.display().to_string(), text)?;
    loaded.origin = path.display().to_string();
    Ok(loaded)
}

/// Parses and validates pack text; `file` names it in errors.
pub fn load_pack_text(file: &str, text: String) -> Result<LoadedPack, Error> {
    load_text(file, text, true)
}

/// Loads a built-in pack from its JSON form, made from its YAML at build time (build.rs):
/// the same data, read about ten times faster than the YAML. It is not validated again (a
/// test validates every built-in pack in full, and checks that both forms load the same);
/// its regexes and jq expressions compile when an item uses them. Should the JSON not load,
/// the YAML is parsed, so an error points into the file a person reads.
pub(super) fn load_builtin(file: &str, yaml: &str, json: &str) -> Result<LoadedPack, Error> {
    if let Ok(mut pack) = serde_json::from_str::<Pack>(json)
        && resolve_programs(&mut pack).is_empty()
    {
        return Ok(LoadedPack {
            pack,
            origin: "builtin".into(),
        });
    }
    load_text(file, yaml.to_string(), false)
}

fn load_text(file: &str, text: String, validating: bool) -> Result<LoadedPack, Error> {
    let source = Arc::new(text);
    let fail = |problems: Vec<Problem>| {
        Error::Invalid(Box::new(SourceDiagnostics::new(
            file,
            Arc::clone(&source),
            problems,
        )))
    };
    let mut pack: Pack = parse_yaml(&source).map_err(|p| fail(vec![p]))?;
    let mut problems = resolve_programs(&mut pack);
    if validating {
        problems.extend(validate(&pack));
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    Ok(LoadedPack {
        pack,
        origin: "builtin".into(),
    })
}

pub use super::yaml::parse_yaml;

fn pos(t: &Text) -> Option<Pos> {
    Pos::from_location(&t.referenced)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

/// Gives each `args` item that declares no `flags` its program's, from the pack's
/// `programs` (shared, not copied); an item whose program is not there is a problem.
fn resolve_programs(pack: &mut Pack) -> Vec<Problem> {
    let mut problems = Vec::new();
    let programs = &pack.programs;
    for item in pack.sections.iter_mut().flat_map(|s| &mut s.items) {
        let Some(args) = item
            .check
            .as_deref_mut()
            .and_then(|c| c.args.as_deref_mut())
        else {
            continue;
        };
        if args.flags.is_some() {
            continue;
        }
        match programs.get(&args.program) {
            Some(program) => args.flags = Some(Arc::clone(&program.flags)),
            None => {
                let hint =
                    crate::diag::did_you_mean(&args.program, programs.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                problems.push(Problem::new(
                    format!(
                        "item `{}`: the args check of program `{}` declares no `flags`, and the pack's `programs` has no `{}`{hint}",
                        item.id.value, args.program, args.program
                    ),
                    pos(&args.source),
                ));
            }
        }
    }
    problems
}

fn validate(pack: &Pack) -> Vec<Problem> {
    let mut problems = Vec::new();
    let ids: Vec<&str> = pack
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .map(|i| i.id.value.as_str())
        .collect();
    for trace in &pack.traces {
        for row in &trace.rows {
            if row.items.is_empty() == row.why.is_none() {
                problems.push(Problem::new(
                    format!(
                        "traces: row `{}` needs exactly one of `items` (what covers it) and `why` (why it is not an item)",
                        row.row.value
                    ),
                    pos(&row.row),
                ));
            }
            for id in row
                .items
                .iter()
                .filter(|id| !ids.contains(&id.value.as_str()))
            {
                let hint = crate::diag::did_you_mean(&id.value, ids.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                problems.push(Problem::new(
                    format!(
                        "traces: row `{}` names `{}`, which is no item of this pack{hint}",
                        row.row.value, id.value
                    ),
                    pos(id),
                ));
            }
        }
    }
    if !valid_id(&pack.name) {
        problems.push(Problem::new(
            format!(
                "pack name `{}` must be lower case letters, digits, `.`, `-` or `_`",
                pack.name
            ),
            None,
        ));
    }
    // An endpoint `NAME` declares `NAME.url`, `NAME.host`, ... for the items.
    let endpoint_vars: Vec<String> = pack
        .endpoints
        .keys()
        .flat_map(|name| crate::endpoint::variable_names(name))
        .collect();
    let mut vars = BTreeSet::new();
    for var in &pack.variables {
        let name = &var.name.value;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            problems.push(Problem::new(
                format!("variable name `{name}` must be letters, digits, `_`, `-` or `.`"),
                pos(&var.name),
            ));
        }
        if !vars.insert(name.as_str()) {
            problems.push(
                Problem::new(
                    format!("variable `{name}` is declared twice"),
                    pos(&var.name),
                )
                .with_label("second declaration"),
            );
        }
        if let Some(default) = &var.default
            && let Err(e) = var.kind.check(default)
        {
            problems.push(Problem::new(
                format!("variable `{name}`: default `{default}` {e}"),
                pos(&var.name),
            ));
        }
        if let Some(default) = &var.default
            && !var.allowed.is_empty()
            && !var.allowed.contains(default)
        {
            problems.push(Problem::new(
                format!(
                    "variable `{name}`: default `{default}` is not one of its allowed values ({})",
                    var.allowed.join(", ")
                ),
                pos(&var.name),
            ));
        }
    }
    for (name, endpoint) in &pack.endpoints {
        if !valid_id(name) {
            problems.push(Problem::new(
                format!(
                    "endpoint name `{name}` must be lower case letters, digits, `.`, `-` or `_`"
                ),
                pos(&endpoint.url),
            ));
        }
        let fields = [
            Some(&endpoint.url),
            endpoint.address.as_ref(),
            endpoint.ca_file.as_ref(),
            endpoint.host_header.as_ref(),
            endpoint.user_agent.as_ref(),
        ];
        for text in fields.into_iter().flatten() {
            match template::references(&text.value) {
                Err(message) => problems.push(Problem::new(
                    format!("endpoint `{name}`: {message}"),
                    pos(text),
                )),
                Ok(refs) => {
                    for r in refs {
                        if let template::Ref::Var(v) = r
                            && !vars.contains(v)
                        {
                            problems.push(Problem::new(
                                format!("endpoint `{name}` uses `${{{v}}}`, which the pack does not declare"),
                                pos(text),
                            ).with_help(undeclared_help(v, &vars)));
                        }
                    }
                }
            }
        }
    }
    vars.extend(endpoint_vars.iter().map(String::as_str));
    for inc in &pack.include {
        if let Some(when) = &inc.when
            && let Err(e) = crate::jq::check(&when.value)
        {
            problems.push(Problem::new(
                format!("include `{}`: invalid `when` jq expression: {e}", inc.pack),
                pos(when),
            ));
        }
        for (name, text) in &inc.vars {
            match template::references(&text.value) {
                Err(message) => problems.push(Problem::new(
                    format!("include `{}`, variable `{name}`: {message}", inc.pack),
                    pos(text),
                )),
                Ok(refs) => {
                    for r in refs {
                        if let template::Ref::Var(v) = r
                            && !vars.contains(v)
                        {
                            problems.push(Problem::new(format!("include `{}` sets `{name}` from `${{{v}}}`, which this pack does not declare", inc.pack), pos(text)).with_help(undeclared_help(v, &vars)));
                        }
                    }
                }
            }
        }
    }
    let mut sections = HashMap::new();
    let mut items: HashMap<&str, &Text> = HashMap::new();
    if pack.sections.is_empty() {
        problems.push(Problem::new(
            "the pack has no sections; expected at least one section with items",
            None,
        ));
    }
    for section in &pack.sections {
        if !valid_id(&section.id.value) {
            problems.push(Problem::new(
                format!(
                    "section id `{}` must be lower case letters, digits, `.`, `-` or `_`",
                    section.id.value
                ),
                pos(&section.id),
            ));
        }
        if let Some(first) = sections.insert(section.id.value.as_str(), &section.id) {
            problems.push(duplicate("section", &section.id, first));
        }
        for item in &section.items {
            if !valid_id(&item.id.value) {
                problems.push(Problem::new(
                    format!(
                        "item id `{}` must be lower case letters, digits, `.`, `-` or `_`",
                        item.id.value
                    ),
                    pos(&item.id),
                ));
            }
            if let Some(first) = items.insert(item.id.value.as_str(), &item.id) {
                problems.push(duplicate("item", &item.id, first));
            }
            validate_item(item, &vars, &pack.endpoints, &mut problems);
        }
    }
    problems
}

fn duplicate(what: &str, again: &Text, first: &Text) -> Problem {
    let first_at = pos(first)
        .map(|p| format!(" (first at line {}, column {})", p.line, p.column))
        .unwrap_or_default();
    Problem::new(
        format!(
            "duplicate {what} id `{}`{first_at}; ids must be unique in a pack",
            again.value
        ),
        pos(again),
    )
    .with_label("duplicate id")
}

fn validate_item(
    item: &Item,
    vars: &BTreeSet<&str>,
    endpoints: &BTreeMap<String, crate::endpoint::Endpoint>,
    problems: &mut Vec<Problem>,
) {
    let id = &item.id.value;
    let at = pos(&item.id);
    if let Some(remedy) = &item.remedy
        && let Err(e) = remedy.action()
    {
        problems.push(Problem::new(format!("item `{id}`: {e}"), at));
    }
    match (&item.check, &item.attest) {
        (Some(_), Some(_)) => problems.push(
            Problem::new(format!("item `{id}` has both `check` and `attest`; expected exactly one"), at)
                .with_help("an item is either automated (check) or manual (attest)"),
        ),
        (None, None) => problems.push(
            Problem::new(format!("item `{id}` has neither `check` nor `attest`; expected exactly one"), at)
                .with_help("add `check:` with a probe (file, config, env, command, disk) or `attest:` with roles"),
        ),
        _ => {}
    }
    if let Some(when) = &item.when
        && let Err(e) = crate::jq::check(&when.value)
    {
        problems.push(Problem::new(
            format!("item `{id}`: invalid `when` jq expression: {e}"),
            pos(when),
        ));
    }
    if item.every.is_some() && item.phase != super::Phase::Periodic {
        problems.push(
            Problem::new(
                format!(
                    "item `{id}`: `every` is for periodic items, and this one is {}",
                    item.phase.as_str()
                ),
                at,
            )
            .with_help("set `phase: periodic`, or drop `every`"),
        );
    }
    if item
        .every
        .is_some_and(|e| e.0 < std::time::Duration::from_secs(60))
    {
        problems.push(Problem::new(
            format!("item `{id}`: `every` must be at least 1m"),
            at,
        ));
    }
    if let Some(attest) = &item.attest
        && attest.roles.is_empty()
    {
        problems.push(Problem::new(
            format!("item `{id}`: `attest.roles` is empty; name at least one role"),
            at,
        ));
    }
    let Some(check) = &item.check else { return };
    let probe = match check.probe() {
        Ok(p) => p,
        Err(message) => {
            problems.push(Problem::new(format!("item `{id}`: {message}"), at));
            return;
        }
    };
    for (message, field) in probe.validate() {
        problems.push(Problem::new(
            format!("item `{id}`: {message}"),
            field.and_then(pos).or(at),
        ));
    }
    if let Some(name) = &check.endpoint
        && !endpoints.contains_key(name)
    {
        let names: Vec<&str> = endpoints.keys().map(String::as_str).collect();
        let mut problem = Problem::new(
            format!("item `{id}`: endpoint `{name}` is not one of the pack's `endpoints`"),
            at,
        );
        problem = match crate::diag::did_you_mean(name, names.iter().copied()) {
            Some(s) => problem.with_help(format!("did you mean `{s}`?")),
            None => problem.with_help(format!(
                "declared: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )),
        };
        problems.push(problem);
    }
    if let Some(pw) = &check.pending_when
        && let Err(e) = crate::jq::check(&pw.jq.value)
    {
        problems.push(Problem::new(
            format!("item `{id}`: invalid `pending_when` jq expression: {e}"),
            pos(&pw.jq).or(at),
        ));
    }
    for matcher in &check.expect {
        if let Some((message, field)) = matcher.validate() {
            problems.push(Problem::new(
                format!("item `{id}`: {message}"),
                pos(field).or(at),
            ));
        }
    }
    for text in probe.templates() {
        match template::references(&text.value) {
            Err(message) => problems.push(Problem::new(
                format!("item `{id}`: {message}"),
                pos(text).or(at),
            )),
            Ok(refs) => {
                for r in refs {
                    if let template::Ref::Var(name) = r
                        && !vars.contains(name)
                    {
                        problems.push(
                            Problem::new(format!("item `{id}` uses `${{{name}}}`, which the pack does not declare"), pos(text).or(at))
                                .with_help(undeclared_help(name, vars)),
                        );
                    }
                }
            }
        }
    }
}

/// The help for `${name}` that the pack does not declare: the declared name it is a near
/// miss of, if any, and the declared names.
fn undeclared_help(name: &str, vars: &BTreeSet<&str>) -> String {
    let known = if vars.is_empty() {
        "none".into()
    } else {
        vars.iter().copied().collect::<Vec<_>>().join(", ")
    };
    match crate::diag::did_you_mean(name, vars.iter().copied()) {
        Some(m) => format!(
            "did you mean `${{{m}}}`? Or declare `{name}` under `variables:` (known: {known})"
        ),
        None => format!("declare it under `variables:` (known: {known})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name: t\nversion: 1.0.0\ntitle: T\n";

    fn problems(body: &str) -> String {
        match load_pack_text("t.yaml", format!("{HEADER}{body}")) {
            Ok(_) => String::new(),
            Err(Error::Invalid(d)) => d.to_string(),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    const ITEM: &str = "sections:\n  - id: s\n    title: S\n    items:\n      - id: a\n        title: A\n        severity: high\n        why: w\n        fix: f\n        phase: pre-deploy\n";

    #[test]
    fn accepts_a_minimal_pack() {
        assert_eq!(
            problems(&format!(
                "{ITEM}        check:\n          env: {{name: HOME}}\n          expect: [{{exists: true}}]\n"
            )),
            ""
        );
    }

    #[test]
    fn args_items_take_their_programs_flags_shared() {
        let programs = "programs:\n  relay:\n    flags:\n      - {name: port, short: p, kind: number, default: 7330}\n";
        let args = |program: &str| {
            format!(
                "        check:\n          args: {{source: command, command_line: \"{program} -p 1\", program: {program}, query: .flags.port}}\n          expect: [{{equals: 1}}]\n"
            )
        };
        let two = format!(
            "{programs}{ITEM}{}      - id: b\n        title: B\n        severity: high\n        why: w\n        fix: f\n        phase: pre-deploy\n{}",
            args("relay"),
            args("relay")
        );
        let loaded = load_pack_text("t.yaml", format!("{HEADER}{two}")).unwrap();
        let flags: Vec<&Arc<[crate::spec::args::FlagSpec]>> = loaded.pack.sections[0]
            .items
            .iter()
            .map(|i| {
                i.check
                    .as_ref()
                    .unwrap()
                    .args
                    .as_ref()
                    .unwrap()
                    .flags
                    .as_ref()
                    .unwrap()
            })
            .collect();
        assert_eq!(flags[0][0].name, "port");
        assert!(
            Arc::ptr_eq(flags[0], flags[1]),
            "one grammar, not a copy per item"
        );
        let p = problems(&format!("{programs}{ITEM}{}", args("rela")));
        assert!(
            p.contains("program `rela` declares no `flags`") && p.contains("did you mean `relay`?"),
            "{p}"
        );
        assert!(p.contains("t.yaml:"), "where: {p}");
    }

    #[test]
    fn a_default_must_fit_its_variables_type() {
        let p = problems(&format!(
            "variables:\n  - {{name: port, type: port, doc: d, default: \"eighty\"}}\n{ITEM}        attest: {{roles: [security]}}\n"
        ));
        assert!(p.contains("default `eighty` is not a port"), "{p}");
        let p = problems(&format!(
            "variables:\n  - {{name: port, type: port, doc: d, default: \"80\"}}\n{ITEM}        attest: {{roles: [security]}}\n"
        ));
        assert_eq!(p, "");
    }

    #[test]
    fn traces_name_items_of_the_pack_or_say_why_not() {
        let attest = "        attest: {roles: [security]}\n";
        let traces = |rows: &str| {
            problems(&format!(
                "{ITEM}{attest}traces:\n  - document: systems.md\n    sections: [S]\n    rows:\n{rows}"
            ))
        };
        assert_eq!(traces("      - {row: '| x |', items: [a]}\n"), "");
        assert_eq!(traces("      - {row: '| x |', why: no meaning}\n"), "");
        let typo = traces("      - {row: '| x |', items: [b]}\n");
        assert!(typo.contains("names `b`, which is no item"), "{typo}");
        // Located at the id, and at the row (they named only the file).
        assert!(typo.contains("t.yaml:19:32"), "{typo}");
        let both = traces("      - {row: '| x |', items: [a], why: w}\n");
        assert!(both.contains("exactly one of `items`"), "{both}");
        assert!(both.contains("t.yaml:19:15"), "{both}");
        let neither = traces("      - {row: '| x |'}\n");
        assert!(neither.contains("exactly one of `items`"), "{neither}");
    }

    #[test]
    fn rejects_unknown_fields_with_location() {
        let p = problems(&format!(
            "{ITEM}        colour: red\n        attest: {{roles: [security]}}\n"
        ));
        assert!(p.contains("t.yaml:14:9") && p.contains("colour"), "{p}");
    }

    #[test]
    fn rejects_wrong_types() {
        let p = problems(&format!(
            "{ITEM}        tags: 5\n        attest: {{roles: [security]}}\n"
        ));
        assert!(p.contains("t.yaml:14"), "{p}");
        let p = problems(&ITEM.replace("severity: high", "severity: urgent").replace(
            "phase: pre-deploy\n",
            "phase: pre-deploy\n        attest: {roles: [security]}\n",
        ));
        assert!(p.contains("t.yaml:10:19") && p.contains("urgent"), "{p}");
    }

    #[test]
    fn rejects_duplicates_and_bad_checks() {
        let two = format!(
            "{ITEM}        attest: {{roles: [security]}}\n      - id: a\n        title: B\n        severity: low\n        why: w\n        fix: f\n        phase: periodic\n        check:\n          file: {{path: x}}\n          env: {{name: Y}}\n"
        );
        let p = problems(&two);
        assert!(
            p.contains("duplicate item id `a`")
                && p.contains("t.yaml:15:13")
                && p.contains("first at line 8, column 13"),
            "{p}"
        );
        assert!(p.contains("names 2 probes"), "{p}");
        let p = problems(&format!(
            "{ITEM}        check:\n          config: {{path: x.json, query: '.a | '}}\n"
        ));
        assert!(p.contains("invalid jq") && p.contains("t.yaml:15"), "{p}");
        let p = problems(&format!(
            "{ITEM}        check:\n          env: {{name: '${{nope}}'}}\n"
        ));
        assert!(p.contains("does not declare"), "{p}");
        assert!(
            p.contains("known: none") && !p.contains("did you mean"),
            "{p}"
        );
        let p = problems(&format!(
            "variables:\n  - {{name: cfg, doc: d}}\n  - {{name: port, type: port, doc: d}}\n{ITEM}        check:\n          env: {{name: '${{cfgg}}'}}\n"
        ));
        assert!(
            p.contains("uses `${cfgg}`")
                && p.contains("did you mean `${cfg}`?")
                && p.contains("known: cfg, port"),
            "{p}"
        );
        let p = problems(&format!(
            "{ITEM}        check:\n          probe_that_does_not_exist: {{}}\n"
        ));
        assert!(p.contains("probe_that_does_not_exist"), "{p}");
    }
}
