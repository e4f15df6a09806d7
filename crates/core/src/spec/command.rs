//! `command` probe spec: what a pack writes under `check: { command: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Span;
use crate::text::Text;

/// A command to run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandProbe {
    /// Program and arguments; each element expands `${var}` on its own (no shell).
    #[schemars(with = "Vec<String>")]
    pub argv: Vec<Text>,
    /// Time allowed before the process is killed (default 10s).
    #[serde(default)]
    pub timeout: Option<Span>,
    /// Expected exit code (default 0); `any` accepts every exit code.
    #[serde(default)]
    pub exit_code: Option<ExitCode>,
    /// What another exit code than `exit_code` means: `fail` (default: the exit code is the
    /// finding, as `systemctl is-active`'s) or `error` (the program could not observe the
    /// fact, as `pg_restore --list` on a file that is no dump: could not check).
    #[serde(default)]
    pub other_exit: OtherExit,
    /// Which output the matchers judge: `stdout` (default), `stderr` or `combined`.
    #[serde(default)]
    pub capture: Capture,
    /// How to read the captured output: `text` (default, trailing newline trimmed) or
    /// `json` (parsed, so `jq` matchers can query it).
    #[serde(default)]
    pub output: Output,
    /// Working directory (default: the profile's folder).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cwd: Option<Text>,
    /// Ways the program is known to refuse that are findings about the deployment, not
    /// could-not-check: when one matches, the item fails with its meaning and the matchers
    /// are not applied (`secureclaw security audit` exits 1 with "Config invalid").
    #[serde(default)]
    pub known_failures: Vec<KnownFailure>,
}

/// A known refusal of the program: its exit code and a regex over its combined output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    pub exit_code: i32,
    /// Regex over stdout and stderr together.
    pub matches: String,
    /// What it means, shown as the finding (e.g. "the config is invalid").
    pub means: String,
}

/// What an unexpected exit code means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtherExit {
    #[default]
    Fail,
    Error,
}

/// An exit code, or `any`.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExitCode {
    Code(i32),
    Any(AnyCode),
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnyCode {
    Any,
}

/// Which stream the matchers see.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capture {
    #[default]
    Stdout,
    Stderr,
    Combined,
}

/// How the captured output is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    #[default]
    Text,
    Json,
}

impl super::Spec for CommandProbe {
    fn templates(&self) -> Vec<&Text> {
        self.argv.iter().chain(self.cwd.as_ref()).collect()
    }

    fn patterns(&self) -> Vec<&str> {
        self.known_failures
            .iter()
            .map(|k| k.matches.as_str())
            .collect()
    }

    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        let mut problems = Vec::new();
        if self.argv.is_empty() {
            problems.push((
                "`argv` is empty: give the program and its arguments".into(),
                None,
            ));
        }
        for known in &self.known_failures {
            if let Err(e) = crate::pattern::compile(&known.matches) {
                problems.push((
                    format!(
                        "`known_failures`: invalid regex `{}`: {}",
                        known.matches,
                        crate::diag::one_line(&e.to_string())
                    ),
                    None,
                ));
            }
        }
        problems
    }
}
