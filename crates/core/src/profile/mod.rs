//! Deployment profiles (`shipcheck.yaml` in the user's repo): which packs apply, variable
//! values per environment, optional items turned on, waivers, and gate settings.

mod init;
mod masking;
mod refs;

pub use init::template;

use masking::{scalar, scalars, secret_looking_text_values, secret_looking_values};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diag::{Pos, Problem, SourceDiagnostics};
use crate::error::Error;
use crate::pack::{LoadedPack, Severity, Text};

/// The profile file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// The deployment this profile checks (`payments-gateway`): every run, attestation,
    /// waiver, sign-off and baseline belongs to it and an environment. Lowercase letters,
    /// digits, `-`, `_` and `.`. Default: the profile's folder name (or its file's stem when
    /// not named `shipcheck.yaml`), which moves with the folder: name it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub deployment: Option<Text>,
    /// Labels of the deployment (`team: payments`, `region: eu-west-1`), recorded with each
    /// run; the dashboard filters by them.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub labels: BTreeMap<String, Text>,
    /// Packs to run: a built-in pack name (`secureclaw`) or a path to a pack file.
    #[schemars(with = "Vec<String>")]
    pub packs: Vec<Text>,
    /// Environment used when `--env` is not given.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub environment: Option<Text>,
    /// Variable values shared by every environment.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub vars: BTreeMap<String, Spanned<Value>>,
    /// Per-environment variable values, overriding `vars`.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Optional items to turn on, by item id, `pack:id`, or `tag:NAME`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub enable: Vec<Text>,
    /// Accepted exceptions, each with a reason, an owner and an expiry.
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    /// Run no program: every item that would run one (a `command` check) is
    /// not_applicable, with the reason. `check --no-exec` does the same for one run.
    #[serde(default)]
    pub no_exec: bool,
    #[serde(default)]
    pub gate: GateSettings,
    /// The packs' endpoints as this deployment has them: any part of a pack's endpoint
    /// (`url`, `address`, `ca_file`, `host_header`, `user_agent`), by endpoint name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::endpoint::EndpointOverride>")]
    pub endpoints: BTreeMap<String, Spanned<crate::endpoint::EndpointOverride>>,
    /// When each phase falls due after a deploy (`shipcheck deployed`): offsets by phase,
    /// and the interval of periodic items.
    #[serde(default)]
    pub schedule: crate::schedule::Schedule,
    /// What drift a scheduled run reports against the deploy's baseline.
    #[serde(default)]
    pub alerts: crate::schedule::Alerts,
}

/// One environment's values.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub vars: BTreeMap<String, Spanned<Value>>,
    /// Endpoints as this environment has them; each replaces the profile's top-level one
    /// of the same name, field by field.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::endpoint::EndpointOverride>")]
    pub endpoints: BTreeMap<String, Spanned<crate::endpoint::EndpointOverride>>,
}

/// An accepted exception for one item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Item id, or `pack:id` when several packs have the id.
    #[schemars(with = "String")]
    pub item: Text,
    pub reason: String,
    pub owner: String,
    /// Last day (`2026-12-31`, inclusive, UTC) or an RFC 3339 instant.
    #[schemars(with = "String")]
    pub expires: Text,
    /// Environments the waiver applies to (default: all).
    #[serde(default)]
    pub environments: Vec<String>,
}

/// Gate settings a profile may fix (command-line flags override them).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// Lowest severity whose failures block (default `low`).
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// Whether unattested manual items may pass the gate (default `false`).
    #[serde(default)]
    pub allow_pending: Option<bool>,
    /// Roles that must sign off a run before `shipcheck gate` says go.
    #[serde(default)]
    pub require_signoff: Vec<crate::pack::Role>,
    /// An OpenSSH allowed_signers file (relative to the profile): who may sign for each
    /// role, as principals `ROLE:NAME`. When set, a sign-off counts only with an SSH
    /// signature by a key allowed for its role, and unsigned sign-offs are refused.
    #[serde(default)]
    pub allowed_signers: Option<String>,
}

/// A loaded profile.
#[derive(Debug)]
pub struct Profile {
    pub path: PathBuf,
    /// Folder relative paths in the profile and its packs' variables start from.
    pub dir: PathBuf,
    /// `sha256:` of the file's bytes, recorded in runs.
    pub digest: String,
    pub file: ProfileFile,
    pub source: Arc<String>,
}

/// Variables resolved for one environment, and which of them are secret.
#[derive(Debug, Clone, Default)]
pub struct ResolvedVars {
    pub values: BTreeMap<String, String>,
    pub secret_values: Vec<String>,
    /// The packs' endpoints, resolved, or why one could not be (its items then error).
    pub endpoints: BTreeMap<String, Result<crate::endpoint::Resolved, String>>,
}

impl Profile {
    /// Reads and parses a profile file.
    pub fn load(path: &Path) -> Result<Profile, Error> {
        Self::from_text(path, Error::read_text(path)?)
    }

    /// Parses a profile's text, as if read from `path`.
    pub fn from_text(path: &Path, text: String) -> Result<Profile, Error> {
        let digest = format!("sha256:{}", crate::hex::sha256(text.as_bytes()));
        let source = Arc::new(text);
        let file: ProfileFile = crate::pack::load::parse_yaml(&source)
            .map_err(|p| Self::invalid(path, &source, vec![p], Vec::new()))?;
        let mut problems = Vec::new();
        if file.packs.is_empty() {
            problems.push(Problem::new(
                "`packs` is empty; name at least one pack",
                None,
            ));
        }
        for w in &file.waivers {
            if let Err(e) = expiry(&w.expires.value) {
                problems.push(Problem::new(e, Pos::from_location(&w.expires.referenced)));
            }
            if w.reason.trim().is_empty() || w.owner.trim().is_empty() {
                problems.push(Problem::new(
                    format!(
                        "waiver for `{}` needs a non-empty reason and owner",
                        w.item.value
                    ),
                    Pos::from_location(&w.item.referenced),
                ));
            }
        }
        if let Some(d) = &file.deployment
            && let Err(e) = crate::deployment::DeploymentId::parse(&d.value)
        {
            problems.push(Problem::new(e, Pos::from_location(&d.referenced)));
        }
        for (key, value) in &file.labels {
            let one = BTreeMap::from([(key.clone(), value.value.clone())]);
            if let Err((_, e)) = crate::deployment::check_labels(&one) {
                problems.push(Problem::new(e, Pos::from_location(&value.referenced)));
            }
        }
        if let Err(e) = file.schedule.check() {
            problems.push(Problem::new(e.message, Pos::from_location(&e.at)));
        }
        if let Some(env) = &file.environment
            && !file.environments.is_empty()
            && !file.environments.contains_key(&env.value)
        {
            let known = file.environments.keys().map(String::as_str);
            problems.push(
                Problem::new(
                    format!(
                        "default environment `{}` is not defined under `environments`",
                        env.value
                    ),
                    Pos::from_location(&env.referenced),
                )
                .with_help(match crate::diag::did_you_mean(&env.value, known) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!(
                        "defined environments: {}",
                        file.environments
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            );
        }
        if !problems.is_empty() {
            let masked = secret_looking_values(&file);
            return Err(Self::invalid(path, &source, problems, masked));
        }
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let dir = abs
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Profile {
            path: path.to_owned(),
            dir,
            digest,
            file,
            source,
        })
    }

    /// Problems found in this profile, located in its text.
    pub fn located(&self, problems: Vec<Problem>) -> Error {
        Self::invalid(&self.path, &self.source, problems, Vec::new())
    }

    fn invalid(
        path: &Path,
        source: &Arc<String>,
        problems: Vec<Problem>,
        mut masked: Vec<String>,
    ) -> Error {
        // Values under secret-looking keys, read from the text itself: a file that does not
        // parse still has its secrets masked in the snippets.
        masked.extend(secret_looking_text_values(source));
        let mut d =
            SourceDiagnostics::new(path.display().to_string(), Arc::clone(source), problems);
        d.masked = masked;
        Error::Invalid(Box::new(d))
    }

    /// The gate policy: command-line flags over the profile's `gate:`, over the defaults.
    pub fn policy(&self, fail_on: Option<Severity>, allow_pending: bool) -> crate::gate::Policy {
        crate::gate::Policy {
            fail_on: fail_on.or(self.file.gate.fail_on).unwrap_or(Severity::Low),
            allow_pending: allow_pending || self.file.gate.allow_pending.unwrap_or(false),
        }
    }

    /// The deployment this profile checks: its `deployment:`, else the name derived from
    /// its path (see [`DeploymentId::derived_from`](crate::deployment::DeploymentId)).
    pub fn deployment(&self) -> crate::deployment::DeploymentId {
        self.file
            .deployment
            .as_ref()
            .and_then(|d| crate::deployment::DeploymentId::parse(&d.value).ok())
            .unwrap_or_else(|| crate::deployment::DeploymentId::derived_from(Path::new(&self.id())))
    }

    /// The profile's labels, as recorded with a run.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.file
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    /// Absolute path of the profile file (recorded with each run; the deployment, not this
    /// path, identifies its runs).
    pub fn id(&self) -> String {
        std::fs::canonicalize(&self.path)
            .unwrap_or_else(|_| self.dir.join(self.path.file_name().unwrap_or_default()))
            .display()
            .to_string()
    }

    /// The environment to use: the one asked for, else the profile's default, else
    /// `production` if defined, else the only one, else `default`.
    pub fn environment(&self, asked: Option<&str>) -> Result<String, Error> {
        let known: Vec<&String> = self.file.environments.keys().collect();
        let name = match asked.or(self.file.environment.as_ref().map(|e| e.value.as_str())) {
            Some(n) => n.to_string(),
            None if self.file.environments.contains_key("production") => "production".into(),
            None if known.len() == 1 => known[0].clone(),
            None => "default".into(),
        };
        if !known.is_empty() && !self.file.environments.contains_key(&name) {
            return Err(Error::UnknownEnvironment {
                profile: self.path.clone(),
                env: name,
                known: known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(name)
    }

    /// Resolves every declared variable of `packs` for `env`: environment value, else
    /// shared value, else the pack's default. Missing required values, values outside
    /// `allowed`, and profile values no pack declares are located errors.
    pub fn resolve_vars(
        &self,
        packs: &[Arc<LoadedPack>],
        env: &str,
    ) -> Result<ResolvedVars, Error> {
        let env_vars = self.file.environments.get(env).map(|e| &e.vars);
        let mut out = ResolvedVars::default();
        let mut problems = Vec::new();
        let mut declared = BTreeSet::new();
        // Values an including pack gives its included packs' variables (templates).
        // Keyed by (included pack, variable): a binding never applies to a variable of the
        // same name that another pack (e.g. the including one) declares.
        let mut bindings: BTreeMap<(&str, &str), (&str, &str)> = BTreeMap::new();
        for lp in packs {
            for inc in &lp.pack.include {
                for (k, v) in &inc.vars {
                    bindings.insert(
                        (inc.pack.as_str(), k.as_str()),
                        (v.value.as_str(), lp.pack.name.as_str()),
                    );
                }
            }
        }
        let mut deferred: Vec<(&str, &str, &str, bool, crate::pack::vartype::VarType)> = Vec::new();
        for lp in packs {
            for var in &lp.pack.variables {
                let name = var.name.value.as_str();
                declared.insert(name.to_string());
                let given = env_vars
                    .and_then(|m| m.get(name))
                    .or_else(|| self.file.vars.get(name));
                let value = match given {
                    Some(v) => match scalar(&v.value) {
                        // A profile value may read the environment: `${env:NAME}`.
                        Some(s) if s.contains("${") => {
                            let no_vars = BTreeMap::new();
                            match (crate::template::Scope { vars: &no_vars }).expand(&s) {
                                Ok(x) => Some((x, Pos::from_location(&v.referenced))),
                                Err(e) => {
                                    problems.push(Problem::new(
                                        format!("variable `{name}`: {e}"),
                                        Pos::from_location(&v.referenced),
                                    ));
                                    continue;
                                }
                            }
                        }
                        Some(s) => Some((s, Pos::from_location(&v.referenced))),
                        None => {
                            problems.push(Problem::new(
                                format!("variable `{name}` must be a string, number or boolean"),
                                Pos::from_location(&v.referenced),
                            ));
                            continue;
                        }
                    },
                    None if bindings.contains_key(&(lp.pack.name.as_str(), name)) => {
                        let (template, by) = bindings[&(lp.pack.name.as_str(), name)];
                        deferred.push((name, template, by, var.secret, var.kind));
                        continue;
                    }
                    None => var.default.clone().map(|d| (d, None)),
                };
                if var.required
                    && let Some((v, at)) = &value
                    && v.trim().is_empty()
                {
                    problems.push(
                        Problem::new(
                            format!(
                                "pack `{}` requires variable `{name}`, and it is empty",
                                lp.pack.name
                            ),
                            *at,
                        )
                        .with_help(format!("give `{name}` a value ({})", var.doc)),
                    );
                    continue;
                }
                match value {
                    None if var.required => problems.push(
                        Problem::new(
                            format!("pack `{}` requires variable `{name}` and environment `{env}` gives it no value", lp.pack.name),
                            None,
                        )
                        .with_help(format!("add `{name}: ...` under `vars:` or `environments.{env}.vars:` ({})", var.doc)),
                    ),
                    None => {}
                    Some((v, at)) => {
                        if !var.allowed.is_empty() && !var.allowed.contains(&v) {
                            let shown = if var.secret { crate::redact::mask_value(&Value::String(v.clone())) } else { format!("`{v}`") };
                            problems.push(Problem::new(
                                format!("variable `{name}` is {shown}; expected one of: {}", var.allowed.join(", ")),
                                at,
                            ));
                        }
                        if let Err(e) = var.kind.check(&v) {
                            let shown = if var.secret { crate::redact::mask_value(&Value::String(v.clone())) } else { format!("`{v}`") };
                            problems.push(
                                Problem::new(format!("variable `{name}` is {shown}, which {e}"), at)
                                    .with_help(format!("`{name}`: {}", var.doc)),
                            );
                        }
                        if var.secret {
                            out.secret_values.push(v.clone());
                        }
                        out.values.insert(name.to_string(), v);
                    }
                }
            }
        }
        problems.extend(self.unknown_item_refs(packs));
        for (name, template, by, secret, kind) in deferred {
            match (crate::template::Scope { vars: &out.values }).expand(template) {
                Ok(v) => {
                    if let Err(e) = kind.check(&v) {
                        let shown = if secret {
                            crate::redact::mask_value(&Value::String(v.clone()))
                        } else {
                            format!("`{v}`")
                        };
                        problems.push(Problem::new(
                            format!("pack `{by}` sets variable `{name}` to {shown} (from `{template}`), which {e}"),
                            None,
                        ));
                    }
                    if secret {
                        out.secret_values.push(v.clone());
                    }
                    out.values.insert(name.to_string(), v);
                }
                Err(e) => problems.push(Problem::new(
                    format!("pack `{by}` sets variable `{name}` to `{template}`, but {e}"),
                    None,
                )),
            }
        }
        // Endpoints, once the variables they are built from are known; they add their own
        // (`NAME.url`, `NAME.host`, ...).
        for lp in packs {
            for (name, endpoint) in &lp.pack.endpoints {
                if out.endpoints.contains_key(name) {
                    continue;
                }
                let over = crate::endpoint::EndpointOverride::merged(
                    self.file.endpoints.get(name).map(|o| &o.value),
                    self.file
                        .environments
                        .get(env)
                        .and_then(|e| e.endpoints.get(name))
                        .map(|o| &o.value),
                );
                let resolved = crate::endpoint::Resolved::new(
                    name,
                    endpoint,
                    over.as_ref(),
                    &crate::template::Scope { vars: &out.values },
                )
                .map_err(|e| format!("endpoint `{name}`: {e}"));
                match &resolved {
                    Ok(r) => out.values.extend(r.variables()),
                    Err(_) => {
                        for v in crate::endpoint::variable_names(name) {
                            out.values.entry(v).or_default();
                        }
                    }
                }
                out.endpoints.insert(name.clone(), resolved);
            }
        }
        let given = self.file.endpoints.iter().chain(
            self.file
                .environments
                .values()
                .flat_map(|e| e.endpoints.iter()),
        );
        for (name, at) in given {
            if !out.endpoints.contains_key(name) {
                let known: Vec<&str> = out.endpoints.keys().map(String::as_str).collect();
                problems.push(
                    Problem::new(
                        format!("endpoint `{name}` is not declared by any pack of this profile"),
                        Pos::from_location(&at.referenced),
                    )
                    .with_help(
                        match crate::diag::did_you_mean(name, known.iter().copied()) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None if known.is_empty() => {
                                "no pack of this profile declares endpoints".into()
                            }
                            None => format!("declared endpoints: {}", known.join(", ")),
                        },
                    ),
                );
            }
        }
        let all_given = self
            .file
            .vars
            .iter()
            .chain(self.file.environments.values().flat_map(|e| e.vars.iter()));
        for (name, v) in all_given {
            if !declared.contains(name) {
                problems.push(
                    Problem::new(
                        format!("variable `{name}` is not declared by any pack of this profile"),
                        Pos::from_location(&v.referenced),
                    )
                    .with_help(
                        match crate::diag::did_you_mean(name, declared.iter().map(String::as_str)) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None => format!(
                                "declared variables: {}",
                                declared.iter().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        },
                    ),
                );
            }
        }
        // Packs may declare the same variable (CLASP and the web-service pack it includes
        // both read `http_port`): a value that cannot be read is said once.
        let mut said = std::collections::HashSet::new();
        problems.retain(|p| said.insert((p.message.clone(), p.pos)));
        if problems.is_empty() {
            return Ok(out);
        }
        // Mask every value given for a secret variable (in any environment), and values
        // under secret-looking names, in the snippets.
        let mut masked = secret_looking_values(&self.file);
        let secret_names: BTreeSet<&str> = packs
            .iter()
            .flat_map(|lp| lp.pack.variables.iter())
            .filter(|v| v.secret)
            .map(|v| v.name.value.as_str())
            .collect();
        let all_given = self
            .file
            .vars
            .iter()
            .chain(self.file.environments.values().flat_map(|e| e.vars.iter()));
        masked.extend(
            all_given
                .filter(|(k, _)| secret_names.contains(k.as_str()))
                .flat_map(|(_, v)| scalars(&v.value)),
        );
        Err(Self::invalid(&self.path, &self.source, problems, masked))
    }
}

/// The instant a waiver stops applying: the end of a `YYYY-MM-DD` day (UTC), or an
/// RFC 3339 instant.
pub fn expiry(text: &str) -> Result<jiff::Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let date: jiff::civil::Date = t
        .parse()
        .map_err(|_| format!("`{t}` is not a date (YYYY-MM-DD) or an RFC 3339 instant"))?;
    date.tomorrow()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
        .map(|z| z.timestamp())
        .map_err(|e| format!("`{t}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_end_of_day_utc() {
        let ts = expiry("2026-12-31").unwrap();
        assert_eq!(ts.to_string(), "2027-01-01T00:00:00Z");
        assert!(expiry("2026-02-30").is_err());
        assert!(expiry("soon").is_err());
        assert_eq!(
            expiry("2026-06-01T12:00:00Z").unwrap().to_string(),
            "2026-06-01T12:00:00Z"
        );
    }
}
