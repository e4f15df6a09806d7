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

/// The YAML text of a built-in pack.
pub fn text(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_pack_is_valid() {
        for name in super::names() {
            if let Some(Err(e)) = super::load(name) {
                panic!("built-in pack {name} is invalid: {e}");
            }
        }
    }
}
