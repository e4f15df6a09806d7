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

#[cfg(test)]
mod tests {
    use super::*;

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
