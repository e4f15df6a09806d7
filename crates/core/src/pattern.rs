//! Regular expressions, compiled once per process: the loader compiles every pattern of a
//! pack to validate it, and the checks use the same compiled pattern (compiling is most of
//! a small regex's cost; a pack's patterns were compiled twice, once on each side).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

/// Distinct patterns kept (a few KB each): a pack's patterns are a few dozen; past this,
/// patterns are compiled without being kept, so a pack of generated patterns costs no more
/// memory than it did before the cache (`bench/compare.sh`: 4,096 kept added 14 MB to the
/// 10,000-item run).
const MAX_KEPT: usize = 256;

static KEPT: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Mutex::default);

/// `pattern` compiled, from the process's cache when it was compiled before. (A `Regex` is
/// a shared handle: the clone is cheap, and each thread searches with its own cache.)
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    if let Some(rx) = KEPT.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(rx.clone());
    }
    let rx = Regex::new(pattern)?;
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() < MAX_KEPT {
        kept.insert(pattern.to_string(), rx.clone());
    }
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_compiles_once_and_matches_as_compiled() {
        let a = compile(r"^ok\s*$").unwrap();
        let b = compile(r"^ok\s*$").unwrap();
        assert!(a.is_match("ok \n") && b.is_match("ok"));
        assert!(!b.is_match("not ok"));
        assert_eq!(a.as_str(), b.as_str());
    }

    #[test]
    fn an_invalid_pattern_is_an_error_every_time() {
        for _ in 0..2 {
            let e = compile("a(").unwrap_err();
            assert!(e.to_string().contains("unclosed group"), "{e}");
        }
    }
}
