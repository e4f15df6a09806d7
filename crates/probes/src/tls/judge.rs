//! Judging a scan against a pack item's expectations (`tls` probe): what could not be
//! checked, and one finding per expectation.

use super::{TlsProbe, TlsReport};
use crate::Finding;
use shipcheck_core::spec::tls::*;

/// Why a scan cannot be judged for `probe`, if it cannot: no handshake at any version (the
/// port does not speak TLS, or never answered), versions the minimum-protocol check needs
/// that could not be tested, or a cipher scan cut short. Could-not-check is never a pass,
/// and never a fail either.
pub(super) fn could_not_check(r: &TlsReport, probe: &TlsProbe) -> Result<(), String> {
    if let Some(e) = r.no_handshake() {
        return Err(e);
    }
    let reasons = || r.reasons();
    // The versions a verdict rests on: every version below the minimum, and TLS 1.3 when
    // it is required.
    let below_min: &[&str] = match probe.min_protocol {
        MinProtocol::None | MinProtocol::Tls10 => &[],
        MinProtocol::Tls11 => &["tls1.0"],
        MinProtocol::Tls12 => &["tls1.0", "tls1.1"],
        MinProtocol::Tls13 => &["tls1.0", "tls1.1", "tls1.2"],
    };
    let needed = below_min
        .iter()
        .copied()
        .chain(probe.require_tls13.then_some("tls1.3"));
    {
        let untested: Vec<&str> = needed.filter(|k| !r.protocols.contains_key(*k)).collect();
        if !untested.is_empty() {
            return Err(format!(
                "could not test {} at {}: {}",
                untested.join(", "),
                r.target,
                reasons()
            ));
        }
    }
    if (probe.no_weak_ciphers || probe.no_insecure_ciphers)
        && let Some(e) = r.errors.iter().find(|e| e.starts_with("cipher scan"))
    {
        return Err(format!(
            "the cipher scan of {} did not finish: {e}",
            r.target
        ));
    }
    // A certificate seen but its chain not judged (no trust anchors to judge it by) cannot
    // pass "chain trusted", nor fail it; a self-signed one the item allows needs no chain.
    let allowed_as_self_signed =
        probe.allow_self_signed && r.certificate.as_ref().is_some_and(|c| c.self_signed);
    if probe.certificate
        && r.certificate.is_some()
        && r.trusted.is_none()
        && !allowed_as_self_signed
    {
        let why = r
            .errors
            .iter()
            .find(|e| e.starts_with(super::CHAIN_NOT_JUDGED))
            .cloned()
            .unwrap_or_else(|| super::CHAIN_NOT_JUDGED.to_string());
        return Err(format!("{why} ({})", r.target));
    }
    Ok(())
}

impl TlsReport {
    /// Why nothing about the port's TLS can be judged, if nothing can: no handshake at any
    /// version and no certificate (the port does not speak TLS, or never answered).
    pub fn no_handshake(&self) -> Option<String> {
        (!self.protocols.values().any(|accepted| *accepted) && self.certificate.is_none()).then(
            || {
                format!(
                    "no TLS handshake with {} ({}) at any version: {}",
                    self.target,
                    self.address,
                    self.reasons()
                )
            },
        )
    }

    fn reasons(&self) -> String {
        if self.errors.is_empty() {
            "every handshake was refused or closed".to_string()
        } else {
            self.errors.join("; ")
        }
    }
}

/// Judging a scan against the item's expectations.
pub(super) trait Judge {
    fn judge(&self, r: &TlsReport, out: &mut Vec<Finding>);
}

impl Judge for TlsProbe {
    fn judge(&self, r: &TlsReport, out: &mut Vec<Finding>) {
        let accepted = |k: &str| r.protocols.get(k).copied();
        let order = [
            ("tls1.0", MinProtocol::Tls10),
            ("tls1.1", MinProtocol::Tls11),
            ("tls1.2", MinProtocol::Tls12),
            ("tls1.3", MinProtocol::Tls13),
        ];
        if self.min_protocol != MinProtocol::None {
            let min_index = order
                .iter()
                .position(|(_, m)| *m == self.min_protocol)
                .unwrap_or(2);
            // SSL 2.0 and 3.0 are below every minimum.
            let too_old: Vec<&str> = ["ssl2", "ssl3"]
                .into_iter()
                .chain(order[..min_index].iter().map(|(k, _)| *k))
                .filter(|k| accepted(k) == Some(true))
                .collect();
            let unknown: Vec<&str> = order[..min_index]
                .iter()
                .filter(|(k, _)| accepted(k).is_none())
                .map(|(k, _)| *k)
                .collect();
            let newest = order
                .iter()
                .rev()
                .find(|(k, _)| accepted(k) == Some(true))
                .map(|(k, _)| *k);
            let observed = if !too_old.is_empty() {
                format!("accepts {}", too_old.join(", "))
            } else if !unknown.is_empty() {
                format!("could not test {}", unknown.join(", "))
            } else {
                format!(
                    "accepts {}",
                    order
                        .iter()
                        .filter(|(k, _)| accepted(k) == Some(true))
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push(Finding::new(
                too_old.is_empty() && unknown.is_empty() && newest.is_some(),
                format!("accepts nothing older than {}", order[min_index].0),
                observed,
            ));
        }
        if self.require_tls13 {
            out.push(Finding::new(
                accepted("tls1.3") == Some(true),
                "accepts TLS 1.3",
                if accepted("tls1.3") == Some(true) {
                    "accepted"
                } else {
                    "not accepted"
                },
            ));
        }
        if self.no_weak_ciphers || self.no_insecure_ciphers {
            let insecure = r.insecure_ciphers.clone().unwrap_or_default();
            out.push(Finding::new(
                insecure.is_empty(),
                "no insecure cipher suite accepted",
                list_or_none(&insecure),
            ));
            if self.no_weak_ciphers {
                let weak = r.weak_ciphers.clone().unwrap_or_default();
                out.push(Finding::new(
                    weak.is_empty(),
                    "no weak cipher suite accepted",
                    list_or_none(&weak),
                ));
            }
        }
        if self.certificate {
            let Some(c) = &r.certificate else {
                out.push(Finding::new(
                    false,
                    "a certificate over TLS 1.2+",
                    r.errors.join("; "),
                ));
                return;
            };
            let trusted = r.trusted == Some(true) || (self.allow_self_signed && c.self_signed);
            out.push(Finding::new(
                trusted,
                "chain trusted",
                r.trust_error.clone().map_or("trusted".into(), |e| {
                    if r.chain_incomplete == Some(true) {
                        format!("{e} (intermediate missing)")
                    } else {
                        e
                    }
                }),
            ));
            out.push(Finding::new(
                c.hostname_matches,
                format!("valid for {}", r.sni),
                format!("names {}", c.sans.join(", ")),
            ));
            out.push(Finding::new(
                !c.expired && !c.not_yet_valid,
                "within its validity period",
                format!("{} to {}", c.not_before, c.not_after),
            ));
            let min_days = self.min_days_left.unwrap_or(DEFAULT_MIN_DAYS_LEFT);
            out.push(Finding::new(
                c.days_left >= min_days,
                format!("at least {min_days} days left"),
                format!("{} days left", c.days_left),
            ));
            if let Some(p) = self.min_lifetime_left_percent {
                out.push(Finding::new(
                    c.lifetime_left_percent >= p,
                    format!("at least {p}% of its lifetime left"),
                    format!("{}% of {} days", c.lifetime_left_percent, c.lifetime_days),
                ));
            }
            if !self.allow_self_signed {
                out.push(Finding::new(
                    !c.self_signed,
                    "not self-signed",
                    if c.self_signed {
                        "self-signed"
                    } else {
                        "issued by a CA"
                    },
                ));
            }
            out.push(Finding::new(
                !c.weak_key,
                "key RSA ≥ 2048 or EC ≥ 256 bits",
                format!("{} {}", c.key_type, c.key_bits),
            ));
            out.push(Finding::new(
                !c.sha1_signature,
                "not signed with SHA-1",
                c.signature_algorithm.clone(),
            ));
        }
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
