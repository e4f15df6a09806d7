//! The standard definitions an expression can reach, so that it compiles with those alone.
//!
//! jaq compiles every definition it is given: about 0.5 ms for its standard library, at
//! every expression that names a filter (`length`, `test(...)`, `map(...)`). Most of them
//! name two or three. An expression compiled with the definitions whose names it (or a
//! definition it reaches) mentions, kept in their order, resolves every name as it does
//! with all of them: a name resolves to the last definition of that name and arity before
//! the use, and every definition of a reached name is kept. Natives are all kept (they
//! cost nothing to compile).
//!
//! Names are found as words in the expression's text, which can only find too many (a
//! field or a string that looks like a filter's name keeps a definition that is not
//! needed), and as the calls in each definition's parsed body. Should either miss a name,
//! the compile fails on it and the expression is compiled with every definition: never a
//! different meaning. jaq itself has no such pruning, hence this module.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::Part;

use super::Def;

/// Each definition's name and the words of its body, once per process.
pub(super) struct Index {
    /// Name → the positions of the definitions of that name (any arity).
    by_name: HashMap<&'static str, Vec<usize>>,
    /// Position → the filters its body calls.
    mentions: Vec<Vec<&'static str>>,
}

/// The index (and with it the parsed standard definitions), built on first use.
pub(super) fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let defs = super::standard_defs();
        let mut by_name: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut mentions = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            by_name.entry(def.name).or_default().push(i);
            let mut calls = Vec::new();
            called(&def.body, &mut calls);
            mentions.push(calls);
        }
        Index { by_name, mentions }
    })
}

/// The words of `text` that could name a filter: identifiers, with a leading `@` for the
/// format filters (`@base64`), and each also without it.
fn words(text: &str) -> impl Iterator<Item = &str> {
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new("@?[A-Za-z_][A-Za-z0-9_]*").expect("a valid pattern")
    });
    WORD.find_iter(text)
        .map(|m| m.as_str())
        .flat_map(|w| [w, w.trim_start_matches('@')])
}

/// Pushes the names of the filters `term` calls (with a format's name, with and without
/// its `@`). It walks the parsed definitions once per process; formatting them as text and
/// finding words in it took about 0.9 ms.
fn called(term: &Term<&'static str>, out: &mut Vec<&'static str>) {
    let pattern = |p: &Pattern<&'static str>, out: &mut Vec<&'static str>| {
        fn walk(p: &Pattern<&'static str>, out: &mut Vec<&'static str>) {
            match p {
                Pattern::Var(_) => {}
                Pattern::Arr(ps) => ps.iter().for_each(|p| walk(p, out)),
                Pattern::Obj(kvs) => kvs.iter().for_each(|(k, p)| {
                    called(k, out);
                    walk(p, out);
                }),
            }
        }
        walk(p, out);
    };
    match term {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => {}
        Term::Str(format, parts) => {
            if let Some(f) = format {
                out.extend([*f, f.trim_start_matches('@')]);
            }
            for part in parts {
                if let StrPart::Term(t) = part {
                    called(t, out);
                }
            }
        }
        Term::Arr(t) => t.iter().for_each(|t| called(t, out)),
        Term::Obj(kvs) => kvs.iter().for_each(|(k, v)| {
            called(k, out);
            v.iter().for_each(|v| called(v, out));
        }),
        Term::Neg(t) | Term::Label(_, t) => called(t, out),
        Term::BinOp(l, op, r) => {
            called(l, out);
            if let BinaryOp::Pipe(Some(p)) = op {
                pattern(p, out);
            }
            called(r, out);
        }
        Term::Fold(_, xs, p, args) => {
            called(xs, out);
            pattern(p, out);
            args.iter().for_each(|a| called(a, out));
        }
        Term::TryCatch(t, c) => {
            called(t, out);
            c.iter().for_each(|c| called(c, out));
        }
        Term::IfThenElse(branches, otherwise) => {
            for (cond, then) in branches {
                called(cond, out);
                called(then, out);
            }
            otherwise.iter().for_each(|t| called(t, out));
        }
        Term::Def(defs, t) => {
            defs.iter().for_each(|d| called(&d.body, out));
            called(t, out);
        }
        Term::Call(name, args) => {
            out.push(name);
            args.iter().for_each(|a| called(a, out));
        }
        Term::Path(t, path) => {
            called(t, out);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(i) => called(i, out),
                    Part::Range(from, to) => {
                        from.iter().chain(to).for_each(|t| called(t, out));
                    }
                }
            }
        }
    }
}

/// The standard definitions that `code` can reach, in their order.
pub(super) fn reachable(code: &str) -> Vec<Def> {
    let defs = super::standard_defs();
    let index = index();
    let mut keep: HashSet<usize> = HashSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut todo: Vec<&str> = words(code).collect();
    while let Some(word) = todo.pop() {
        if !seen.insert(word) {
            continue;
        }
        for &i in index.by_name.get(word).into_iter().flatten() {
            if keep.insert(i) {
                todo.extend(index.mentions[i].iter().copied());
            }
        }
    }
    let mut positions: Vec<usize> = keep.into_iter().collect();
    positions.sort_unstable();
    positions.into_iter().map(|i| defs[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk finds no call the printed body does not name, and enough of them: every
    /// standard filter, called, compiles with the definitions it reaches (a call missed
    /// would be undefined there).
    #[test]
    fn a_definitions_calls_are_found_and_are_enough_to_compile_it() {
        let defs = crate::jq::standard_defs();
        let names: HashSet<&str> = defs.iter().map(|d| d.name).collect();
        let mut calling = 0;
        for def in defs {
            let mut walked = Vec::new();
            called(&def.body, &mut walked);
            let text = format!("{:?}", def.body);
            let worded: HashSet<&str> = words(&text).collect();
            assert!(
                walked.iter().all(|w| worded.contains(w)),
                "{}: {walked:?}",
                def.name
            );
            calling += usize::from(walked.iter().any(|w| names.contains(w)));
            let args = vec!["."; def.args.len()].join("; ");
            let code = if args.is_empty() {
                def.name.to_string()
            } else {
                format!("{}({args})", def.name)
            };
            if let Err(e) = crate::jq::compile_with(&code, reachable(&code), crate::jq::all_funs())
            {
                panic!("{code}: {e}");
            }
        }
        assert!(calling > 50, "{calling} definitions call others");
    }

    #[test]
    fn words_are_identifiers_and_formats() {
        let found: Vec<&str> = words(".a | map(@base64) | test(\"x_1\") // $v").collect();
        assert_eq!(
            found,
            [
                "a", "a", "map", "map", "@base64", "base64", "test", "test", "x_1", "x_1", "v", "v"
            ]
        );
    }
}
