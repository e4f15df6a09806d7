//! Which deployment and environment each record belongs to.
//!
//! Records written since deployments exist name theirs in the body. Records from before
//! (ledger v1) are placed by the rules below, using only the record and the ones before it,
//! so the placement of a record never changes as the ledger grows:
//!
//! - a run belongs to the deployment derived from its profile's path, in its environment;
//! - a sign-off or baseline belongs to the run it names;
//! - an attestation or waiver belongs to the one deployment whose earlier runs hold its
//!   item (in its environment, when it names one). When several deployments do, or none,
//!   it is *unassigned*: it applies nowhere, and `ledger verify` lists it so it can be
//!   recorded again for the right deployment.
//!
//! The placement is computed from the bodies, which the hash chain covers: there is no
//! separate column to edit, so a record cannot be moved to another deployment without
//! breaking the chain. This is how old ledgers migrate: nothing is rewritten.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use shipcheck_core::deployment::DeploymentId;

use crate::{Kind, LedgerError, Record};

/// Where a record belongs: a deployment and, unless the statement holds in every
/// environment, one environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub deployment: String,
    pub environment: Option<String>,
}

impl Scope {
    /// Whether a statement placed here applies to `deployment` in `environment`.
    pub fn covers(&self, deployment: &str, environment: &str) -> bool {
        self.deployment == deployment
            && self.environment.as_deref().is_none_or(|e| e == environment)
    }
}

/// The placement of one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "placement", rename_all = "snake_case")]
pub enum Placement {
    Placed(Scope),
    /// A record from before deployments existed that no single deployment claims.
    Unassigned {
        why: String,
    },
    /// A record of the server itself (an API token), which belongs to no deployment.
    Server,
}

impl Placement {
    pub fn scope(&self) -> Option<&Scope> {
        match self {
            Placement::Placed(s) => Some(s),
            Placement::Unassigned { .. } | Placement::Server => None,
        }
    }
}

/// One placed record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub seq: i64,
    pub kind: String,
    /// `pack:id` for attestations and waivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(flatten)]
    pub placement: Placement,
}

/// What placement reads from a run (not its results' details).
#[derive(Deserialize)]
struct RunHead {
    #[serde(default)]
    deployment: String,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    profile_id: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    results: Vec<ResultHead>,
}

#[derive(Deserialize)]
struct ResultHead {
    pack: String,
    id: String,
}

/// What placement reads from a deploy or an alert: they always name both.
#[derive(Deserialize)]
struct DeploymentHead {
    deployment: String,
    environment: String,
}

/// What placement reads from an attestation or a waiver.
#[derive(Deserialize)]
struct StatementHead {
    item: String,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

/// What placement reads from a sign-off or a baseline.
#[derive(Deserialize)]
struct RunStatementHead {
    run: i64,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

fn parse<'a, T: Deserialize<'a>>(r: &'a Record) -> Result<T, LedgerError> {
    serde_json::from_str(&r.body).map_err(|e| LedgerError::Body {
        seq: r.seq,
        message: e.to_string(),
    })
}

/// Places every record of `records` (sorted by sequence number).
pub fn place(records: &[Record]) -> Result<Vec<Placed>, LedgerError> {
    let mut placer = Placer::default();
    records.iter().map(|r| placer.place(r)).collect()
}

/// Places records one by one, in sequence order, remembering what the earlier ones say.
/// A fresh placer places a record that names its deployment (as every record written since
/// deployments exist does) without any history.
#[derive(Default)]
pub struct Placer {
    /// Runs seen so far: seq -> scope.
    runs: BTreeMap<i64, Scope>,
    /// item -> deployment -> environments it ran in.
    ran: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Placer {
    /// Places `r`, which follows every record placed before.
    pub fn place(&mut self, r: &Record) -> Result<Placed, LedgerError> {
        let (item, placement) = match r.kind.as_str() {
            k if k == Kind::Run.as_str() => {
                let run: RunHead = parse(r)?;
                let deployment =
                    DeploymentId::of_recorded_run(&run.deployment, &run.profile_id, &run.profile);
                for res in &run.results {
                    let id = shipcheck_core::id::QualifiedId::new(&res.pack, &res.id).to_string();
                    self.ran
                        .entry(id)
                        .or_default()
                        .entry(deployment.clone())
                        .or_default()
                        .insert(run.environment.clone());
                }
                let scope = Scope {
                    deployment,
                    environment: Some(run.environment),
                };
                self.runs.insert(r.seq, scope.clone());
                (None, Placement::Placed(scope))
            }
            k if k == Kind::Attestation.as_str() || k == Kind::Waiver.as_str() => {
                let s: StatementHead = parse(r)?;
                let placement = match s.deployment {
                    Some(deployment) => Placement::Placed(Scope {
                        deployment,
                        environment: s.environment,
                    }),
                    None => legacy_statement(&self.ran, &s.item, s.environment),
                };
                (Some(s.item), placement)
            }
            k if k == Kind::Signoff.as_str() || k == Kind::Baseline.as_str() => {
                let s: RunStatementHead = parse(r)?;
                let placement = match (s.deployment, self.runs.get(&s.run)) {
                    (Some(deployment), _) => Placement::Placed(Scope {
                        deployment,
                        environment: s.environment,
                    }),
                    (None, Some(scope)) => Placement::Placed(scope.clone()),
                    (None, None) => Placement::Unassigned {
                        why: format!("it names record #{}, which is not an earlier run", s.run),
                    },
                };
                (None, placement)
            }
            k if k == Kind::Deploy.as_str()
                || k == Kind::Alert.as_str()
                || k == Kind::Fix.as_str() =>
            {
                let d: DeploymentHead = parse(r)?;
                (
                    None,
                    Placement::Placed(Scope {
                        deployment: d.deployment,
                        environment: Some(d.environment),
                    }),
                )
            }
            k if k == Kind::Token.as_str() => (None, Placement::Server),
            other => (
                None,
                Placement::Unassigned {
                    why: format!("unknown record kind `{other}`"),
                },
            ),
        };
        Ok(Placed {
            seq: r.seq,
            kind: r.kind.clone(),
            item,
            placement,
        })
    }
}

/// A v1 attestation or waiver: the one deployment whose earlier runs hold `item` (in
/// `environment` when given).
fn legacy_statement(
    ran: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    item: &str,
    environment: Option<String>,
) -> Placement {
    let claims: Vec<&String> = ran
        .get(item)
        .map(|by_deployment| {
            by_deployment
                .iter()
                .filter(|(_, envs)| environment.as_ref().is_none_or(|e| envs.contains(e)))
                .map(|(d, _)| d)
                .collect()
        })
        .unwrap_or_default();
    let within = match &environment {
        Some(e) => format!(" in environment {e}"),
        None => String::new(),
    };
    match claims.as_slice() {
        [one] => Placement::Placed(Scope {
            deployment: (*one).clone(),
            environment,
        }),
        [] => Placement::Unassigned {
            why: format!(
                "recorded before deployments existed, and no earlier run{within} holds {item}"
            ),
        },
        several => Placement::Unassigned {
            why: format!(
                "recorded before deployments existed, and the earlier runs{within} of {} deployments hold {item} ({})",
                several.len(),
                several
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: i64, kind: &str, body: serde_json::Value) -> Record {
        Record {
            seq,
            kind: kind.into(),
            created_at: "t".into(),
            body: body.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
            deployment: None,
            environment: None,
        }
    }

    fn run(seq: i64, profile: &str, env: &str, items: &[&str]) -> Record {
        let results: Vec<_> = items
            .iter()
            .map(|i| serde_json::json!({"pack": "p", "id": i}))
            .collect();
        rec(
            seq,
            "run",
            serde_json::json!({"profile_id": profile, "environment": env, "results": results}),
        )
    }

    fn scope(p: &Placed) -> Option<(&str, Option<&str>)> {
        p.placement
            .scope()
            .map(|s| (s.deployment.as_str(), s.environment.as_deref()))
    }

    #[test]
    fn v1_records_go_to_the_one_deployment_that_claims_them() {
        let records = vec![
            run(1, "/srv/a/demo/shipcheck.yaml", "prod", &["x", "y"]),
            rec(2, "waiver", serde_json::json!({"item": "p:x"})),
            run(3, "/srv/b/shop.yaml", "prod", &["y"]),
            run(4, "/srv/b/shop.yaml", "staging", &["x"]),
            // x ran in prod only for demo: placed there.
            rec(
                5,
                "attestation",
                serde_json::json!({"item": "p:x", "environment": "prod"}),
            ),
            // y ran in prod for both: ambiguous.
            rec(
                6,
                "attestation",
                serde_json::json!({"item": "p:y", "environment": "prod"}),
            ),
            // x with no environment: demo and shop both ran it.
            rec(7, "waiver", serde_json::json!({"item": "p:x"})),
            rec(8, "signoff", serde_json::json!({"run": 3})),
            rec(9, "baseline", serde_json::json!({"run": 2})),
            rec(
                10,
                "waiver",
                serde_json::json!({"item": "p:x", "deployment": "api"}),
            ),
            rec(11, "attestation", serde_json::json!({"item": "p:zzz"})),
        ];
        let placed = place(&records).unwrap();
        assert_eq!(scope(&placed[0]), Some(("demo", Some("prod"))));
        assert_eq!(scope(&placed[1]), Some(("demo", None)));
        assert_eq!(scope(&placed[2]), Some(("shop", Some("prod"))));
        assert_eq!(scope(&placed[4]), Some(("demo", Some("prod"))));
        assert_eq!(scope(&placed[5]), None);
        let Placement::Unassigned { why } = &placed[5].placement else {
            unreachable!()
        };
        assert!(
            why.contains("2 deployments") && why.contains("demo, shop"),
            "{why}"
        );
        assert_eq!(scope(&placed[6]), None);
        assert_eq!(scope(&placed[7]), Some(("shop", Some("prod"))));
        assert_eq!(scope(&placed[8]), None, "record 2 is not a run");
        assert_eq!(scope(&placed[9]), Some(("api", None)));
        assert_eq!(scope(&placed[10]), None);
    }

    #[test]
    fn a_named_deployment_wins_over_the_path() {
        let mut r = run(1, "/tmp/ci-1234/shipcheck.yaml", "prod", &[]);
        r.body = r.body.replace('{', "{\"deployment\":\"payments\",");
        assert_eq!(
            scope(&place(&[r]).unwrap()[0]),
            Some(("payments", Some("prod")))
        );
    }

    #[test]
    fn covers_respects_the_environment() {
        let s = Scope {
            deployment: "d".into(),
            environment: None,
        };
        assert!(s.covers("d", "prod") && !s.covers("e", "prod"));
        let s = Scope {
            environment: Some("prod".into()),
            ..s
        };
        assert!(s.covers("d", "prod") && !s.covers("d", "staging"));
    }
}
