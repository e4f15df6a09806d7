//! Packs: checklists as code. A pack is a YAML file of sections of items; each item is an
//! automated `check` (a probe plus matchers) or a manual `attest`ation.
//!
//! [`load`] parses and validates a pack with source positions; [`builtin`] holds the packs
//! embedded in the binary; [`schema`] publishes the JSON Schema of the format.

pub mod builtin;
pub mod coverage;
pub mod load;
pub mod vartype;
pub mod yaml;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Span;
use crate::matcher::Matcher;
use crate::spec::ProbeRef;

pub use load::{LoadedPack, load_pack_file, load_pack_text};

pub use crate::text::Text;

/// A whole pack file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Short machine name, e.g. `secureclaw`; used to qualify item ids (`secureclaw:ID`).
    pub name: String,
    /// The pack's own version (semver recommended); recorded in every run.
    pub version: String,
    /// Human title.
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The checklist document this pack makes executable.
    #[serde(default)]
    pub source: Option<SourceDoc>,
    /// Variables the items use as `${name}`; values come from the profile.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Other packs this one builds on (e.g. the `web-service` baseline); they run with it.
    #[serde(default)]
    pub include: Vec<Include>,
    /// The services the live items reach, by name (see [`crate::endpoint`]); each gives the
    /// items `${NAME.url}`, `${NAME.host}`, `${NAME.port}`... and a profile may reset it.
    #[serde(default)]
    pub endpoints: BTreeMap<String, crate::endpoint::Endpoint>,
    /// Programs whose command line `args` items parse, by the name the items give as
    /// `program`: their flags, written once (an item may still declare its own `flags`).
    #[serde(default)]
    pub programs: BTreeMap<String, crate::spec::args::Program>,
    pub sections: Vec<Section>,
    /// Rows of reference tables (a system's settings and checks, e.g. `systems.md`) and the
    /// items that cover each, or why a row is not an item; `pack coverage` reports them.
    #[serde(default)]
    pub traces: Vec<Trace>,
}

/// A reference document's table rows, traced to items.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// File name of the document (one of the embedded sources).
    pub document: String,
    /// Headings (as written, without `#`) whose tables this pack must cover.
    pub sections: Vec<String>,
    pub rows: Vec<TraceRow>,
}

/// One table row: quoted by its leading cells (`| 1 | Token not default |`), with the items
/// covering it or the reason it is not an item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceRow {
    #[schemars(with = "String")]
    pub row: Text,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub items: Vec<Text>,
    #[serde(default)]
    pub why: Option<String>,
}

/// Where a pack (or an item) comes from.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// File name of the source document.
    pub document: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Section heading inside the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Lines of the document this item covers, quoted as they stand (checklist lines,
    /// bullets, numbered steps); `shipcheck pack coverage` maps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// Further documents the item also traces to (a pack with two source documents, where
    /// both state the same requirement).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<SourceDoc>,
}

impl SourceDoc {
    /// This reference and every `also` reference, depth first.
    pub fn all(&self) -> Vec<&SourceDoc> {
        let mut out = vec![self];
        for a in &self.also {
            out.extend(a.all());
        }
        out
    }
}

/// A pack included by another, with values for its variables.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Include {
    /// Built-in pack name, or a path relative to the including pack's file.
    pub pack: String,
    /// Values for the included pack's variables, as templates over the including pack's
    /// variables (`base_url: "https://${domain}"`). The profile can still override them.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub vars: std::collections::BTreeMap<String, Text>,
    /// Ids of the included pack's items that do not apply to the including system (they are
    /// reported not_applicable, with the reason).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// jq condition over `.vars` and `.environment`: when false, every item of the included
    /// pack is not_applicable (e.g. live checks without a public domain).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub when: Option<Text>,
}

/// A declared variable.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Name used as `${name}` in items and as a key in the profile's `vars`.
    #[schemars(with = "String")]
    pub name: Text,
    /// What the variable means, shown by `pack show` and `init`.
    pub doc: String,
    /// Value when the profile gives none.
    #[serde(default)]
    pub default: Option<String>,
    /// A run refuses to start when a required variable has no value.
    #[serde(default)]
    pub required: bool,
    /// If set, the value must be one of these.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// What the value holds (port, host, url, http_path, path, duration, integer, bool;
    /// default string): checked on the default at load and on the profile's value.
    #[serde(default, rename = "type")]
    pub kind: vartype::VarType,
    /// The value is a secret (a token, a URL with a password): it is never printed.
    #[serde(default)]
    pub secret: bool,
}

/// A group of items, shown together in reports.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    #[schemars(with = "String")]
    pub id: Text,
    pub title: String,
    pub items: Vec<Item>,
}

/// One checklist item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Stable id, unique in the pack: lower case letters, digits, `.`, `-`, `_`.
    #[schemars(with = "String")]
    pub id: Text,
    pub title: String,
    pub severity: Severity,
    /// Why the item matters.
    pub why: String,
    /// How to fix a failure.
    pub fix: String,
    /// A mechanical fix of a failure, which `shipcheck fix` shows and applies.
    #[serde(default)]
    pub remedy: Option<Box<crate::remedy::Remedy>>,
    pub phase: Phase,
    /// For a periodic item: how often it runs after a deploy (default: the profile's
    /// `schedule.every`).
    #[serde(default)]
    pub every: Option<crate::duration::Span>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// jq condition over `{vars, environment}`; the item is not_applicable when it is false.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub when: Option<Text>,
    /// Optional items are not_applicable unless the profile enables them (`enable:`).
    #[serde(default)]
    pub optional: bool,
    /// A check proposed by `shipcheck pack import` that no person has reviewed yet: the item
    /// is not_applicable (never a guessed pass or fail) until `review: true` is removed.
    #[serde(default)]
    pub review: bool,
    /// An automated check.
    #[serde(default)]
    pub check: Option<Box<Check>>,
    /// A manual attestation.
    #[serde(default)]
    pub attest: Option<Attest>,
    /// Where in the source document the item comes from.
    #[serde(default)]
    pub source: Option<SourceDoc>,
    #[serde(default)]
    pub links: Vec<String>,
}

/// A condition under which a check's failure means "not yet due".
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingWhen {
    /// jq over the observed value; truthy means not yet due.
    #[schemars(with = "String")]
    pub jq: Text,
    /// Why it is not yet due, shown as the item's summary.
    pub reason: String,
}

macro_rules! define_check {
    ($( $(#[doc = $doc:literal])* $field:ident: $variant:ident => $ty:ty, )*) => {
        /// An automated check: exactly one probe, then matchers over what it observed.
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Check {
            // Boxed: a check names one probe, and the specs inline would make every item
            // several kilobytes (most of the memory of a 10,000-item pack).
            $( $(#[doc = $doc])* #[serde(default)] pub $field: Option<Box<$ty>>, )*
            /// Matchers over the probe's observed value; all must hold.
            // A boxed slice: exactly as long as written (a Vec read from YAML keeps room
            // for four matchers, most of a large pack's memory after the items).
            #[serde(default)]
            pub expect: Box<[Matcher]>,
            /// Result when a matcher does not hold: `fail` (default) or `warn`.
            #[serde(default)]
            pub on_fail: OnFail,
            /// Time allowed for this check (default 30s).
            #[serde(default)]
            pub timeout: Option<Span>,
            /// Whether the observed value is a secret. Unset: guessed from the key or variable name.
            #[serde(default)]
            pub secret: Option<bool>,
            /// The endpoint (of this pack's `endpoints`) the check reaches: checked for being
            /// reachable once per run before its items, and a TLS check of a plain-HTTP one
            /// is the finding "no TLS".
            #[serde(default)]
            pub endpoint: Option<String>,
            /// When the result is not a pass and this holds on the observed value, the item
            /// is `pending` (not yet due), not failed: a fact that needs time after a start
            /// (a snapshot written one interval after the process starts).
            #[serde(default)]
            pub pending_when: Option<PendingWhen>,
        }

        impl Check {
            /// Every probe the check names (a valid check names exactly one).
            pub fn probes(&self) -> Vec<ProbeRef<'_>> {
                let mut found = Vec::new();
                $( if let Some(p) = &self.$field { found.push(ProbeRef::$variant(&**p)); } )*
                found
            }
        }
    };
}
crate::for_each_probe!(define_check);

/// What a check that does not hold yields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    #[default]
    Fail,
    Warn,
}

/// A manual attestation: a person with one of these roles says the item holds.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attest {
    /// Roles allowed to attest.
    pub roles: Vec<Role>,
    /// Whether an attestation must carry evidence (a file or URL).
    #[serde(default)]
    pub evidence_required: bool,
    /// How long an attestation stays valid, e.g. `90d`.
    #[serde(default)]
    pub valid_for: Option<Span>,
    /// What the attester should verify.
    #[serde(default)]
    pub instructions: Option<String>,
}

/// Sign-off and attestation roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Security,
    Operations,
    Compliance,
    Development,
    Management,
}

impl Role {
    /// The role's name as written in packs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Security => "security",
            Role::Operations => "operations",
            Role::Compliance => "compliance",
            Role::Development => "development",
            Role::Management => "management",
        }
    }
}

/// How bad a failing item is. Ordered: `info` < `low` < `medium` < `high` < `critical`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a severity (critical, high, medium, low, info)"))
    }
}

impl std::str::FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
                format!("`{s}` is not a phase ({})", names.join(", "))
            })
    }
}

/// When in a deployment's life an item is checked. Ordered as a deploy's timeline:
/// `periodic` comes last.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    PreDeploy,
    PostDeployImmediate,
    FirstHour,
    FirstDay,
    FirstWeek,
    Periodic,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::PreDeploy,
        Phase::PostDeployImmediate,
        Phase::FirstHour,
        Phase::FirstDay,
        Phase::FirstWeek,
        Phase::Periodic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreDeploy => "pre-deploy",
            Phase::PostDeployImmediate => "post-deploy-immediate",
            Phase::FirstHour => "first-hour",
            Phase::FirstDay => "first-day",
            Phase::FirstWeek => "first-week",
            Phase::Periodic => "periodic",
        }
    }
}

impl Check {
    /// The `secret` matcher of this check, if it has one.
    pub fn secret_spec(&self) -> Option<&crate::matcher::secret::SecretSpec> {
        self.expect.iter().find_map(|m| match m {
            crate::matcher::Matcher::Secret(s) => Some(s),
            _ => None,
        })
    }

    /// The regexes running the check compiles, as written: its probe's and its
    /// expectations'. Compiling one takes 0.1-1 ms, more than most local checks take in
    /// all (once per process: `pattern::compile` keeps them), so the engine starts the
    /// checks with the most new ones first.
    pub fn patterns(&self) -> Vec<&str> {
        let mut out = self.probe().map_or_else(|_| Vec::new(), |p| p.patterns());
        out.extend(self.expect.iter().filter_map(|m| match m {
            Matcher::Matches(t) | Matcher::NotMatches(t) => Some(t.value.as_str()),
            _ => None,
        }));
        out
    }

    /// A check that sends a burst of requests (a rate-limit check); the engine runs these
    /// after all other checks.
    pub fn is_burst(&self) -> bool {
        matches!(
            self.http.as_ref().and_then(|h| h.behaviour.as_ref()),
            Some(crate::spec::http::Behaviour::RateLimited(_))
        )
    }

    /// The one probe this check names; an error message when it names none or several.
    pub fn probe(&self) -> Result<ProbeRef<'_>, String> {
        let mut found = self.probes();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(format!(
                "a check needs exactly one probe, one of: {}",
                crate::spec::KINDS.join(", ")
            )),
            _ => Err(format!(
                "a check names {} probes ({}); it needs exactly one",
                found.len(),
                found
                    .iter()
                    .map(|p| p.kind())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// A plain-text description of a pack: variables, then sections and their items.
pub fn describe(pack: &Pack) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} {} — {}", pack.name, pack.version, pack.title);
    if let Some(src) = &pack.source {
        let _ = writeln!(out, "source: {}", src.document);
    }
    let items = || pack.sections.iter().flat_map(|s| &s.items);
    let fixes = items().filter(|i| i.remedy.is_some()).count();
    if fixes > 0 {
        let safe = items()
            .filter(|i| {
                i.remedy
                    .as_ref()
                    .is_some_and(|r| r.applicability == crate::remedy::Applicability::Safe)
            })
            .count();
        let _ = writeln!(
            out,
            "mechanical fixes: {fixes} ({safe} safe, {} unsafe; `shipcheck fix`)",
            fixes - safe
        );
    }
    if !pack.variables.is_empty() {
        let _ = writeln!(out, "\nvariables:");
        for v in &pack.variables {
            let mut flags = Vec::new();
            if v.required {
                flags.push("required".to_string());
            }
            if v.secret {
                flags.push("secret".to_string());
            }
            if let Some(d) = &v.default {
                flags.push(format!("default {d}"));
            }
            if !v.allowed.is_empty() {
                flags.push(format!("one of {}", v.allowed.join("|")));
            }
            let _ = writeln!(
                out,
                "  {:<24} {} [{}]",
                v.name.value,
                v.doc,
                flags.join(", ")
            );
        }
    }
    for inc in &pack.include {
        let mut notes = Vec::new();
        if let Some(w) = &inc.when {
            notes.push(format!("when {}", w.value));
        }
        if !inc.exclude.is_empty() {
            notes.push(format!("without {}", inc.exclude.join(", ")));
        }
        let _ = writeln!(
            out,
            "\nincludes: {}{}",
            inc.pack,
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            }
        );
    }
    for s in &pack.sections {
        let _ = writeln!(out, "\n{} ({})", s.title, s.id.value);
        for i in &s.items {
            let kind = match (&i.check, &i.attest) {
                (Some(c), _) => c.probe().map(|p| p.kind()).unwrap_or("check"),
                _ => "attest",
            };
            let opt = match (&i.remedy, i.optional) {
                (Some(r), true) => format!(" optional, fix: {}", r.applicability.as_str()),
                (Some(r), false) => format!(" fix: {}", r.applicability.as_str()),
                (None, true) => " optional".into(),
                (None, false) => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<40} {:<8} {:<22} {:<8}{opt}  {}",
                i.id.value,
                i.severity.as_str(),
                i.phase.as_str(),
                kind,
                i.title
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_lists_the_regexes_it_compiles() {
        let check = |yaml: &str| super::yaml::parse_yaml::<Check>(yaml).unwrap();
        let file = check(
            "file: {path: a.log, contains: 'ok', not_contains: '(?i)error'}\n\
             expect: [{matches: '^a'}, {not_matches: 'b$'}, {equals: 1}]",
        );
        assert_eq!(file.patterns(), ["ok", "(?i)error", "^a", "b$"]);
        let http = check("http: {url: 'http://x', body_matches: 'up'}");
        assert_eq!(http.patterns(), ["up"]);
        let command = check(
            "command: {argv: [x], known_failures: [{exit_code: 1, matches: 'bad', means: m}]}",
        );
        assert_eq!(command.patterns(), ["bad"]);
        assert!(check("env: {name: HOME}").patterns().is_empty());
    }

    #[test]
    fn an_item_is_small_in_memory() {
        // A 10,000-item pack holds its items in one Vec: with every probe spec inline an
        // item took 5,288 bytes; with the check and its probe specs boxed it takes 504.
        let item = std::mem::size_of::<Item>();
        assert!(item <= 640, "Item is {item} bytes");
        assert!(
            std::mem::size_of::<Check>() <= 320,
            "Check is {} bytes",
            std::mem::size_of::<Check>()
        );
    }
}
