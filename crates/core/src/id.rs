//! Item ids, parsed and displayed in one place. An item is named by its pack and its id
//! (`secureclaw:gateway.auth.token`); users may write the bare id where it is unambiguous
//! (`enable:`, waivers, `attest ITEM`).

use std::fmt;

/// A pack-qualified item id, `pack:id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedId {
    pub pack: String,
    pub item: String,
}

impl QualifiedId {
    pub fn new(pack: impl Into<String>, item: impl Into<String>) -> Self {
        QualifiedId {
            pack: pack.into(),
            item: item.into(),
        }
    }
}

impl fmt::Display for QualifiedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.pack, self.item)
    }
}

/// How a user names an item: `pack:id`, or the bare `id` (any pack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRef {
    pub pack: Option<String>,
    pub item: String,
}

impl ItemRef {
    /// Reads `pack:id` or `id`. Item ids hold no `:`, so the first one splits.
    pub fn parse(text: &str) -> ItemRef {
        match text.split_once(':') {
            Some((pack, item)) => ItemRef {
                pack: Some(pack.to_string()),
                item: item.to_string(),
            },
            None => ItemRef {
                pack: None,
                item: text.to_string(),
            },
        }
    }

    /// Whether this names the item `item` of pack `pack`.
    pub fn matches(&self, pack: &str, item: &str) -> bool {
        self.item == item && self.pack.as_deref().is_none_or(|p| p == pack)
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pack {
            Some(p) => write!(f, "{p}:{}", self.item),
            None => f.write_str(&self.item),
        }
    }
}

/// How a person names a recorded run: its number as `history` prints it (`7` or `#7`;
/// runs are numbered on their own, whatever else the ledger records between them), the
/// latest one (`latest`), or one before it (`latest~1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunRef {
    Number(u64),
    /// `latest~N`: N runs before the latest.
    Latest(u64),
}

impl std::str::FromStr for RunRef {
    type Err = String;

    fn from_str(text: &str) -> Result<RunRef, String> {
        let t = text.trim();
        let bad = || {
            format!(
                "`{text}` is not a run: give its number as `history` prints it (7 or #7), `latest` or `latest~N`"
            )
        };
        if let Some(rest) = t.strip_prefix("latest") {
            return match rest.strip_prefix('~') {
                None if rest.is_empty() => Ok(RunRef::Latest(0)),
                Some(n) => n.parse().map(RunRef::Latest).map_err(|_| bad()),
                None => Err(bad()),
            };
        }
        match t.trim_start_matches('#').parse::<u64>() {
            Ok(n) if n > 0 => Ok(RunRef::Number(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for RunRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunRef::Number(n) => write!(f, "#{n}"),
            RunRef::Latest(0) => write!(f, "latest"),
            RunRef::Latest(n) => write!(f, "latest~{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_refs_in_every_spelling() {
        let p = |t: &str| t.parse::<RunRef>();
        assert_eq!(p("7"), Ok(RunRef::Number(7)));
        assert_eq!(p("#7"), Ok(RunRef::Number(7)));
        assert_eq!(p("latest"), Ok(RunRef::Latest(0)));
        assert_eq!(p("latest~2"), Ok(RunRef::Latest(2)));
        for bad in ["0", "#", "newest", "latest~", "latest~x", "latest2", "-1"] {
            assert!(p(bad).unwrap_err().contains("latest~N"), "{bad}");
        }
        assert_eq!(RunRef::Latest(1).to_string(), "latest~1");
    }

    #[test]
    fn refs_match_bare_and_qualified() {
        let q = QualifiedId::new("secureclaw", "gateway.auth.token");
        assert_eq!(q.to_string(), "secureclaw:gateway.auth.token");
        assert!(ItemRef::parse("gateway.auth.token").matches(&q.pack, &q.item));
        assert!(ItemRef::parse("secureclaw:gateway.auth.token").matches(&q.pack, &q.item));
        assert!(!ItemRef::parse("web-service:gateway.auth.token").matches(&q.pack, &q.item));
        assert!(!ItemRef::parse("gateway.auth").matches(&q.pack, &q.item));
        assert_eq!(ItemRef::parse("a:b").to_string(), "a:b");
    }
}
