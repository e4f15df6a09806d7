//! The engine evaluates a profile's applicable items concurrently and returns a [`Run`].
//!
//! Path of a run: load packs → pick the environment and resolve variables → decide each
//! item's applicability (`optional`, `when`) → run checks on a bounded pool, each with a
//! timeout → judge observations with matchers → cross-item secret reuse → waivers →
//! redaction → gate and score.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::Error;
use crate::gate::{self, Policy};
use crate::outcome::{
    Counts, Evidence, ItemKind, ItemResult, PackRef, RUN_SCHEMA, Run, Status, UnusedWaiver,
    WaiverNote,
};
use crate::pack::{Item, LoadedPack, OnFail, Section, builtin};
use crate::probe::{Cache, Finding, ProbeCtx};
use crate::profile::Profile;
use crate::redact::Redactor;

/// Variables of the profile's other environments, by environment name.
type OtherEnvs = Vec<(String, Arc<BTreeMap<String, String>>)>;

/// Default time allowed for one check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Progress callback: (items finished, items to run).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How to run.
#[derive(Clone)]
pub struct Options {
    /// Environment to check (default: the profile's).
    pub environment: Option<String>,
    pub policy: Policy,
    /// Checks running at once.
    pub concurrency: usize,
    pub progress: Option<Progress>,
    /// Attestations recorded in the ledger.
    pub attestations: Vec<crate::ledger::Attestation>,
    /// Waivers recorded in the ledger (in addition to the profile's).
    pub waivers: Vec<WaiverSpec>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            attestations: Vec::new(),
            waivers: Vec::new(),
            environment: None,
            policy: Policy::default(),
            concurrency: 8,
            progress: None,
        }
    }
}

/// Loads the packs a profile names: built-in names first, then paths relative to the
/// profile's folder.
pub fn load_packs(profile: &Profile) -> Result<Vec<Arc<LoadedPack>>, Error> {
    let mut out: Vec<Arc<LoadedPack>> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    for name in &profile.file.packs {
        let lp = load_one(&name.value, &profile.dir, None)?;
        if listed.contains(&lp.pack.name) {
            return Err(Error::Usage(format!(
                "profile {} names pack `{}` twice",
                profile.path.display(),
                lp.pack.name
            )));
        }
        listed.push(lp.pack.name.clone());
        add_with_includes(lp, &profile.dir, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

/// Loads a built-in pack by name, or a pack file relative to `dir` (`included_by` names
/// the including pack in the error).
pub fn load_one(
    name: &str,
    dir: &std::path::Path,
    included_by: Option<&str>,
) -> Result<LoadedPack, Error> {
    if let Some(lp) = builtin::load(name) {
        return lp;
    }
    let path = dir.join(name);
    if path.is_file() {
        return crate::pack::load_pack_file(&path);
    }
    let known = builtin::names().join(", ");
    Err(match included_by {
        Some(by) => Error::Usage(format!(
            "pack `{by}` includes `{name}`, which is neither a built-in pack ({known}) nor a file next to it"
        )),
        None => Error::UnknownPack {
            name: name.into(),
            known,
        },
    })
}

/// Adds `lp` and, after it, the packs it includes (once each; a cycle is an error).
fn add_with_includes(
    lp: LoadedPack,
    dir: &std::path::Path,
    out: &mut Vec<Arc<LoadedPack>>,
    stack: &mut Vec<String>,
) -> Result<(), Error> {
    let name = lp.pack.name.clone();
    if stack.contains(&name) {
        stack.push(name);
        return Err(Error::Usage(format!(
            "packs include each other in a cycle: {}",
            stack.join(" → ")
        )));
    }
    if out.iter().any(|p| p.pack.name == name) {
        return Ok(());
    }
    let includes: Vec<(String, Vec<String>)> = lp
        .pack
        .include
        .iter()
        .map(|i| (i.pack.clone(), i.exclude.clone()))
        .collect();
    let own_dir = if lp.origin == "builtin" {
        dir.to_owned()
    } else {
        std::path::Path::new(&lp.origin)
            .parent()
            .map_or_else(|| dir.to_owned(), |p| p.to_owned())
    };
    out.push(Arc::new(lp));
    stack.push(name.clone());
    for (inc, exclude) in includes {
        let child = load_one(&inc, &own_dir, Some(&name))?;
        let has = |id: &str| {
            child
                .pack
                .sections
                .iter()
                .flat_map(|s| &s.items)
                .any(|i| i.id.value == id)
        };
        if let Some(missing) = exclude.iter().find(|id| !has(id)) {
            return Err(Error::Usage(format!(
                "pack `{name}` excludes `{missing}` from `{inc}`, which has no such item"
            )));
        }
        add_with_includes(child, &own_dir, out, stack)?;
    }
    stack.pop();
    Ok(())
}

/// Where an item lives: indexes into packs, sections, items.
#[derive(Clone, Copy)]
struct At {
    pack: usize,
    section: usize,
    item: usize,
}

/// What evaluating one check produced, before waivers and redaction.
struct Evaluated {
    status: Status,
    summary: String,
    evidence: Option<Evidence>,
    /// Secret values seen, for redaction and reuse checks.
    secrets: Vec<String>,
    /// (secret name, value) when the item has a `secret` matcher.
    named_secret: Option<(String, String)>,
    duration: Duration,
}

/// Runs a profile.
pub fn run(profile: &Profile, opts: &Options) -> Result<Run, Error> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let packs = load_packs(profile)?;
    let environment = profile.environment(opts.environment.as_deref())?;
    let resolved = profile.resolve_vars(&packs, &environment)?;
    let vars = Arc::new(resolved.values.clone());
    let others = other_environments(profile, &packs, &environment);
    let cache = Arc::new(Cache::default());
    let when_input = json!({"vars": &*vars, "environment": environment});

    // (included pack, item id) → the pack that leaves the item out.
    let excluded: HashMap<(&str, &str), &str> = packs
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
    let mut switched_off: HashMap<&str, (&str, &str)> = HashMap::new();
    for lp in &packs {
        for inc in &lp.pack.include {
            let Some(when) = &inc.when else { continue };
            let on = crate::jq::first(&when.value, &when_input).map_err(|e| {
                Error::Usage(format!(
                    "pack `{}` includes `{}` when `{}`: {e}",
                    lp.pack.name, inc.pack, when.value
                ))
            })?;
            if !crate::jq::truthy(&on) {
                switched_off.insert(
                    inc.pack.as_str(),
                    (lp.pack.name.as_str(), when.value.as_str()),
                );
            }
        }
    }
    let mut slots: Vec<Option<ItemResult>> = Vec::new();
    let mut todo: Vec<(usize, At)> = Vec::new();
    for (p, lp) in packs.iter().enumerate() {
        for (s, section) in lp.pack.sections.iter().enumerate() {
            for (i, item) in section.items.iter().enumerate() {
                let at = At {
                    pack: p,
                    section: s,
                    item: i,
                };
                let idx = slots.len();
                slots.push(None);
                let base =
                    |status, summary: String| blank(&lp.pack.name, section, item, status, summary);
                if let Some((by, when)) = switched_off.get(lp.pack.name.as_str()) {
                    slots[idx] = Some(base(
                        Status::NotApplicable,
                        format!("pack `{by}` includes `{}` only when `{when}`", lp.pack.name),
                    ));
                    continue;
                }
                if let Some(by) = excluded.get(&(lp.pack.name.as_str(), item.id.value.as_str())) {
                    slots[idx] = Some(base(
                        Status::NotApplicable,
                        format!("left out by pack `{by}`, which includes `{}`", lp.pack.name),
                    ));
                    continue;
                }
                if item.optional && !enabled(profile, &lp.pack.name, item) {
                    slots[idx] = Some(base(
                        Status::NotApplicable,
                        "optional item; not enabled in the profile (`enable:`)".into(),
                    ));
                    continue;
                }
                if let Some(when) = &item.when {
                    match crate::jq::first(&when.value, &when_input) {
                        Ok(v) if !crate::jq::truthy(&v) => {
                            slots[idx] = Some(base(
                                Status::NotApplicable,
                                format!("does not apply: `{}` is false", when.value),
                            ));
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            slots[idx] =
                                Some(base(Status::Error, format!("cannot evaluate `when`: {e}")));
                            continue;
                        }
                    }
                }
                if let Some(attest) = &item.attest {
                    let roles: Vec<&str> = attest.roles.iter().map(|r| role_name(*r)).collect();
                    slots[idx] = Some(base(
                        Status::Pending,
                        format!(
                            "manual item: no attestation recorded (may attest: {})",
                            roles.join(", ")
                        ),
                    ));
                    continue;
                }
                todo.push((idx, at));
            }
        }
    }

    let evaluated = execute(&packs, &todo, &vars, &others, profile, &cache, opts)?;
    let mut redactor = Redactor::default();
    resolved.secret_values.iter().for_each(|s| redactor.add(s));
    let mut named: HashMap<String, (String, String)> = HashMap::new();
    for (idx, at) in &todo {
        let ev = &evaluated[idx];
        ev.secrets.iter().for_each(|s| redactor.add(s));
        if let Some((name, value)) = &ev.named_secret {
            let lp = &packs[at.pack];
            let item = &lp.pack.sections[at.section].items[at.item];
            named.insert(
                name.clone(),
                (format!("{}:{}", lp.pack.name, item.id.value), value.clone()),
            );
        }
    }
    let mut evaluated = evaluated;
    for (idx, at) in &todo {
        let lp = &packs[at.pack];
        let section = &lp.pack.sections[at.section];
        let item = &section.items[at.item];
        let mut ev = evaluated.remove(idx).unwrap_or_else(|| Evaluated {
            status: Status::Error,
            summary: "internal: no result".into(),
            evidence: None,
            secrets: vec![],
            named_secret: None,
            duration: Duration::ZERO,
        });
        check_reuse(item, &lp.pack.name, &named, &mut ev);
        let mut r = blank(&lp.pack.name, section, item, ev.status, ev.summary);
        r.evidence = ev.evidence;
        r.duration_ms = ev.duration.as_millis() as u64;
        slots[*idx] = Some(r);
    }
    let mut results: Vec<ItemResult> = slots.into_iter().flatten().collect();
    apply_attestations(
        &mut results,
        &packs,
        &opts.attestations,
        &environment,
        started_at,
    );
    let mut waivers = profile_waivers(profile);
    waivers.extend(opts.waivers.iter().cloned());
    let unused_waivers = apply_waivers(&waivers, &environment, &mut results, started_at);
    for r in &mut results {
        redact(&redactor, r);
    }
    let verdict = gate::decide(&mut results, opts.policy);
    let score = gate::score(&results);
    Ok(Run {
        schema: RUN_SCHEMA.into(),
        shipcheck_version: env!("CARGO_PKG_VERSION").into(),
        started_at: started_at.to_string(),
        duration_ms: started.elapsed().as_millis() as u64,
        profile: profile.path.display().to_string(),
        profile_id: profile.id(),
        profile_digest: profile.digest.clone(),
        environment,
        packs: packs
            .iter()
            .map(|lp| PackRef {
                name: lp.pack.name.clone(),
                version: lp.pack.version.clone(),
                title: lp.pack.title.clone(),
                origin: lp.origin.clone(),
            })
            .collect(),
        counts: Counts::of(&results),
        results,
        unused_waivers,
        score,
        gate: verdict,
    })
}

/// The role's name as written in packs.
pub fn role_name(r: crate::pack::Role) -> &'static str {
    match r {
        crate::pack::Role::Security => "security",
        crate::pack::Role::Operations => "operations",
        crate::pack::Role::Compliance => "compliance",
        crate::pack::Role::Development => "development",
        crate::pack::Role::Management => "management",
    }
}

fn enabled(profile: &Profile, pack: &str, item: &Item) -> bool {
    profile.file.enable.iter().any(|e| {
        e == &item.id.value
            || *e == format!("{pack}:{}", item.id.value)
            || e.strip_prefix("tag:")
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
        blocking: false,
        duration_ms: 0,
    }
}

fn execute(
    packs: &[Arc<LoadedPack>],
    todo: &[(usize, At)],
    vars: &Arc<BTreeMap<String, String>>,
    others: &Arc<OtherEnvs>,
    profile: &Profile,
    cache: &Arc<Cache>,
    opts: &Options,
) -> Result<HashMap<usize, Evaluated>, Error> {
    let concurrency = opts.concurrency.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Our jobs are bounded by the semaphore below; the rest of the pool serves the
        // blocking work they start themselves (DNS lookups of the HTTP client).
        .max_blocking_threads(concurrency + 16)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let total = todo.len();
    let packs: Arc<Vec<Arc<LoadedPack>>> = Arc::new(packs.to_vec());
    let base_dir = profile.dir.clone();
    runtime.block_on(async {
        if let Some(progress) = &opts.progress {
            progress(0, total);
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        let mut out = HashMap::new();
        // Request bursts (rate-limit checks) run after every other check, so a limiter they
        // trip cannot turn another check's request into a 429.
        type Wave = Vec<(usize, At)>;
        let (bursts, rest): (Wave, Wave) = todo.iter().partition(|(_, at)| {
            packs[at.pack].pack.sections[at.section].items[at.item]
                .check
                .as_ref()
                .is_some_and(crate::pack::Check::is_burst)
        });
        for wave in [rest, bursts] {
            for (idx, at) in wave {
                let (packs, vars, others, cache, permits) = (
                    Arc::clone(&packs),
                    Arc::clone(vars),
                    Arc::clone(others),
                    Arc::clone(cache),
                    Arc::clone(&permits),
                );
                let base_dir = base_dir.clone();
                set.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let started = Instant::now();
                    let item_timeout = {
                        let item = &packs[at.pack].pack.sections[at.section].items[at.item];
                        item.check
                            .as_ref()
                            .and_then(|c| c.timeout)
                            .map_or(DEFAULT_TIMEOUT, |s| s.0)
                    };
                    let job = tokio::task::spawn_blocking(move || {
                        let lp = &packs[at.pack];
                        let item = &lp.pack.sections[at.section].items[at.item];
                        let ctx = ProbeCtx {
                            vars,
                            base_dir: base_dir.clone(),
                            cache: Arc::clone(&cache),
                        };
                        evaluate(item, &ctx, &others, &base_dir, &cache)
                    });
                    let mut ev = match tokio::time::timeout(item_timeout, job).await {
                        Ok(Ok(ev)) => ev,
                        Ok(Err(join)) => failed(format!("the check crashed: {join}")),
                        Err(_) => failed(format!(
                            "did not finish within {}",
                            crate::duration::Span(item_timeout)
                        )),
                    };
                    ev.duration = started.elapsed();
                    (idx, ev)
                });
            }
            while let Some(joined) = set.join_next().await {
                if let Ok((idx, ev)) = joined {
                    out.insert(idx, ev);
                }
                if let Some(progress) = &opts.progress {
                    progress(out.len(), total);
                }
            }
        }
        Ok(out)
    })
}

fn failed(summary: String) -> Evaluated {
    Evaluated {
        status: Status::Error,
        summary,
        evidence: None,
        secrets: vec![],
        named_secret: None,
        duration: Duration::ZERO,
    }
}

/// Observes and judges one check. Runs on a blocking worker thread.
fn evaluate(
    item: &Item,
    ctx: &ProbeCtx,
    others: &[(String, Arc<BTreeMap<String, String>>)],
    base_dir: &std::path::Path,
    cache: &Arc<Cache>,
) -> Evaluated {
    let Some(check) = &item.check else {
        return failed("internal: not a check".into());
    };
    let probe = match check.probe() {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let obs = match probe.observe(ctx) {
        Ok(o) => o,
        Err(e) => {
            let mut ev = failed(format!("could not check: {e}"));
            ev.evidence = Some(Evidence {
                probe: probe.kind().into(),
                source: String::new(),
                ..Default::default()
            });
            return ev;
        }
    };
    let secret_spec = check.secret_spec();
    let secret = check
        .secret
        .unwrap_or(obs.secret_hint || secret_spec.is_some());
    let mut findings = obs.findings.clone();
    let mut error = None;
    for m in &check.expect {
        match m.judge(&obs.value, secret) {
            Ok(f) => findings.extend(f),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    let mut secrets = obs.secrets.clone();
    if secret {
        collect_strings(&obs.value, &mut secrets);
    }
    let mut named_secret = None;
    if let Some(spec) = secret_spec
        && let Some(value) = obs.value.as_str()
    {
        let name = spec.name.clone().unwrap_or_else(|| item.id.value.clone());
        named_secret = Some((name, value.to_string()));
        if spec.distinct_across_environments {
            for (env, vars) in others {
                let other_ctx = ProbeCtx {
                    vars: Arc::clone(vars),
                    base_dir: base_dir.to_owned(),
                    cache: Arc::clone(cache),
                };
                match probe.observe(&other_ctx) {
                    Ok(o) => {
                        if let Value::String(s) = &o.value {
                            secrets.push(s.clone());
                        }
                        let same = o.value.as_str() == Some(value);
                        findings.push(Finding::new(
                            !same,
                            format!("differs from environment `{env}`"),
                            if same { "same value" } else { "differs" },
                        ));
                    }
                    Err(e) => findings.push(Finding::new(
                        true,
                        format!("differs from environment `{env}`"),
                        format!("not comparable: {e}"),
                    )),
                }
            }
        }
    }
    let observed = if secret {
        Value::String(crate::redact::mask_value(&obs.value))
    } else {
        obs.value.clone()
    };
    let (status, summary) = match &error {
        Some(e) => (Status::Error, format!("could not judge: {e}")),
        None => summarize(
            &findings,
            check.on_fail,
            &crate::matcher::show(&obs.value, secret),
        ),
    };
    Evaluated {
        status,
        summary,
        evidence: Some(Evidence {
            probe: probe.kind().into(),
            source: obs.source,
            query: obs.query,
            observed,
            location: obs.location,
            findings,
        }),
        secrets,
        named_secret,
        duration: Duration::ZERO,
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn summarize(findings: &[Finding], on_fail: OnFail, shown: &str) -> (Status, String) {
    match findings.iter().find(|f| !f.ok) {
        Some(f) => {
            let status = if on_fail == OnFail::Warn {
                Status::Warn
            } else {
                Status::Fail
            };
            (
                status,
                format!("expected {}, found {}", f.expected, f.observed),
            )
        }
        None if findings.is_empty() => (Status::Pass, format!("observed {shown}")),
        None => (
            Status::Pass,
            findings
                .iter()
                .map(|f| f.expected.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// `distinct_from`: the item's secret must differ from the named secrets of other items.
fn check_reuse(
    item: &Item,
    pack: &str,
    named: &HashMap<String, (String, String)>,
    ev: &mut Evaluated,
) {
    let Some(check) = &item.check else { return };
    let Some(spec) = check.secret_spec() else {
        return;
    };
    let Some((my_name, my_value)) = ev.named_secret.clone() else {
        return;
    };
    let mine = format!("{pack}:{}", item.id.value);
    let mut new = Vec::new();
    for other in &spec.distinct_from {
        let targets: Vec<(&String, &(String, String))> = if other == "*" {
            named
                .iter()
                .filter(|(n, (id, _))| **n != my_name && *id != mine)
                .collect()
        } else {
            match named.get_key_value(other) {
                Some(kv) => vec![kv],
                None => {
                    new.push(Finding::new(
                        true,
                        format!("differs from secret `{other}`"),
                        "not read in this run",
                    ));
                    continue;
                }
            }
        };
        for (name, (id, value)) in targets {
            let same = *value == my_value;
            new.push(Finding::new(
                !same,
                format!("differs from secret `{name}` ({id})"),
                if same { "same value" } else { "differs" },
            ));
        }
    }
    for other in &spec.same_as {
        new.push(match named.get(other) {
            Some((id, value)) => {
                let same = *value == my_value;
                Finding::new(
                    same,
                    format!("equals secret `{other}` ({id})"),
                    if same { "same value" } else { "differs" },
                )
            }
            None => Finding::new(
                false,
                format!("equals secret `{other}`"),
                "not read in this run",
            ),
        });
    }
    if new.is_empty() {
        return;
    }
    let Some(evidence) = ev.evidence.as_mut() else {
        return;
    };
    evidence.findings.extend(new);
    if ev.status == Status::Pass || ev.status == Status::Warn {
        let shown = evidence.observed.to_string();
        let (status, summary) = summarize(&evidence.findings, check.on_fail, &shown);
        ev.status = status;
        ev.summary = summary;
    }
}

/// A waiver from the profile or the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct WaiverSpec {
    /// Item id or `pack:id`.
    pub item: String,
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD` (inclusive) or an RFC 3339 instant.
    pub expires: String,
    /// Environments it applies to; empty: all.
    pub environments: Vec<String>,
}

impl From<&crate::ledger::Waiver> for WaiverSpec {
    fn from(w: &crate::ledger::Waiver) -> Self {
        WaiverSpec {
            item: w.item.clone(),
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.clone(),
            environments: w.environment.iter().cloned().collect(),
        }
    }
}

/// The waivers a profile declares.
pub fn profile_waivers(profile: &Profile) -> Vec<WaiverSpec> {
    profile
        .file
        .waivers
        .iter()
        .map(|w| WaiverSpec {
            item: w.item.value.clone(),
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.value.clone(),
            environments: w.environments.clone(),
        })
        .collect()
}

/// Undoes waivers on results (to re-apply them at another time).
pub fn unwaive(results: &mut [ItemResult]) {
    for r in results.iter_mut() {
        if let Some(w) = r.waiver.take() {
            r.status = w.underlying;
            r.summary = w.underlying_summary;
        }
    }
}

/// Applies unexpired waivers to failing, erroring and pending results at time `now`;
/// returns the waivers that were not used, and why.
pub fn apply_waivers(
    waivers: &[WaiverSpec],
    environment: &str,
    results: &mut [ItemResult],
    now: jiff::Timestamp,
) -> Vec<UnusedWaiver> {
    let mut unused = Vec::new();
    for w in waivers {
        if !w.environments.is_empty() && !w.environments.iter().any(|e| e == environment) {
            continue;
        }
        let target = w.item.as_str();
        let matches: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id == target || r.qualified_id() == target)
            .map(|(i, _)| i)
            .collect();
        let unused_because = |why: String| UnusedWaiver {
            item: target.into(),
            reason: w.reason.clone(),
            why_unused: why,
        };
        if matches.is_empty() {
            unused.push(unused_because("no item of this run has that id".into()));
            continue;
        }
        let Ok(expires) = crate::profile::expiry(&w.expires) else {
            continue;
        };
        if expires <= now {
            unused.push(unused_because(format!("expired {}", w.expires)));
            for &i in &matches {
                if !results[i].summary.contains("waiver expired") {
                    results[i]
                        .summary
                        .push_str(&format!(" (waiver expired {})", w.expires));
                }
            }
            continue;
        }
        let mut used = false;
        for &i in &matches {
            let r = &mut results[i];
            if matches!(
                r.status,
                Status::Fail | Status::Warn | Status::Error | Status::Pending
            ) {
                r.waiver = Some(WaiverNote {
                    reason: w.reason.clone(),
                    owner: w.owner.clone(),
                    expires: w.expires.clone(),
                    underlying: r.status,
                    underlying_summary: r.summary.clone(),
                });
                r.summary = format!(
                    "waived until {} by {}: {} (was {}: {})",
                    w.expires,
                    w.owner,
                    w.reason,
                    r.status.as_str(),
                    r.summary
                );
                r.status = Status::Waived;
                used = true;
            }
        }
        if !used {
            unused.push(unused_because(
                "the item does not need it (it passes or does not apply)".into(),
            ));
        }
    }
    unused
}

/// Turns manual items with a valid attestation into `pass`, and explains why the others
/// are `pending` (none, expired, wrong role, evidence missing). Applied at time `now`.
pub fn apply_attestations(
    results: &mut [ItemResult],
    packs: &[Arc<LoadedPack>],
    attestations: &[crate::ledger::Attestation],
    environment: &str,
    now: jiff::Timestamp,
) {
    for r in results.iter_mut().filter(|r| {
        r.kind == ItemKind::Manual && matches!(r.status, Status::Pending | Status::Pass)
    }) {
        let Some(spec) = packs
            .iter()
            .filter(|lp| lp.pack.name == r.pack)
            .flat_map(|lp| lp.pack.sections.iter().flat_map(|s| s.items.iter()))
            .find(|i| i.id.value == r.id)
            .and_then(|i| i.attest.as_ref())
        else {
            continue;
        };
        let roles: Vec<&str> = spec.roles.iter().map(|x| role_name(*x)).collect();
        let qualified = r.qualified_id();
        let mut candidates: Vec<&crate::ledger::Attestation> = attestations
            .iter()
            .filter(|a| {
                (a.item == qualified || a.item == r.id)
                    && a.environment.as_deref().is_none_or(|e| e == environment)
            })
            .collect();
        candidates.sort_by(|a, b| b.attested_at.cmp(&a.attested_at));
        let mut why = format!(
            "manual item: no attestation recorded (may attest: {})",
            roles.join(", ")
        );
        let mut status = Status::Pending;
        for a in candidates {
            let expired = a
                .expires
                .as_deref()
                .and_then(|e| e.parse::<jiff::Timestamp>().ok())
                .is_some_and(|e| e <= now);
            if !spec.roles.contains(&a.role) {
                why = format!(
                    "attestation by {} has role {}, which may not attest this item (may: {})",
                    a.by,
                    role_name(a.role),
                    roles.join(", ")
                );
                continue;
            }
            if spec.evidence_required && a.evidence.is_none() {
                why = format!(
                    "attestation by {} has no evidence, which this item requires",
                    a.by
                );
                continue;
            }
            if expired {
                why = format!(
                    "attestation by {} ({}) expired {}",
                    a.by,
                    role_name(a.role),
                    a.expires.as_deref().unwrap_or("")
                );
                break;
            }
            status = Status::Pass;
            why = format!(
                "attested by {} ({}) at {}{}{}",
                a.by,
                role_name(a.role),
                a.attested_at,
                a.expires
                    .as_deref()
                    .map(|e| format!(", valid until {e}"))
                    .unwrap_or_default(),
                if a.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.note)
                }
            );
            break;
        }
        r.status = status;
        r.summary = why;
    }
}

fn redact(redactor: &Redactor, r: &mut ItemResult) {
    redactor.scrub_in_place(&mut r.summary);
    if let Some(e) = &mut r.evidence {
        redactor.scrub_in_place(&mut e.source);
        redactor.scrub_value(&mut e.observed);
        for f in &mut e.findings {
            redactor.scrub_in_place(&mut f.expected);
            redactor.scrub_in_place(&mut f.observed);
        }
    }
}
