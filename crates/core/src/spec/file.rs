//! `file` probe spec: what a pack writes under `check: { file: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::text::Text;

/// Facts about one path.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileProbe {
    /// Path to inspect; `${var}` and `~/` expand, relative paths start at the profile's folder.
    #[schemars(with = "String")]
    pub path: Text,
    /// Whether the path must exist (default `true`); `false` means it must be absent.
    #[serde(default)]
    pub exists: Option<bool>,
    /// A missing path is no finding, and the other expectations apply only to a path that
    /// is there (the mode of a secret file that may or may not exist, e.g. a `.env`).
    #[serde(default)]
    pub if_present: bool,
    /// Required type.
    #[serde(default, rename = "type")]
    pub kind: Option<FileKind>,
    /// Permission bits must be a subset of this octal mode, e.g. `"0600"`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mode_max: Option<Text>,
    /// Required owner: a user name or a numeric uid.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub min_size: Option<u64>,
    #[serde(default)]
    pub max_size: Option<u64>,
    /// Whether the file must be executable by its owner.
    #[serde(default)]
    pub executable: Option<bool>,
    /// For a directory: its newest entry (named as `entries_named` says, else not hidden)
    /// must be younger than this (e.g. `26h`).
    #[serde(default)]
    pub newest_max_age: Option<Span>,
    /// For a directory: it holds at least this many entries (a backup folder's retention:
    /// 30 daily dumps). The facts give the count and the oldest entry's age.
    #[serde(default)]
    pub min_entries: Option<u64>,
    /// Counts and ages only entries whose name matches this regex (e.g. `\.dump$`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub entries_named: Option<Text>,
    /// Regex over the command line of the process that writes the file (e.g.
    /// `secureclaw.*gateway`): the youngest match's uptime is in the facts
    /// (`writer_uptime_seconds`, null when none runs), so a `pending_when` can tell a log not
    /// written yet by a process just started from one that is missing.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub writer: Option<Text>,
    /// Regex the content must match.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub contains: Option<Text>,
    /// Regex the content must not match.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub not_contains: Option<Text>,
}

/// Kinds of file-system entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
}

impl super::Spec for FileProbe {
    fn templates(&self) -> Vec<&Text> {
        [
            Some(&self.path),
            self.contains.as_ref(),
            self.not_contains.as_ref(),
            self.entries_named.as_ref(),
            self.writer.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        let mut out = Vec::new();
        if let Some(m) = &self.mode_max
            && parse_mode(&m.value).is_none()
        {
            out.push((
                format!("`{}` is not an octal mode such as \"0600\"", m.value),
                Some(m),
            ));
        }
        for re in self
            .regexes()
            // A templated regex is checked when it expands, at run time.
            .filter(|re| !re.value.contains("${"))
        {
            if let Err(e) = crate::pattern::compile(&re.value) {
                out.push((
                    format!("invalid regex: {}", crate::diag::one_line(&e.to_string())),
                    Some(re),
                ));
            }
        }
        out
    }

    fn patterns(&self) -> Vec<&str> {
        self.regexes().map(|t| t.value.as_str()).collect()
    }
}

impl FileProbe {
    /// The fields that are regexes.
    fn regexes(&self) -> impl Iterator<Item = &Text> {
        [
            &self.contains,
            &self.not_contains,
            &self.entries_named,
            &self.writer,
        ]
        .into_iter()
        .flatten()
    }
}

/// Parses an octal mode such as `0600`, `600` or `0o600`.
pub fn parse_mode(text: &str) -> Option<u32> {
    let t = text.trim().trim_start_matches("0o");
    if t.is_empty() || t.len() > 5 {
        return None;
    }
    u32::from_str_radix(t, 8).ok().filter(|m| *m <= 0o7777)
}
