//! `dns` probe: a name resolves (through the system resolver), optionally to expected
//! addresses.

use shipcheck_core::spec::dns::*;
use std::net::{IpAddr, ToSocketAddrs};

use serde_json::json;

use super::{Finding, Observation, ProbeCtx};

/// Why a name gave no addresses.
#[derive(Debug, PartialEq)]
pub enum Unresolved {
    /// The resolver answered that the name does not exist or has no address: a finding.
    NoSuchName(String),
    /// The resolver could not answer (timeout, server failure): could-not-check.
    CannotTell(String),
}

/// Resolves `name` with the system resolver, sorted and deduplicated.
pub fn resolve(name: &str) -> Result<Vec<IpAddr>, Unresolved> {
    let mut out: Vec<IpAddr> = (name, 0)
        .to_socket_addrs()
        .map_err(|e| classify(name, &e.to_string()))?
        .map(|a| a.ip())
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Tells "no such name" from "no answer" by the resolver's words (std reports getaddrinfo's
/// error code only as `gai_strerror`'s text, which is English: Rust programs run in the C
/// locale). Only the answers that mean the name has no address are findings; a temporary
/// failure (EAI_AGAIN), a server failure (EAI_FAIL) and anything not known here are not:
/// a check that a name must *not* resolve would otherwise pass on a resolver that is down.
fn classify(name: &str, error: &str) -> Unresolved {
    const NO_SUCH_NAME: &[&str] = &[
        "Name or service not known",           // glibc EAI_NONAME
        "No address associated with hostname", // glibc EAI_NODATA
        "Name does not resolve",               // musl EAI_NONAME
        "Name has no usable address",          // musl EAI_NODATA
    ];
    if NO_SUCH_NAME.iter().any(|m| error.contains(m)) {
        Unresolved::NoSuchName(format!("{name} does not resolve: {error}"))
    } else {
        Unresolved::CannotTell(format!(
            "the resolver gave no answer for {name}, so whether it resolves is not known: {error}"
        ))
    }
}

impl crate::Observe for DnsProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let name = ctx.expand(&self.name)?;
        let (found, error) = match resolve(&name) {
            Ok(a) => (a, None),
            Err(Unresolved::NoSuchName(e)) => (Vec::new(), Some(e)),
            Err(Unresolved::CannotTell(e)) => return Err(e),
        };
        let shown: Vec<String> = found.iter().map(IpAddr::to_string).collect();
        let mut obs = Observation::new(json!(shown), format!("dns {name}"));
        obs.findings.push(Finding::new(
            !found.is_empty(),
            format!("{name} resolves"),
            error.unwrap_or_else(|| shown.join(", ")),
        ));
        let mut wanted = self.addresses.clone();
        if let Some(t) = &self.addresses_from {
            for a in ctx
                .expand(t)?
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
            {
                wanted.push(
                    a.parse()
                        .map_err(|_| format!("`{a}` is not an IP address (addresses_from)"))?,
                );
            }
        }
        for want in &wanted {
            obs.findings.push(Finding::new(
                found.contains(want),
                format!("resolves to {want}"),
                if shown.is_empty() {
                    "nothing".into()
                } else {
                    shown.join(", ")
                },
            ));
        }
        Ok(obs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answer_that_the_name_has_no_address_is_a_finding() {
        for (error, no_such_name) in [
            (
                "failed to lookup address information: Name or service not known",
                true,
            ),
            (
                "failed to lookup address information: No address associated with hostname",
                true,
            ),
            (
                "failed to lookup address information: Name does not resolve",
                true,
            ),
            (
                "failed to lookup address information: Temporary failure in name resolution",
                false,
            ),
            (
                "failed to lookup address information: Non-recoverable failure in name resolution",
                false,
            ),
            ("failed to lookup address information: System error", false),
            ("something new", false),
        ] {
            let got = classify("db.example.test", error);
            assert_eq!(
                matches!(got, Unresolved::NoSuchName(_)),
                no_such_name,
                "{error}"
            );
            assert!(format!("{got:?}").contains("db.example.test"));
        }
    }

    #[test]
    fn a_name_that_does_not_exist_is_a_finding_and_localhost_resolves() {
        // `.invalid` never exists (RFC 6761); /etc/hosts answers before any server is asked
        // for localhost. A machine whose resolver cannot be reached answers `.invalid` with
        // a temporary failure, which must not read as "does not exist".
        match resolve("shipcheck-test.invalid") {
            Err(Unresolved::NoSuchName(m)) => assert!(m.contains("does not resolve")),
            Err(Unresolved::CannotTell(m)) => assert!(m.contains("not known"), "{m}"),
            Ok(a) => panic!("an .invalid name resolved: {a:?}"),
        }
        assert!(
            resolve("localhost")
                .unwrap()
                .iter()
                .any(IpAddr::is_loopback)
        );
    }
}
