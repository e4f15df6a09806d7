//! YAML as shipcheck reads it: serde-saphyr with a budget that fits real packs (tens of
//! thousands of items) while still refusing alias bombs and runaway nesting, and the
//! parser's errors said for a person, located.

use crate::diag::{Pos, Problem};

/// The most YAML nodes (mappings, sequences and scalars) a file may hold: about 150,000
/// pack items. serde-saphyr's default (250,000) stops a pack of 10,000 items.
pub const MAX_NODES: usize = 4_000_000;
/// The most parser events a file may produce (about two per node).
pub const MAX_EVENTS: usize = 10_000_000;

fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_nodes = MAX_NODES;
    b.max_events = MAX_EVENTS;
    b
}

/// Parses YAML into `T`, turning a parse error into a located [`Problem`].
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Problem> {
    if text.trim().is_empty() {
        return Err(Problem::new(
            "the file is empty; expected a YAML mapping",
            None,
        ));
    }
    parse_with::<T>(text, budget())
}

/// [`parse_yaml`] under `budget`.
fn parse_with<T: serde::de::DeserializeOwned>(
    text: &str,
    budget: serde_saphyr::Budget,
) -> Result<T, Problem> {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| {
        let pos = e.location().as_ref().and_then(Pos::from_location);
        let message = crate::diag::one_line(&e.without_snippet().to_string());
        // serde-saphyr appends its own "at line X column Y"; we show positions ourselves.
        let message = strip_position_suffix(&message);
        let (message, help) = for_a_person(&message);
        let problem = Problem::new(message, pos).with_label("here");
        match help {
            Some(h) => problem.with_help(h),
            None => problem,
        }
    })
}

/// The parser's words said for a person, with a suggestion where one helps.
fn for_a_person(message: &str) -> (String, Option<String>) {
    let help = |h: &str| Some(h.to_string());
    if message.starts_with("budget breached") {
        return (
            format!(
                "the file is too large to read safely: more than {MAX_NODES} YAML values, or more nesting, aliases or text than a pack, profile or config file needs"
            ),
            help("split a large pack into several packs, and have one include the others"),
        );
    }
    if message == "invalid boolean" {
        return ("invalid boolean: expected true or false".into(), None);
    }
    if message.starts_with("expected sequence start") {
        return (
            "expected a list here".into(),
            help("write a list as `[a, b]`, or as lines starting with `- `"),
        );
    }
    if message.starts_with("expected mapping start") {
        return (
            "expected a mapping (`key: value` lines) here, and found none".into(),
            help(
                "a key that holds only comments is empty: give it `key: value` lines, or remove it",
            ),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return (
            format!("`{key}` is given twice in the same mapping"),
            help("keep one of them"),
        );
    }
    (message.to_string(), None)
}

fn strip_position_suffix(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    for marker in [" at line ", " (line "] {
        if let Some(i) = lower.rfind(marker) {
            let tail = &lower[i + marker.len()..];
            if tail.chars().next().is_some_and(|c| c.is_ascii_digit()) && tail.contains("column") {
                return message[..i].trim_end_matches([',', ' ']).to_string();
            }
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        items: Vec<serde_json::Value>,
    }

    #[test]
    fn a_pack_of_20000_items_is_read() {
        let mut text = String::from("items:\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "  - {{id: item-{i}, title: t, severity: low, phase: pre-deploy, why: w, fix: f, attest: {{roles: [operations]}}}}\n"
            ));
        }
        let doc: Doc = parse_yaml(&text).unwrap();
        assert_eq!(doc.items.len(), 20_000);
    }

    #[test]
    fn a_breached_budget_is_said_for_a_person() {
        let text = "items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
        let mut small = serde_saphyr::Budget::default();
        small.max_nodes = 5;
        let p = parse_with::<Doc>(text, small).err().unwrap();
        assert!(
            p.message.contains("too large to read safely"),
            "{}",
            p.message
        );
        assert!(!p.message.contains("Nodes {"), "{}", p.message);
    }

    #[test]
    fn an_alias_bomb_is_still_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let name = (b'b' + i as u8) as char;
            text.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        text.push_str("items: []\n");
        assert!(
            parse_yaml::<Doc>(&text).is_err(),
            "10^9 values from a few lines"
        );
    }
}
