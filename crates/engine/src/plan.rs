//! The plan stage: which items of a profile's packs run in an environment (and phase), and
//! why each other item does not. Pure: reads packs and the profile, observes nothing.
//! `shipcheck plan` prints it; `check` executes its `run` items and finalizes the rest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::json;
use shipcheck_core::Error;
use shipcheck_core::id::{ItemRef, QualifiedId};
use shipcheck_core::include::load_packs;
use shipcheck_core::outcome::{ItemKind, ItemResult, Status};
use shipcheck_core::pack::{Item, LoadedPack, Phase, Section};
use shipcheck_core::profile::Profile;

/// Variables of the profile's other environments, by environment name.
pub type OtherEnvs = Vec<(String, Arc<BTreeMap<String, String>>)>;

/// Where an item lives: indexes into packs, sections, items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub pack: usize,
    pub section: usize,
    pub item: usize,
}

/// What the plan decided for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// An automated check to execute.
    Run,
    /// A manual item: pending until an attestation is applied.
    Attest(String),
    /// Does not apply, and why.
    NotApplicable(String),
    /// Applicability could not be decided (a `when` that fails to evaluate).
    Error(String),
}

impl Decision {
    /// The status an item has before it is executed.
    pub fn status(&self) -> Option<Status> {
        match self {
            Decision::Run => None,
            Decision::Attest(_) => Some(Status::Pending),
            Decision::NotApplicable(_) => Some(Status::NotApplicable),
            Decision::Error(_) => Some(Status::Error),
        }
    }

    /// The decision's name: `run`, `attest`, `not_applicable` or `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Run => "run",
            Decision::Attest(_) => "attest",
            Decision::NotApplicable(_) => "not_applicable",
            Decision::Error(_) => "error",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Run => "",
            Decision::Attest(r) | Decision::NotApplicable(r) | Decision::Error(r) => r,
        }
    }
}

/// One item of the plan.
#[derive(Clone, Debug)]
pub struct Planned {
    pub at: At,
    pub decision: Decision,
}

/// The resolved run: packs, environment, variables and one decision per item, in pack order.
pub struct Plan {
    pub packs: Vec<Arc<LoadedPack>>,
    pub environment: String,
    pub vars: Arc<BTreeMap<String, String>>,
    /// Values of secret variables, scrubbed from every output.
    pub secret_values: Vec<String>,
    /// Other environments' variables, for `distinct_across_environments`.
    pub others: Arc<OtherEnvs>,
    /// When set, only the items due by this phase are in the plan (its own and the earlier
    /// phases').
    pub phase: Option<Phase>,
    pub items: Vec<Planned>,
    /// The packs' endpoints, resolved, or why one could not be.
    pub endpoints: BTreeMap<String, Result<shipcheck_core::endpoint::Resolved, String>>,
}

/// One item of a plan, as `shipcheck plan --format json` prints it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    pub item: String,
    pub title: String,
    pub severity: shipcheck_core::pack::Severity,
    pub phase: Phase,
    /// `run`, `attest`, `not_applicable` or `error`.
    pub decision: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub reason: String,
}

impl Plan {
    /// The plan's items, in order, for printing.
    pub fn entries(&self) -> Vec<Entry> {
        self.items
            .iter()
            .map(|p| {
                let item = self.item(p.at);
                Entry {
                    item: self.qualified(p.at).to_string(),
                    title: item.title.clone(),
                    severity: item.severity,
                    phase: item.phase,
                    decision: p.decision.name(),
                    reason: p.decision.reason().to_string(),
                }
            })
            .collect()
    }

    pub fn pack(&self, at: At) -> &LoadedPack {
        &self.packs[at.pack]
    }

    pub fn section(&self, at: At) -> &Section {
        &self.packs[at.pack].pack.sections[at.section]
    }

    pub fn item(&self, at: At) -> &Item {
        &self.section(at).items[at.item]
    }

    /// The item's `pack:id`.
    pub fn qualified(&self, at: At) -> QualifiedId {
        QualifiedId::new(
            self.pack(at).pack.name.as_str(),
            self.item(at).id.value.as_str(),
        )
    }

    /// The result an item has before execution (status from its decision).
    pub fn blank(&self, at: At, status: Status, summary: String) -> ItemResult {
        blank(
            &self.pack(at).pack.name,
            self.section(at),
            self.item(at),
            status,
            summary,
        )
    }

    /// The plan as text: one line per item with its decision, then the counts.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "environment {}{}\n",
            self.environment,
            self.phase
                .map(|p| format!(", phase {}", p.as_str()))
                .unwrap_or_default()
        );
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in self.entries() {
            *counts.entry(e.decision).or_default() += 1;
            let _ = writeln!(
                out,
                "  {:<14} {:<48} {:<8} {:<22} {}",
                e.decision,
                e.item,
                e.severity.as_str(),
                e.phase.as_str(),
                e.reason
            );
        }
        let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(out, "{} items: {}", self.items.len(), summary.join(", "));
        out
    }
}

/// Plans a run of `profile` in `environment` (default: the profile's), limited to the
/// items due by `phase`.
pub fn plan(
    profile: &Profile,
    environment: Option<&str>,
    phase: Option<Phase>,
    no_exec: bool,
) -> Result<Plan, Error> {
    let packs = load_packs(profile)?;
    let environment = profile.environment(environment)?;
    let resolved = profile.resolve_vars(&packs, &environment)?;
    let vars = Arc::new(resolved.values.clone());
    let others = other_environments(profile, &packs, &environment);
    let when_input =
        shipcheck_core::jq::Input::new(&json!({"vars": &*vars, "environment": environment}));

    // (included pack, item id) → the pack that leaves the item out.
    let excluded: Excluded<'_> = packs
        .iter()
        .flat_map(|lp| {
            lp.pack.include.iter().flat_map(move |inc| {
                inc.exclude
                    .iter()
                    .map(move |id| ((inc.pack.as_str(), id.as_str()), lp.pack.name.as_str()))
            })
        })
        .collect();
    // Included packs whose `when` is false → (the including pack, the condition).
    let mut switched_off: SwitchedOff<'_> = HashMap::new();
    for lp in &packs {
        for inc in &lp.pack.include {
            let Some(when) = &inc.when else { continue };
            let on = when_is(&when.value, &when_input).map_err(|e| Error::IncludeWhen {
                pack: lp.pack.name.clone(),
                included: inc.pack.clone(),
                when: when.value.clone(),
                message: e,
            })?;
            if !on {
                switched_off.insert(
                    inc.pack.as_str(),
                    (lp.pack.name.as_str(), when.value.as_str()),
                );
            }
        }
    }
    let mut items: Vec<Planned> = Vec::new();
    for (p, lp) in packs.iter().enumerate() {
        for (s, section) in lp.pack.sections.iter().enumerate() {
            for (i, item) in section.items.iter().enumerate() {
                if phase.is_some_and(|ph| item.phase > ph) {
                    continue;
                }
                let at = At {
                    pack: p,
                    section: s,
                    item: i,
                };
                let mut decision = decide(profile, lp, item, &switched_off, &excluded, &when_input);
                if decision == Decision::Run && (no_exec || profile.file.no_exec) {
                    decision = no_exec_decision(item).unwrap_or(Decision::Run);
                }
                items.push(Planned { at, decision });
            }
        }
    }
    Ok(Plan {
        packs,
        environment,
        vars,
        secret_values: resolved.secret_values,
        others,
        phase,
        items,
        endpoints: resolved.endpoints,
    })
}

/// Included packs switched off by a false `when`: pack → (including pack, condition).
type SwitchedOff<'a> = HashMap<&'a str, (&'a str, &'a str)>;
/// (included pack, item id) → the including pack that leaves the item out.
type Excluded<'a> = HashMap<(&'a str, &'a str), &'a str>;

/// The input of every `when` condition (`{"vars": …, "environment": …}`), converted for jq
/// once per plan.
type WhenInput = Result<shipcheck_core::jq::Input, String>;

/// Whether a `when` condition holds: any of its outputs is true.
fn when_is(code: &str, input: &WhenInput) -> Result<bool, String> {
    match input {
        Ok(input) => shipcheck_core::jq::any_of(code, input),
        Err(e) => Err(e.clone()),
    }
}

/// The decision for one item, in order: its pack switched off, excluded by the including
/// pack, optional and not enabled, `when` false (or failing), manual, else run.
fn decide(
    profile: &Profile,
    lp: &LoadedPack,
    item: &Item,
    switched_off: &SwitchedOff<'_>,
    excluded: &Excluded<'_>,
    when_input: &WhenInput,
) -> Decision {
    if let Some((by, when)) = switched_off.get(lp.pack.name.as_str()) {
        return Decision::NotApplicable(format!(
            "pack `{by}` includes `{}` only when `{when}`",
            lp.pack.name
        ));
    }
    if let Some(by) = excluded.get(&(lp.pack.name.as_str(), item.id.value.as_str())) {
        return Decision::NotApplicable(format!(
            "left out by pack `{by}`, which includes `{}`",
            lp.pack.name
        ));
    }
    if item.review {
        return Decision::NotApplicable(
            "a check proposed by `pack import`, not yet reviewed: check it, then remove `review: true`".into(),
        );
    }
    if item.optional && !enabled(profile, &lp.pack.name, item) {
        return Decision::NotApplicable(
            "optional item; not enabled in the profile (`enable:`)".into(),
        );
    }
    if let Some(when) = &item.when {
        match when_is(&when.value, when_input) {
            Ok(false) => {
                return Decision::NotApplicable(format!(
                    "does not apply: `{}` is false",
                    when.value
                ));
            }
            Ok(true) => {}
            Err(e) => return Decision::Error(format!("cannot evaluate `when`: {e}")),
        }
    }
    if let Some(attest) = &item.attest {
        return Decision::Attest(pending_reason(&attest.roles));
    }
    Decision::Run
}

/// The decision for an item that would run a program when programs are off.
fn no_exec_decision(item: &Item) -> Option<Decision> {
    let probe = item.check.as_ref()?.probe().ok()?;
    probe.runs_program().then(|| {
        Decision::NotApplicable(
            "runs a program, and programs are off (--no-exec, or `no_exec: true` in the profile)"
                .into(),
        )
    })
}

/// Why a manual item without a valid attestation is pending.
pub fn pending_reason(roles: &[shipcheck_core::pack::Role]) -> String {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    format!(
        "manual item: no attestation recorded (may attest: {})",
        roles.join(", ")
    )
}

/// Whether the profile enables an optional item (`enable:` by id, `pack:id` or `tag:T`).
fn enabled(profile: &Profile, pack: &str, item: &Item) -> bool {
    profile.file.enable.iter().any(|e| {
        ItemRef::parse(&e.value).matches(pack, &item.id.value)
            || e.value
                .strip_prefix("tag:")
                .is_some_and(|t| item.tags.iter().any(|x| x == t))
    })
}

/// Variables of every other environment, for `distinct_across_environments`.
fn other_environments(
    profile: &Profile,
    packs: &[Arc<LoadedPack>],
    current: &str,
) -> Arc<OtherEnvs> {
    let list = profile
        .file
        .environments
        .keys()
        .filter(|e| *e != current)
        .filter_map(|e| {
            profile
                .resolve_vars(packs, e)
                .ok()
                .map(|r| (e.clone(), Arc::new(r.values)))
        })
        .collect();
    Arc::new(list)
}

fn blank(
    pack: &str,
    section: &Section,
    item: &Item,
    status: Status,
    summary: String,
) -> ItemResult {
    ItemResult {
        pack: pack.to_string(),
        id: item.id.value.clone(),
        title: item.title.clone(),
        section: section.id.value.clone(),
        section_title: section.title.clone(),
        severity: item.severity,
        phase: item.phase,
        kind: if item.attest.is_some() {
            ItemKind::Manual
        } else {
            ItemKind::Automated
        },
        status,
        summary,
        tags: item.tags.clone(),
        why: item.why.clone(),
        fix: item.fix.clone(),
        source: item.source.clone(),
        evidence: None,
        waiver: None,
        waiver_expired: None,
        not_due: None,
        attest: item
            .attest
            .as_ref()
            .map(shipcheck_core::outcome::AttestRule::from),
        blocking: false,
        duration_ms: 0,
    }
}
