//! What people record: attestations of manual items, sign-offs of runs, and waivers. Each
//! builder validates against the item as the packs know it, or as a recorded run does (on a
//! server, which has the runs but not the packs): the item exists, the role may attest,
//! evidence is there when required. Nothing is written before that.

use std::path::Path;
use std::sync::Arc;

use shipcheck_core::id::{ItemRef, QualifiedId};
use shipcheck_core::outcome::{AttestRule, Run};
use shipcheck_core::pack::{Item, LoadedPack, Role};
use shipcheck_ledger::{Attestation, EvidenceRef, Ledger, Signoff, Waiver};

/// Finds `pack:id` or a unique `id` among `packs`.
pub fn find_item<'a>(
    packs: &'a [Arc<LoadedPack>],
    wanted: &str,
) -> Result<(&'a LoadedPack, &'a Item), String> {
    let named = ItemRef::parse(wanted);
    let found: Vec<(&LoadedPack, &Item)> = packs
        .iter()
        .flat_map(|lp| {
            lp.pack
                .sections
                .iter()
                .flat_map(move |s| s.items.iter().map(move |i| (lp.as_ref(), i)))
        })
        .filter(|(lp, i)| named.matches(&lp.pack.name, &i.id.value))
        .collect();
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(format!("no item `{wanted}` in the profile's packs")),
        _ => Err(format!(
            "`{wanted}` is in several packs; write it as pack:id"
        )),
    }
}

/// An item a statement names, as validated: its `pack:id` and, for a manual item, what
/// attesting it takes.
#[derive(Clone, Debug)]
pub struct Known {
    pub qualified: String,
    pub attest: Option<AttestRule>,
}

/// `pack:id` or a unique `id` among `packs`.
pub fn known_in_packs(packs: &[Arc<LoadedPack>], wanted: &str) -> Result<Known, String> {
    let (lp, it) = find_item(packs, wanted)?;
    Ok(Known {
        qualified: QualifiedId::new(lp.pack.name.as_str(), it.id.value.as_str()).to_string(),
        attest: it.attest.as_ref().map(AttestRule::from),
    })
}

/// The result of `pack:id`, or of a unique `id`, in `run`; else why not, with the
/// nearest id when one is close (`place` names the run in the message).
pub fn find_in_run<'a>(
    run: &'a Run,
    wanted: &str,
    place: &str,
) -> Result<&'a shipcheck_core::outcome::ItemResult, String> {
    let named = ItemRef::parse(wanted);
    let found: Vec<&shipcheck_core::outcome::ItemResult> = run
        .results
        .iter()
        .filter(|r| named.matches(&r.pack, &r.id))
        .collect();
    match found.as_slice() {
        [r] => Ok(r),
        [] => {
            let hint = run
                .results
                .iter()
                .map(|r| r.qualified_id())
                .map(|id| (strsim::jaro_winkler(&id, wanted), id))
                .filter(|(score, _)| *score > 0.85)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, id)| format!(" (did you mean `{id}`?)"))
                .unwrap_or_default();
            Err(format!("no item `{wanted}` in {place}{hint}"))
        }
        _ => Err(format!(
            "`{wanted}` is in several packs; write it as pack:id"
        )),
    }
}

/// `pack:id` or a unique `id` among the results of `run` (the deployment's latest).
pub fn known_in_run(run: &Run, wanted: &str) -> Result<Known, String> {
    let r = find_in_run(run, wanted, "the deployment's latest run")?;
    if r.kind == shipcheck_core::outcome::ItemKind::Manual && r.attest.is_none() {
        return Err(format!(
            "`{}` is a manual item of a run recorded before runs carried who may attest it: record a new run (`shipcheck check`, or `check --push` to a server), then attest",
            r.qualified_id()
        ));
    }
    Ok(Known {
        qualified: r.qualified_id(),
        attest: r.attest.clone(),
    })
}

/// Evidence given on the command line: a URL, or a file stored in the ledger by content.
pub fn evidence(ledger: &mut Ledger, given: &str) -> Result<EvidenceRef, String> {
    if given.starts_with("https://") || given.starts_with("http://") {
        return Ok(EvidenceRef::Url {
            url: given.to_string(),
        });
    }
    let path = Path::new(given);
    let data = shipcheck_core::bounded::read_bounded(path, 64 * 1024 * 1024)?;
    let sha256 = ledger.put_blob(&data).map_err(|e| e.to_string())?;
    Ok(EvidenceRef::File {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        size: data.len() as u64,
    })
}

/// Builds a validated attestation of `item`.
#[allow(clippy::too_many_arguments)]
pub fn attestation(
    item: Known,
    by: &str,
    role: Role,
    evidence: Option<EvidenceRef>,
    note: &str,
    expires: Option<&str>,
    (deployment, environment): (&str, Option<&str>),
    now: jiff::Timestamp,
) -> Result<Attestation, String> {
    let Known { qualified, attest } = item;
    let Some(spec) = attest else {
        return Err(format!(
            "`{qualified}` is an automated check, not a manual item: it is judged by `shipcheck check`"
        ));
    };
    if by.trim().is_empty() {
        return Err("--by needs a name".into());
    }
    if !spec.roles.contains(&role) {
        let allowed: Vec<&str> = spec.roles.iter().map(|r| r.as_str()).collect();
        return Err(format!(
            "role {} may not attest `{qualified}`; it takes: {}",
            role.as_str(),
            allowed.join(", ")
        ));
    }
    if spec.evidence_required && evidence.is_none() {
        return Err(format!(
            "`{qualified}` requires evidence: pass --evidence FILE or URL"
        ));
    }
    let expires = match expires {
        Some(e) => Some(shipcheck_core::profile::expiry(e)?.to_string()),
        None => spec.valid_for.map(|d| {
            jiff::Timestamp::from_second(now.as_second().saturating_add(d.0.as_secs() as i64))
                .map(|t| t.to_string())
                .unwrap_or_default()
        }),
    };
    if let Some(e) = &expires
        && e.parse::<jiff::Timestamp>().is_ok_and(|t| t <= now)
    {
        return Err(format!("--expires {e} is already past"));
    }
    Ok(Attestation {
        item: qualified,
        deployment: Some(deployment.to_string()),
        environment: environment.map(String::from),
        by: by.to_string(),
        role,
        evidence,
        note: note.to_string(),
        attested_at: now.to_string(),
        expires,
        signature: None,
    })
}

/// Builds a sign-off of the run recorded under sequence number `seq`; it belongs to the
/// run's deployment and environment.
pub fn signoff(
    (seq, run): (i64, &shipcheck_core::outcome::Run),
    role: Role,
    by: &str,
    note: &str,
    now: jiff::Timestamp,
) -> Result<Signoff, String> {
    if by.trim().is_empty() {
        return Err("--by needs a name".into());
    }
    Ok(Signoff {
        run: seq,
        deployment: Some(run.deployment_id()),
        environment: Some(run.environment.clone()),
        role,
        by: by.into(),
        note: note.into(),
        at: now.to_string(),
        digest: None,
        signature: None,
    })
}

/// Builds a validated waiver.
pub fn waiver(
    item: Known,
    reason: &str,
    owner: &str,
    expires: &str,
    (deployment, environment): (&str, Option<&str>),
    now: jiff::Timestamp,
) -> Result<Waiver, String> {
    if reason.trim().is_empty() || owner.trim().is_empty() {
        return Err("a waiver needs a --reason and an --owner".into());
    }
    let until = shipcheck_core::profile::expiry(expires)?;
    if until <= now {
        return Err(format!("--expires {expires} is already past"));
    }
    Ok(Waiver {
        item: item.qualified,
        deployment: Some(deployment.to_string()),
        reason: reason.into(),
        owner: owner.into(),
        expires: expires.into(),
        environment: environment.map(String::from),
        at: now.to_string(),
    })
}
