//! Packs embedded in the binary. They are data files under `packs/`, not Rust code.

use super::{LoadedPack, load_pack_text};
use crate::error::Error;

/// (name, file text) of every built-in pack.
const PACKS: &[(&str, &str)] = &[
    (
        "secureclaw",
        include_str!("../../../../packs/secureclaw.yaml"),
    ),
    ("clasp", include_str!("../../../../packs/clasp.yaml")),
    ("ocmt", include_str!("../../../../packs/ocmt.yaml")),
    (
        "rack-gateway",
        include_str!("../../../../packs/rack-gateway.yaml"),
    ),
    (
        "web-service",
        include_str!("../../../../packs/web-service.yaml"),
    ),
];

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
    PACKS.iter().map(|(n, _)| *n).collect()
}

/// Loads a built-in pack by name; `None` when there is no such pack.
pub fn load(name: &str) -> Option<Result<LoadedPack, Error>> {
    let (n, text) = PACKS.iter().find(|(n, _)| *n == name)?;
    Some(load_pack_text(&format!("builtin:{n}"), (*text).to_string()))
}

/// What `pack list` shows of a pack: read without compiling its checks (the built-in
/// packs are validated by their tests, and by every run that loads them).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Summary {
    pub name: String,
    pub version: String,
    pub title: String,
    pub sections: Vec<SectionSummary>,
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct SectionSummary {
    pub items: Vec<serde::de::IgnoredAny>,
}

impl Summary {
    pub fn items(&self) -> usize {
        self.sections.iter().map(|s| s.items.len()).sum()
    }
}

/// The summary of a built-in pack; `None` when there is no such pack.
pub fn summary(name: &str) -> Option<Result<Summary, String>> {
    let text = text(name)?;
    Some(super::load::parse_yaml::<Summary>(text).map_err(|p| p.message))
}

/// The YAML text of a built-in pack.
pub fn text(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_summary_says_what_the_full_load_does() {
        for name in super::names() {
            let full = super::load(name).unwrap().unwrap();
            let summary = super::summary(name).unwrap().unwrap();
            assert_eq!(summary.name, full.pack.name);
            assert_eq!(summary.version, full.pack.version);
            assert_eq!(summary.title, full.pack.title);
            let items: usize = full.pack.sections.iter().map(|s| s.items.len()).sum();
            assert_eq!(summary.items(), items, "{name}");
        }
    }

    #[test]
    fn every_builtin_pack_is_valid() {
        for name in super::names() {
            if let Some(Err(e)) = super::load(name) {
                panic!("built-in pack {name} is invalid: {e}");
            }
        }
    }
}
