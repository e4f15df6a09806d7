//! `ledger verify`: the hash chain, the head's MAC and signature, evidence files, the
//! indexed placement columns and the run summaries, each recomputed from the chained
//! content.

use serde::Serialize;

use crate::{
    Attestation, EvidenceRef, Head, Kind, Ledger, LedgerError, Record, chain, codec, headsig,
    parse_kind, scope, summary,
};

impl Ledger {
    /// Checks the whole chain; see [`Verification`].
    pub fn verify(&mut self) -> Result<Verification, LedgerError> {
        self.verify_records().map(|(v, _)| v)
    }

    /// [`Ledger::verify`], and the records it read, for checks of their content that are
    /// not the ledger's (the statements' personal signatures): one read of the ledger.
    pub fn verify_records(&mut self) -> Result<(Verification, Vec<Record>), LedgerError> {
        let records = self.records()?;
        let head = self.head()?;
        let mut v = verify_chain(&records, head.as_ref(), self.key.as_deref());
        v.signature = headsig::status(head.as_ref(), self.trusted.as_ref());
        v.ok &= !matches!(v.signature, headsig::HeadSignature::Failed { .. });
        if v.first_bad.is_none() {
            v.first_bad = self.verify_blobs(&records)?;
            v.ok &= v.first_bad.is_none();
        }
        if v.first_bad.is_none() {
            match scope::place(&records) {
                Ok(placed) => {
                    v.first_bad = records.iter().zip(&placed).find_map(index_disagrees);
                    if v.first_bad.is_none() {
                        let stored = self.backend.summaries(&summary::SummaryQuery::All)?;
                        v.first_bad = summary::disagreement(&records, stored);
                    }
                    v.ok &= v.first_bad.is_none();
                    v.unassigned = placed
                        .into_iter()
                        .filter(|p| matches!(p.placement, scope::Placement::Unassigned { .. }))
                        .collect()
                }
                Err(e) => {
                    v.first_bad = Some(match e {
                        LedgerError::Body { seq, message } => (
                            seq,
                            format!("its body is not valid JSON of its kind: {message}"),
                        ),
                        other => (0, other.to_string()),
                    });
                    v.ok = false;
                }
            }
        }
        Ok((v, records))
    }

    /// Reads every evidence file an attestation names and compares it with the digest the
    /// chained record holds: the first one missing or replaced, if any.
    fn verify_blobs(&mut self, records: &[Record]) -> Result<Option<(i64, String)>, LedgerError> {
        for (seq, a) in parse_kind::<Attestation>(records, Kind::Attestation)? {
            let Some(EvidenceRef::File { name, sha256, .. }) = &a.evidence else {
                continue;
            };
            let problem = match self.backend.get_blob(sha256)? {
                None => format!("evidence file {name} ({sha256}) is missing from the ledger"),
                Some(data) if chain::digest(&data) != *sha256 => format!(
                    "evidence file {name}: its stored content does not match the digest in the record (replaced)"
                ),
                Some(_) => continue,
            };
            return Ok(Some((seq, problem)));
        }
        Ok(None)
    }
}

/// Whether the indexed columns of `r` disagree with where its content places it, and how.
fn index_disagrees((r, p): (&Record, &scope::Placed)) -> Option<(i64, String)> {
    let stored = (r.deployment.as_deref(), r.environment.as_deref());
    let content = p.placement.scope().map_or((None, None), |s| {
        (Some(s.deployment.as_str()), s.environment.as_deref())
    });
    (stored != content).then(|| {
        let show = |(d, e): (Option<&str>, Option<&str>)| match (d, e) {
            (None, _) => "no deployment".to_string(),
            (Some(d), None) => format!("deployment {d}"),
            (Some(d), Some(e)) => format!("deployment {d}, environment {e}"),
        };
        (
            r.seq,
            format!(
                "its index columns say {} but its content says {} (the columns were edited to move it, or an older shipcheck wrote it)",
                show(stored),
                show(content)
            ),
        )
    })
}

/// Whether the chain head is authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// A key is configured and the head's MAC matches.
    Verified,
    /// No key configured: edits that recompute the whole chain cannot be detected.
    Unauthenticated,
    /// A key is configured but the head carries no MAC (written without a key).
    HeadUnsigned,
    /// The MAC does not match: the chain was rewritten or the key is wrong.
    BadMac,
}

/// The result of `ledger verify`.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub records: usize,
    pub ok: bool,
    /// The first bad record and why, when the chain is broken.
    pub first_bad: Option<(i64, String)>,
    pub authentication: Authentication,
    /// The head's Ed25519 signature, checked against `SHIPCHECK_LEDGER_PUBLIC_KEY`.
    pub signature: headsig::HeadSignature,
    /// Statements from before deployments existed that no single deployment claims: they
    /// apply nowhere (see [`scope`]). Not a fault of the chain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unassigned: Vec<scope::Placed>,
}

/// Verifies `records` (as stored, sorted by seq) against the head and the key.
pub fn verify_chain(records: &[Record], head: Option<&Head>, key: Option<&[u8]>) -> Verification {
    let mut prev = chain::GENESIS.to_string();
    let mut first_bad = None;
    for (i, r) in records.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let problem = if r.seq > expected_seq {
            Some((
                expected_seq,
                format!(
                    "record #{expected_seq} is missing (deleted); #{} follows #{}",
                    r.seq,
                    expected_seq - 1
                ),
            ))
        } else if r.seq < expected_seq {
            Some((
                r.seq,
                format!(
                    "record #{} appears again after #{} (inserted or reordered)",
                    r.seq,
                    expected_seq - 1
                ),
            ))
        } else if r.prev_hash != prev {
            Some((r.seq, "its link to the previous record does not match (a record was removed, inserted or reordered here)".to_string()))
        } else if chain::link(r.seq, &r.kind, &r.created_at, &r.prev_hash, &r.body) != r.hash {
            Some((
                r.seq,
                match codec::unreadable(&r.body) {
                    Some(why) => format!("its content does not match its hash ({why})"),
                    None => "its content does not match its hash (edited)".to_string(),
                },
            ))
        } else {
            None
        };
        if problem.is_some() {
            first_bad = problem;
            break;
        }
        prev = r.hash.clone();
    }
    let last = records
        .last()
        .map(|r| (r.seq, r.hash.clone()))
        .unwrap_or((0, chain::GENESIS.to_string()));
    if first_bad.is_none() {
        match head {
            Some(h) if h.seq != last.0 || h.hash != last.1 => {
                first_bad = Some((
                    h.seq.min(last.0 + 1).max(1),
                    format!(
                        "the head says the chain ends at #{} but the records end at #{} (records removed from the end, or appended outside shipcheck)",
                        h.seq, last.0
                    ),
                ));
            }
            None if !records.is_empty() => {
                first_bad = Some((1, "the chain head is missing".into()))
            }
            _ => {}
        }
    }
    let authentication = match (key, head.and_then(|h| h.mac.as_deref())) {
        (None, _) => Authentication::Unauthenticated,
        (Some(_), None) if records.is_empty() => Authentication::Verified,
        (Some(_), None) => Authentication::HeadUnsigned,
        (Some(k), Some(mac)) => {
            let h = head
                .map(|h| (h.seq, h.hash.clone()))
                .unwrap_or(last.clone());
            if chain::mac_eq(mac, &chain::head_mac(k, h.0, &h.1)) {
                Authentication::Verified
            } else {
                Authentication::BadMac
            }
        }
    };
    let ok = first_bad.is_none()
        && matches!(
            authentication,
            Authentication::Verified | Authentication::Unauthenticated
        );
    Verification {
        records: records.len(),
        ok,
        first_bad,
        authentication,
        signature: headsig::HeadSignature::None,
        unassigned: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Vec<Record>, Head) {
        let mut prev = chain::GENESIS.to_string();
        let mut out = Vec::new();
        for seq in 1..=n {
            let body = format!("{{\"n\":{seq}}}");
            let hash = chain::link(seq, "run", "t", &prev, &body);
            out.push(Record {
                seq,
                kind: "run".into(),
                created_at: "t".into(),
                body,
                prev_hash: prev.clone(),
                hash: hash.clone(),
                deployment: None,
                environment: None,
            });
            prev = hash;
        }
        let head = Head {
            seq: n,
            hash: prev.clone(),
            mac: Some(chain::head_mac(b"k", n, &prev)),
            sig: None,
        };
        (out, head)
    }

    #[test]
    fn detects_every_kind_of_tampering() {
        let (rs, head) = chain(5);
        assert!(verify_chain(&rs, Some(&head), Some(b"k")).ok);
        assert_eq!(
            verify_chain(&rs, Some(&head), None).authentication,
            Authentication::Unauthenticated
        );
        let mut edited = rs.clone();
        edited[2].body = "{\"n\":99}".into();
        assert_eq!(
            verify_chain(&edited, Some(&head), None)
                .first_bad
                .unwrap()
                .0,
            3
        );
        let mut deleted = rs.clone();
        deleted.remove(1);
        assert_eq!(
            verify_chain(&deleted, Some(&head), None)
                .first_bad
                .unwrap()
                .0,
            2
        );
        // Reordering in a table swaps the sequence numbers of two records.
        let mut reordered = rs.clone();
        reordered.swap(1, 2);
        reordered[1].seq = 2;
        reordered[2].seq = 3;
        assert_eq!(
            verify_chain(&reordered, Some(&head), None)
                .first_bad
                .unwrap()
                .0,
            2
        );
        let mut truncated = rs.clone();
        truncated.pop();
        assert!(!verify_chain(&truncated, Some(&head), None).ok);
        // A rewrite that recomputes the chain passes without a key, not with one.
        let (mut rewritten, _) = chain(5);
        rewritten[4].body = "{\"n\":\"forged\"}".into();
        let prev = rewritten[3].hash.clone();
        rewritten[4].hash = chain::link(5, "run", "t", &prev, &rewritten[4].body);
        let forged_head = Head {
            seq: 5,
            hash: rewritten[4].hash.clone(),
            mac: head.mac.clone(),
            sig: None,
        };
        assert!(verify_chain(&rewritten, Some(&forged_head), None).ok);
        let v = verify_chain(&rewritten, Some(&forged_head), Some(b"k"));
        assert_eq!((v.ok, v.authentication), (false, Authentication::BadMac));
    }
}
