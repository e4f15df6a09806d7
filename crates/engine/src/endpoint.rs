//! Endpoints checked once per run, before the items that reach them: an endpoint that does
//! not answer is one finding ("proxy endpoint not reachable: connection refused") and its
//! items are `error` with that cause, instead of each timing out on its own; a TLS check of
//! a plain-HTTP endpoint is the finding "no TLS".

use std::collections::{BTreeMap, HashMap};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use shipcheck_core::endpoint::Resolved;
use shipcheck_core::observation::Finding;
use shipcheck_core::outcome::{Status, Unreachable};

use crate::judge::Evaluated;
use crate::plan::{At, Plan};

/// Time allowed to resolve and connect to one endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What the endpoint check decided for the items it settles (by plan index), and the
/// endpoints that could not be reached.
pub struct Prechecked {
    pub settled: HashMap<usize, Evaluated>,
    pub unreachable: Vec<Unreachable>,
}

/// Checks every endpoint the items of `todo` name, in parallel, once each.
pub fn precheck(plan: &Plan, todo: &[(usize, At)]) -> Prechecked {
    let mut users: BTreeMap<&str, Vec<(usize, At)>> = BTreeMap::new();
    for (idx, at) in todo {
        if let Some(name) = plan
            .item(*at)
            .check
            .as_ref()
            .and_then(|c| c.endpoint.as_deref())
        {
            users.entry(name).or_default().push((*idx, *at));
        }
    }
    // Reachability, one thread per endpoint; each bounded by CONNECT_TIMEOUT.
    let (tx, rx) = mpsc::channel();
    let mut asked = 0;
    for name in users.keys() {
        if let Some(Ok(ep)) = plan.endpoints.get(*name) {
            let (tx, ep) = (tx.clone(), ep.clone());
            asked += 1;
            std::thread::spawn(move || {
                let _ = tx.send((ep.name.clone(), reach(&ep)));
            });
        }
    }
    drop(tx);
    // One deadline for all: a resolver that hangs does not hold the run.
    let deadline = std::time::Instant::now() + CONNECT_TIMEOUT + Duration::from_secs(2);
    let mut reached: HashMap<String, Result<(), String>> = HashMap::new();
    for _ in 0..asked {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((name, r)) => {
                reached.insert(name, r);
            }
            Err(_) => break,
        }
    }
    let mut out = Prechecked {
        settled: HashMap::new(),
        unreachable: Vec::new(),
    };
    for (name, items) in users {
        let (url, cause) = match plan.endpoints.get(name) {
            None => (
                String::new(),
                Some(format!("endpoint `{name}` is not declared")),
            ),
            Some(Err(e)) => (String::new(), Some(e.clone())),
            Some(Ok(ep)) => {
                let cause = match reached.get(name) {
                    Some(Ok(())) => None,
                    Some(Err(e)) => {
                        Some(format!("{name} endpoint ({}) not reachable: {e}", ep.url))
                    }
                    None => Some(format!(
                        "{name} endpoint ({}) not reachable: no answer within {}s",
                        ep.url,
                        CONNECT_TIMEOUT.as_secs()
                    )),
                };
                (ep.url.clone(), cause)
            }
        };
        let mut blocked = Vec::new();
        for (idx, at) in items {
            let check = plan.item(at).check.as_ref();
            let is_tls = check.is_some_and(|c| c.tls.is_some());
            let plain = matches!(plan.endpoints.get(name), Some(Ok(ep)) if ep.scheme == "http");
            if is_tls && plain {
                // A plain-HTTP endpoint has no TLS to check: that is the finding.
                out.settled.insert(idx, no_tls(name, &url));
            } else if let Some(cause) = &cause {
                out.settled.insert(idx, crate::judge::failed(cause.clone()));
                blocked.push(plan.qualified(at).to_string());
            }
        }
        if let Some(reason) = cause
            && !blocked.is_empty()
        {
            out.unreachable.push(Unreachable {
                endpoint: name.to_string(),
                url,
                reason,
                items: blocked,
            });
        }
    }
    out
}

/// Resolves the endpoint and opens a TCP connection to it.
fn reach(ep: &Resolved) -> Result<(), String> {
    let (host, port) = ep.connect_to();
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = shipcheck_core::diag::one_line(&e.to_string()),
        }
    }
    Err(last.to_lowercase().replace(" (os error 111)", ""))
}

/// The result of a TLS check on a plain-HTTP endpoint.
fn no_tls(name: &str, url: &str) -> Evaluated {
    let finding = Finding::new(false, "TLS on this endpoint", format!("plain HTTP ({url})"));
    let mut ev = crate::judge::failed(format!("no TLS: the {name} endpoint is plain HTTP ({url})"));
    ev.status = Status::Fail;
    ev.evidence = Some(shipcheck_core::outcome::Evidence {
        probe: "tls".into(),
        source: format!("endpoint {name}"),
        query: None,
        observed: serde_json::json!({"endpoint": name, "url": url, "scheme": "http"}),
        location: None,
        findings: vec![finding],
    });
    ev
}
