//! The built-in packs (`packs/*.yaml`) as JSON, made once at build time. A run parsed its
//! packs' YAML at every start: about 3.5 ms of the demo's run for the SecureClaw pack, where
//! the same data reads from JSON in about 0.3 ms (BENCHMARKS.md). The YAML stays the source
//! (`pack show` prints it, errors point into it); `pack::builtin`'s tests check that both
//! forms load to the same pack.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let packs = manifest.join("../../packs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-changed={}", packs.display());
    let entries = fs::read_dir(&packs).unwrap_or_else(|e| panic!("{}: {e}", packs.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let (Some(stem), Some("yaml")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        println!("cargo::rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: serde_json::Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("built-in pack {}: {e}", path.display()));
        let json = serde_json::to_string(&value).expect("a JSON value serializes");
        let target = out.join(format!("{stem}.json"));
        fs::write(&target, json).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
}
