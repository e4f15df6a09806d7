//! Packs embedded in the binary. They are data files under `packs/`, not Rust code.

use super::LoadedPack;
use super::load::load_builtin;
use crate::error::Error;

/// A built-in pack: its YAML (the source) and the JSON build.rs made of it.
struct Builtin {
    name: &'static str,
    yaml: &'static str,
    json: &'static str,
}

macro_rules! builtin {
    ($name:literal) => {
        Builtin {
            name: $name,
            yaml: include_str!(concat!("../../../../packs/", $name, ".yaml")),
            json: include_str!(concat!(env!("OUT_DIR"), "/", $name, ".json")),
        }
    };
}

/// Every built-in pack.
const PACKS: &[Builtin] = &[
    builtin!("secureclaw"),
    builtin!("clasp"),
    builtin!("ocmt"),
    builtin!("rack-gateway"),
    builtin!("web-service"),
];

fn find(name: &str) -> Option<&'static Builtin> {
    PACKS.iter().find(|b| b.name == name)
}

/// The source checklists the built-in packs trace to (file name, text).
pub const SOURCES: &[(&str, &str)] = &[
    (
        "000_7c4f6abc7f210c31.txt",
        include_str!("../../../../packs/sources/000_7c4f6abc7f210c31.txt"),
    ),
    (
        "001_87700b7fa0c5236d.txt",
        include_str!("../../../../packs/sources/001_87700b7fa0c5236d.txt"),
    ),
    (
        "002_c51f9d19346a0fdb.txt",
        include_str!("../../../../packs/sources/002_c51f9d19346a0fdb.txt"),
    ),
    (
        "003_5361eeac42c4ffea.txt",
        include_str!("../../../../packs/sources/003_5361eeac42c4ffea.txt"),
    ),
    (
        "004_a5d6f5cd15417cc2.txt",
        include_str!("../../../../packs/sources/004_a5d6f5cd15417cc2.txt"),
    ),
    (
        "systems.md",
        include_str!("../../../../packs/sources/systems.md"),
    ),
];

/// Names of the built-in packs.
pub fn names() -> Vec<&'static str> {
    PACKS.iter().map(|b| b.name).collect()
}

/// Loads a built-in pack by name; `None` when there is no such pack. It is not validated
/// again: `every_builtin_pack_is_valid` does that once, here.
pub fn load(name: &str) -> Option<Result<LoadedPack, Error>> {
    let b = find(name)?;
    Some(load_builtin(&format!("builtin:{}", b.name), b.yaml, b.json))
}

/// What `pack list` shows of a pack: read without compiling its checks (the built-in
/// packs are validated by their tests, and by every run that loads them).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub name: String,
    pub version: String,
    pub title: String,
    items: usize,
}

impl Summary {
    pub fn items(&self) -> usize {
        self.items
    }
}

/// The fields of a summary, as parsed from the YAML.
#[derive(serde::Deserialize)]
struct Parsed {
    name: String,
    version: String,
    title: String,
    sections: Vec<SectionSummary>,
}

#[derive(serde::Deserialize)]
struct SectionSummary {
    items: Vec<serde::de::IgnoredAny>,
}

/// The summary of a built-in pack; `None` when there is no such pack.
pub fn summary(name: &str) -> Option<Result<Summary, String>> {
    let text = text(name)?;
    Some(match scan(text) {
        Some(s) => Ok(s),
        None => super::load::parse_yaml::<Parsed>(text)
            .map(|p| Summary {
                items: p.sections.iter().map(|s| s.items.len()).sum(),
                name: p.name,
                version: p.version,
                title: p.title,
            })
            .map_err(|p| p.message),
    })
}

/// The summary read off the built-in pack's lines, without parsing its YAML (which took
/// 20 ms for the five packs, all of `pack list`'s time): the top-level `name`, `version`
/// and `title` as plain scalars, and an item per `- id:` at the items' indentation.
/// `None` when a value is written otherwise (quoted, folded); the YAML is parsed then.
/// The built-in packs are our own data, and a test checks that this agrees with the full
/// load for every one of them.
fn scan(text: &str) -> Option<Summary> {
    const ITEM: &str = "      - id:";
    let (mut name, mut version, mut title, mut items) = (None, None, None, 0);
    for line in text.lines() {
        if line.starts_with(ITEM) {
            items += 1;
            continue;
        }
        let plain = |key: &str| -> Option<Option<String>> {
            let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
            let simple = !value.is_empty()
                && !value.contains(" #")
                && !value
                    .starts_with(['"', '\'', '|', '>', '&', '*', '{', '[', '!', '%', '@', '`']);
            Some(simple.then(|| value.to_string()))
        };
        if let Some(v) = plain("name") {
            name = Some(v?);
        } else if let Some(v) = plain("version") {
            version = Some(v?);
        } else if let Some(v) = plain("title") {
            title = Some(v?);
        }
    }
    Some(Summary {
        name: name?,
        version: version?,
        title: title?,
        items,
    })
}

/// The YAML text of a built-in pack.
pub fn text(name: &str) -> Option<&'static str> {
    find(name).map(|b| b.yaml)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_summary_says_what_the_full_load_does() {
        for name in super::names() {
            let full = super::load(name).unwrap().unwrap();
            let summary = super::summary(name).unwrap().unwrap();
            // Read off the lines, not parsed: the fast path is the one tested.
            assert_eq!(
                super::scan(super::text(name).unwrap()),
                Some(summary.clone())
            );
            assert_eq!(summary.name, full.pack.name);
            assert_eq!(summary.version, full.pack.version);
            assert_eq!(summary.title, full.pack.title);
            let items: usize = full.pack.sections.iter().map(|s| s.items.len()).sum();
            assert_eq!(summary.items(), items, "{name}");
        }
    }

    #[test]
    fn a_value_not_written_plainly_is_left_to_the_yaml_parser() {
        let plain = "name: a\nversion: 1.0.0\ntitle: A pack\nsections:\n  - id: s\n    items:\n      - id: x\n      - id: y\n";
        let s = super::scan(plain).unwrap();
        assert_eq!((s.name.as_str(), s.items()), ("a", 2));
        for text in [
            "name: a\nversion: 1.0.0\ntitle: \"Quoted\"\n",
            "name: a\nversion: 1.0.0\ntitle: >\n  Folded\n",
            "name: a\nversion: 1.0.0\ntitle: A # comment\n",
            "name: a\ntitle: No version\n",
        ] {
            assert_eq!(super::scan(text), None, "{text}");
        }
    }

    #[test]
    fn the_json_form_loads_the_pack_the_yaml_does() {
        use super::super::Pack;
        // Locations are the one difference (JSON has none; only validation reads them).
        let span = regex::Regex::new(r"Location \{[^{}]*(\{[^{}]*\}[^{}]*)*\}").unwrap();
        let shown = |pack: &Pack| span.replace_all(&format!("{pack:?}"), "_").into_owned();
        let first_id = |pack: &Pack| pack.sections[0].items[0].id.referenced;
        for b in super::PACKS {
            let from_yaml = super::super::load_pack_text(b.name, b.yaml.to_string())
                .unwrap()
                .pack;
            let loaded = super::load(b.name).unwrap().unwrap().pack;
            assert_eq!(
                shown(&loaded),
                shown(&from_yaml),
                "built-in pack {}",
                b.name
            );
            // `load` read the JSON form: its values carry no location.
            let from_json: Pack = serde_json::from_str(b.json).unwrap_or_else(|e| {
                // build.rs reads values without their types: a plain `n`, `no` or `on`
                // is a boolean, `1.10` a number. Quote such a value in the YAML.
                panic!(
                    "built-in pack {}: its JSON form (build.rs): {e}; quote the value in the YAML",
                    b.name
                )
            });
            assert_eq!(first_id(&loaded), first_id(&from_json), "{}", b.name);
            assert_ne!(first_id(&loaded), first_id(&from_yaml), "{}", b.name);
        }
    }

    #[test]
    fn every_builtin_pack_is_valid() {
        // In full, as a pack file is: loading a built-in pack skips this.
        for name in super::names() {
            let text = super::text(name).unwrap().to_string();
            if let Err(e) = super::super::load_pack_text(&format!("builtin:{name}"), text) {
                panic!("built-in pack {name} is invalid: {e}");
            }
        }
    }
}
