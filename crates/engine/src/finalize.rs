//! The finalize stage, shared by `check` and `gate`: what people decided (attestations,
//! waivers, sign-offs) applied to judged results at a given time, then redaction, the gate
//! and the score. Applying it again to a finalized run at another time first undoes the
//! waivers, so a recorded run can be re-gated as the ledger stands now.

use std::sync::Arc;

use shipcheck_core::gate::{self, Policy, Verdict};
use shipcheck_core::id::ItemRef;
use shipcheck_core::outcome::{
    AttestRule, Counts, ItemKind, ItemResult, NotDue, Run, Status, UnusedWaiver, WaiverNote,
};
use shipcheck_core::pack::{LoadedPack, Phase, Role};
use shipcheck_core::profile::Profile;
use shipcheck_core::redact::Redactor;
use shipcheck_core::schedule::DueAt;
use shipcheck_core::statement::{Attestation, Signoff, Waiver};

/// What people decided, as the ledger (and the profile) hold it.
#[derive(Clone, Debug, Default)]
pub struct Statements {
    pub attestations: Vec<Attestation>,
    /// The profile's waivers and the ledger's.
    pub waivers: Vec<WaiverSpec>,
    pub signoffs: Vec<Signoff>,
    /// When the deployment was last deployed in the environment (`shipcheck deployed`):
    /// manual items of the phases after it fall due from then on.
    pub deployed_at: Option<jiff::Timestamp>,
    /// Why attestations were set aside (their signature does not hold): added to the
    /// verdict's reasons.
    pub set_aside: Vec<String>,
    /// Whether the profile's own waivers count (see [`add_profile_waivers`]).
    pub profile_waivers: ProfileWaivers,
    /// The profile's waivers, when refused: each is reported unused, and why.
    pub refused_waivers: Vec<WaiverSpec>,
}

/// Whether a profile's own `waivers:` count. CI can refuse them (`--no-profile-waivers`):
/// a waiver then has to be recorded in the ledger, where who waived what is kept, instead
/// of added to the file in the change being gated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProfileWaivers {
    #[default]
    Accepted,
    Refused,
}

/// Why a refused profile waiver did not apply.
pub const REFUSED: &str = "refused: the profile's own waivers do not count here (--no-profile-waivers); record it in the ledger with `shipcheck waive`";

/// Adds `profile`'s waivers to `statements`, ahead of the ledger's, or sets them aside as
/// refused, as `statements.profile_waivers` says.
pub fn add_profile_waivers(statements: &mut Statements, profile: &Profile) {
    let mut waivers = profile_waivers(profile);
    match statements.profile_waivers {
        ProfileWaivers::Accepted => {
            waivers.append(&mut statements.waivers);
            statements.waivers = waivers;
        }
        ProfileWaivers::Refused => statements.refused_waivers = waivers,
    }
}

/// Sign-offs a gate requires on one recorded run.
#[derive(Clone, Copy, Debug)]
pub struct SignoffRule<'a> {
    /// The run's ledger sequence number (sign-offs name it).
    pub run: i64,
    /// The run's number, as people see it (`history`).
    pub number: u64,
    pub required: &'a [Role],
    /// The allowed signers, and the digest of the run's record: when given, a sign-off
    /// counts only if its signature verifies for its role over this run.
    pub signers: Option<(&'a shipcheck_sign::AllowedSigners, &'a str)>,
}

/// What finalizing decided beyond the run itself.
#[derive(Clone, Debug, Default)]
pub struct Finalized {
    /// Sign-offs recorded on the run that count (when a rule was given).
    pub signoffs: Vec<Counted>,
    /// Sign-offs on the run that do not count: their signature does not hold.
    pub rejected: Vec<Rejected>,
    /// Required roles with no sign-off on the run that counts.
    pub missing_signoffs: Vec<Role>,
}

/// A sign-off that counts, and its verified signature when signers were required.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Counted {
    #[serde(flatten)]
    pub signoff: Signoff,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<shipcheck_sign::Verified>,
}

/// A sign-off that does not count, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Rejected {
    #[serde(flatten)]
    pub signoff: Signoff,
    pub reason: String,
}

/// Applies attestations and waivers as they stand at `now` to `run` (undoing earlier
/// waivers first), requires the sign-offs of `signoffs` when given, and sets the verdict,
/// counts and score.
pub fn finalize(
    run: &mut Run,
    packs: &[Arc<LoadedPack>],
    statements: &Statements,
    policy: Policy,
    signoffs: Option<SignoffRule<'_>>,
    now: jiff::Timestamp,
) -> Finalized {
    unwaive(&mut run.results);
    apply_attestations(
        &mut run.results,
        packs,
        &statements.attestations,
        &run.environment,
        now,
    );
    run.unused_waivers =
        apply_waivers(&statements.waivers, &run.environment, &mut run.results, now);
    run.unused_waivers.extend(
        statements
            .refused_waivers
            .iter()
            .filter(|w| w.applies_in(&run.environment))
            .map(|w| UnusedWaiver {
                item: w.item.clone(),
                reason: w.reason.clone(),
                why_unused: REFUSED.into(),
            }),
    );
    apply_due(run, statements.deployed_at, now);
    let mut verdict = gate::decide(&mut run.results, policy);
    verdict.reasons.extend(statements.set_aside.iter().cloned());
    let out = match signoffs {
        Some(rule) => require_signoffs(&mut verdict, rule, &statements.signoffs, now),
        None => Finalized::default(),
    };
    run.counts = Counts::of(&run.results);
    run.score = gate::score(&run.results);
    run.gate = verdict;
    out
}

/// Blocks the verdict for each required role without a sign-off on the run that counts
/// (with signers, one whose signature verifies for its role over this run at `now`).
fn require_signoffs(
    verdict: &mut Verdict,
    rule: SignoffRule<'_>,
    all: &[Signoff],
    now: jiff::Timestamp,
) -> Finalized {
    let (mut on_run, mut rejected) = (Vec::new(), Vec::new());
    for s in all.iter().filter(|s| s.run == rule.run) {
        let checked = match rule.signers {
            None => Ok(None),
            Some((list, digest)) => shipcheck_sign::verify_signoff(list, s, digest, now).map(Some),
        };
        match checked {
            Ok(verified) => on_run.push(Counted {
                signoff: s.clone(),
                verified,
            }),
            Err(e) => rejected.push(Rejected {
                signoff: s.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let missing: Vec<Role> = rule
        .required
        .iter()
        .copied()
        .filter(|r| !on_run.iter().any(|c| c.signoff.role == *r))
        .collect();
    for role in &missing {
        let why: Vec<String> = rejected
            .iter()
            .filter(|r| r.signoff.role == *role)
            .map(|r| {
                format!(
                    "the sign-off by {} does not count: {}",
                    r.signoff.by, r.reason
                )
            })
            .collect();
        verdict.reasons.push(format!(
            "missing sign-off: {} on run #{}{}",
            role.as_str(),
            rule.number,
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        ));
    }
    if !missing.is_empty() {
        verdict.go = false;
        verdict.exit_code = gate::EXIT_NO_GO;
    }
    Finalized {
        signoffs: on_run,
        rejected,
        missing_signoffs: missing,
    }
}

/// What a summary says when a waiver that matches the item has expired.
fn expired_note(expires: &str) -> String {
    format!(" (waiver expired {expires})")
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

impl WaiverSpec {
    /// Whether the waiver covers `environment` (no environments: all).
    fn applies_in(&self, environment: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|e| e == environment)
    }
}

impl From<&Waiver> for WaiverSpec {
    fn from(w: &Waiver) -> Self {
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
        if let Some(expires) = r.waiver_expired.take()
            && let Some(base) = r.summary.strip_suffix(&expired_note(&expires))
        {
            r.summary = base.to_string();
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
        if !w.applies_in(environment) {
            continue;
        }
        let target = w.item.as_str();
        let named = ItemRef::parse(target);
        let matches: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| named.matches(&r.pack, &r.id))
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
        let Ok(expires) = shipcheck_core::profile::expiry(&w.expires) else {
            continue;
        };
        if expires <= now {
            unused.push(unused_because(format!("expired {}", w.expires)));
            for &i in &matches {
                let r = &mut results[i];
                if r.waiver_expired.is_none() {
                    r.summary.push_str(&expired_note(&w.expires));
                    r.waiver_expired = Some(w.expires.clone());
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
    attestations: &[Attestation],
    environment: &str,
    now: jiff::Timestamp,
) {
    for r in results.iter_mut().filter(|r| {
        r.kind == ItemKind::Manual && matches!(r.status, Status::Pending | Status::Pass)
    }) {
        // The rule recorded with the result, else (a run recorded before rules were) the
        // pack's.
        let Some(spec) = r.attest.clone().or_else(|| {
            packs
                .iter()
                .filter(|lp| lp.pack.name == r.pack)
                .flat_map(|lp| lp.pack.sections.iter().flat_map(|s| s.items.iter()))
                .find(|i| i.id.value == r.id)
                .and_then(|i| i.attest.as_ref())
                .map(AttestRule::from)
        }) else {
            continue;
        };
        let roles: Vec<&str> = spec.roles.iter().map(|x| x.as_str()).collect();
        let mut candidates: Vec<&Attestation> = attestations
            .iter()
            .filter(|a| {
                ItemRef::parse(&a.item).matches(&r.pack, &r.id)
                    && a.environment.as_deref().is_none_or(|e| e == environment)
            })
            .collect();
        candidates.sort_by(|a, b| b.attested_at.cmp(&a.attested_at));
        let mut why = crate::plan::pending_reason(&spec.roles);
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
                    a.role.as_str(),
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
                    a.role.as_str(),
                    a.expires.as_deref().unwrap_or("")
                );
                break;
            }
            status = Status::Pass;
            why = format!(
                "attested by {} ({}) at {}{}{}",
                a.by,
                a.role.as_str(),
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

/// Marks the results that do not count yet (see [`NotDue`]), afresh: with a phase (the
/// run's, `check --phase`, or the one `gate --phase` asks for), the items after it; without
/// one, the manual items still pending whose phase's time after the deploy has not come.
pub fn apply_due(run: &mut Run, deployed_at: Option<jiff::Timestamp>, now: jiff::Timestamp) {
    for r in run.results.iter_mut() {
        r.not_due = match run.phase {
            Some(phase) if r.phase > phase => Some(NotDue {
                at: None,
                why: format!(
                    "not due: a {} item, and the gate is for {}",
                    r.phase.as_str(),
                    phase.as_str()
                ),
            }),
            Some(_) => None,
            None if r.kind == ItemKind::Manual && r.status == Status::Pending => {
                let after = run
                    .schedule
                    .offset(r.phase)
                    .map(|o| shipcheck_core::duration::Span(o).to_string())
                    .unwrap_or_default();
                match run.schedule.due_at(r.phase, deployed_at) {
                    DueAt::Always => None,
                    DueAt::At(at) if at <= now => None,
                    DueAt::At(at) => Some(NotDue {
                        at: Some(at.to_string()),
                        why: format!(
                            "not due until {at}: {} items fall due {after} after the deploy",
                            r.phase.as_str()
                        ),
                    }),
                    DueAt::AfterDeploy => Some(NotDue {
                        at: None,
                        why: format!(
                            "not due: {} items fall due {after} after a deploy, and none is recorded (`shipcheck deployed`)",
                            r.phase.as_str()
                        ),
                    }),
                }
            }
            None => None,
        };
    }
}

/// Makes `run` gate for `phase`: the items after it stop counting. Refused when the run
/// was made for an earlier phase, as it holds none of the items due between the two.
pub fn for_phase(run: &mut Run, phase: Phase) -> Result<(), String> {
    if let Some(made_for) = run.phase
        && made_for < phase
    {
        return Err(format!(
            "the latest run was made for phase {} (`check --phase {}`), so it holds no item due after it: run `shipcheck check --phase {}` first",
            made_for.as_str(),
            made_for.as_str(),
            phase.as_str()
        ));
    }
    run.phase = Some(phase);
    Ok(())
}

/// Scrubs every known secret from a result's text.
pub fn redact(redactor: &Redactor, r: &mut ItemResult) {
    redactor.scrub_in_place(&mut r.summary);
    if let Some(w) = &mut r.waiver {
        redactor.scrub_in_place(&mut w.underlying_summary);
        redactor.scrub_in_place(&mut w.reason);
    }
    if let Some(e) = &mut r.evidence {
        redactor.scrub_in_place(&mut e.source);
        redactor.scrub_value(&mut e.observed);
        for f in &mut e.findings {
            redactor.scrub_in_place(&mut f.expected);
            redactor.scrub_in_place(&mut f.observed);
        }
    }
}
