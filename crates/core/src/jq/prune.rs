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
//! Names are found as words in the text (of the expression, and of each definition's
//! parsed body as jaq prints it), which can only find too many: a field or a string that
//! looks like a filter's name keeps a definition that is not needed, never the reverse.
//! jaq itself has no such pruning, hence this module.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::Def;

/// Each definition's name and the words of its body, once per process.
struct Index {
    /// Name → the positions of the definitions of that name (any arity).
    by_name: HashMap<&'static str, Vec<usize>>,
    /// Position → the words its body mentions.
    mentions: Vec<Vec<String>>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let defs = super::standard_defs();
        let mut by_name: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut mentions = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            by_name.entry(def.name).or_default().push(i);
            let body = format!("{:?}", def.body);
            mentions.push(words(&body).map(str::to_string).collect());
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
                todo.extend(index.mentions[i].iter().map(String::as_str));
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
