//! Judging: a probe's observation against the item's matchers, secret collection, and
//! cross-item secret reuse (`distinct_from`, `same_as`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use shipcheck_core::observation::Finding;
use shipcheck_core::outcome::{Evidence, Status};
use shipcheck_core::pack::{Item, OnFail};
use shipcheck_probes::{Cache, ProbeCtx};

/// What evaluating one check produced, before waivers and redaction.
pub struct Evaluated {
    pub status: Status,
    pub summary: String,
    pub evidence: Option<Evidence>,
    /// Secret values seen, for redaction and reuse checks.
    pub secrets: Vec<String>,
    /// (secret name, value) when the item has a `secret` matcher.
    pub named_secret: Option<(String, String)>,
    pub duration: Duration,
}

/// An `error` result with `summary`.
pub fn failed(summary: String) -> Evaluated {
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
pub fn evaluate(
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
    let mut obs = match shipcheck_probes::observe(probe, ctx) {
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
    let mut findings = std::mem::take(&mut obs.findings);
    let mut error = None;
    if let Some(why) = obs.incomplete.take()
        && !obs.settled
        && !check.expect.is_empty()
    {
        error = Some(why);
    }
    for m in check.expect.iter().filter(|_| !obs.settled) {
        match m.judge(&obs.value, secret) {
            Ok(f) => findings.extend(f),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    let mut secrets = std::mem::take(&mut obs.secrets);
    if secret {
        collect_strings(&obs.value, &mut secrets);
    } else {
        // A password inside an observed map is masked in the evidence; its value must not
        // reach the summary or a finding either.
        shipcheck_core::redact::strings_under_secret_keys(&obs.value, &mut secrets);
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
                    deadline: ctx.deadline,
                };
                match shipcheck_probes::observe(probe, &other_ctx) {
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
    let (mut status, mut summary) = match &error {
        Some(e) => (Status::Error, format!("could not judge: {e}")),
        None => summarize(
            &findings,
            check.on_fail,
            &shipcheck_core::matcher::show(&obs.value, secret),
        ),
    };
    // Only a failure can mean "not yet due": a could-not-check stays an error.
    if matches!(status, Status::Fail | Status::Warn)
        && let Some(pw) = &check.pending_when
    {
        // Every output must say so: a failure is excused only when the whole condition holds.
        match shipcheck_core::jq::holds(&pw.jq.value, &obs.value) {
            Ok(true) => {
                status = Status::Pending;
                summary = format!("not yet due: {} ({summary})", pw.reason);
            }
            Ok(false) => {}
            Err(e) => {
                status = Status::Error;
                summary = format!("cannot evaluate `pending_when`: {e}");
            }
        }
    }
    let observed = if secret {
        Value::String(shipcheck_core::redact::mask_value(&obs.value))
    } else {
        obs.value
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

pub fn summarize(findings: &[Finding], on_fail: OnFail, shown: &str) -> (Status, String) {
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
pub fn check_reuse(
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
    let mine = shipcheck_core::id::QualifiedId::new(pack, item.id.value.as_str()).to_string();
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
