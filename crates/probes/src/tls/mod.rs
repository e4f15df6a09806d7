//! `tls` probe: which protocol versions and weak cipher suites a server *accepts* (asked
//! with hand-built ClientHellos, see [`hello`]), and the certificate it serves: trust
//! (rustls/webpki against system roots or a CA file), hostname, validity, days left, key,
//! signature algorithm ([`cert`]), stapling and resumption ([`handshake`]).

pub mod cert;
pub(crate) mod enumerate;
mod exchange;
mod handshake;
mod heartbleed;
pub mod hello;
mod judge;
pub(crate) mod renegotiation;
mod robot;
pub mod sslv2;
pub mod suites;
pub(crate) mod trust;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{Observation, ProbeCtx};
use exchange::Exchanges;
use handshake::HandshakeError;
use hello::{Answer, Class, Version};
use judge::{Judge, could_not_check};
use shipcheck_core::spec::tls::*;
use trust::trust;

/// Where to connect and what name to ask for.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Name sent as SNI and checked against the certificate (default: `host`).
    pub sni: Option<String>,
    /// Connect here instead of resolving `host` (like curl's `--resolve`).
    pub address: Option<IpAddr>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl Target {
    pub fn name(&self) -> &str {
        self.sni.as_deref().unwrap_or(&self.host)
    }

    /// The socket address to connect to.
    pub fn socket(&self) -> Result<SocketAddr, String> {
        if let Some(ip) = self.address {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", self.host))
    }
}

/// What to scan.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Scope {
    pub protocols: bool,
    pub ciphers: bool,
    pub certificate: bool,
    /// The audit's deeper questions (`shipcheck probe tls`): TLS 1.3 suites, groups, DH
    /// size, suite order, client renegotiation, ROBOT and Heartbleed. Pack items judge none
    /// of them, so they do not pay for the connections.
    pub deep: bool,
}

/// Everything a scan saw.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct TlsReport {
    pub target: String,
    pub address: String,
    pub sni: String,
    /// `tls1.0` … `tls1.3` → accepted; absent when not asked.
    pub protocols: BTreeMap<String, bool>,
    /// Protocol and suite rustls negotiated (TLS 1.2+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// Accepted TLS ≤ 1.2 suites outside Mozilla "intermediate" (CBC, static RSA...), the
    /// insecure ones included: insecure implies weak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak_ciphers: Option<Vec<String>>,
    /// Accepted NULL, anonymous, EXPORT, RC4, DES and 3DES suites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_ciphers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<cert::CertFacts>,
    /// Whether the served chain verifies to the trust anchors (time and name aside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_error: Option<String>,
    /// The chain ends in a certificate whose issuer was not sent and is not trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_incomplete: Option<bool>,
    /// The server took DEFLATE when offered it (TLS ≤ 1.2): CRIME. Absent when no TLS ≤ 1.2
    /// handshake was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<bool>,
    /// Every accepted TLS ≤ 1.2 ServerHello carried `renegotiation_info` (RFC 5746).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_renegotiation: Option<bool>,
    /// A second TLS 1.2+ handshake resumed the first's session (tickets or session ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumption: Option<bool>,
    /// The server stapled an OCSP response to its certificate (TLS 1.2+ handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocsp_stapled: Option<bool>,
    /// A downgraded ClientHello carrying TLS_FALLBACK_SCSV is refused with
    /// `inappropriate_fallback` (RFC 7507), or answered with TLS 1.3's downgrade sentinel in
    /// the server random (RFC 8446). Absent when fewer than two versions are accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_scsv: Option<bool>,
    /// TLS 1.3 suites accepted, the server's preference first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls13_suites: Option<Vec<String>>,
    /// Key-exchange groups accepted, the server's preference first: TLS 1.3's when it
    /// speaks it, else the ECDHE curves of its best TLS ≤ 1.2 version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Accepted groups below 128-bit security.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak_groups: Option<Vec<String>>,
    /// Bits of the finite-field DHE prime (TLS ≤ 1.2), when a DHE suite is taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dh_bits: Option<usize>,
    /// `server` when the server imposes its suite preference (TLS ≤ 1.2), `client` when it
    /// follows the client's; absent when it cannot be told (one suite accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_order: Option<String>,
    /// The server redid a handshake its client started inside a TLS 1.2 session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_renegotiation: Option<bool>,
    /// The server answers RSA key exchanges differently by their padding (ROBOT); absent
    /// when it takes no RSA key exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot: Option<bool>,
    /// When it does: its answer to each padding variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot_answers: Option<Vec<String>>,
    /// A heartbeat request with a lying length was answered (Heartbleed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbleed: Option<bool>,
    /// Parts that could not be checked, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What a scoped thread returned; a panic is an error of that probe, not of the run.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, Result<T, String>>) -> Result<T, String> {
    h.join()
        .unwrap_or_else(|_| Err("the handshake crashed".to_string()))
}

/// Scans one target. An unreachable target is an `Err`.
pub fn scan(target: &Target, scope: Scope) -> Result<TlsReport, String> {
    scan_sharing(target, scope, None)
}

/// Scans one target, taking from `cache` the answers to the exchanges another scan of the
/// run already made (see [`exchange`]): a pack's items ask one endpoint for different
/// scopes, and each used to make all of its scan's connections.
pub fn scan_sharing(
    target: &Target,
    scope: Scope,
    cache: Option<&crate::Cache>,
) -> Result<TlsReport, String> {
    let addr = target.socket()?;
    let ex = Exchanges {
        cache,
        addr,
        target,
    };
    // Fail fast and clearly when nothing listens.
    ex.connect().map_err(|e| {
        format!(
            "cannot connect to {}:{} ({addr}): {e}",
            target.host, target.port
        )
    })?;
    let mut report = TlsReport {
        target: format!("{}:{}", target.host, target.port),
        address: addr.to_string(),
        sni: target.name().to_string(),
        ..TlsReport::default()
    };
    let all = all_suites();
    // The version probes are independent connections: asked at once, they take one
    // round trip's time, not five (loopback 1-2 ms each, a remote server much more).
    // Their answers are read in the order they were asked before, so the report is the same.
    let legacy_versions: &[Version] = if scope.protocols || scope.ciphers {
        &[Version::Tls10, Version::Tls11, Version::Tls12]
    } else {
        &[]
    };
    let (v2, v3, legacy) = std::thread::scope(|s| {
        let ex = &ex;
        let ask = |v: Version| {
            let all = &all;
            s.spawn(move || ex.hello(v, all, false))
        };
        let v2 = scope.protocols.then(|| s.spawn(|| ex.sslv2()));
        let v3 = scope.protocols.then(|| ask(Version::Ssl3));
        let legacy: Vec<_> = legacy_versions.iter().map(|&v| (v, ask(v))).collect();
        (
            v2.map(joined),
            v3.map(joined),
            legacy
                .into_iter()
                .map(|(v, h)| (v, joined(h)))
                .collect::<Vec<_>>(),
        )
    });
    if let Some(v2) = v2 {
        match v2 {
            Ok(accepted) => {
                report.protocols.insert("ssl2".into(), accepted);
            }
            Err(e) => report.errors.push(format!("SSL 2.0: {e}")),
        }
    }
    if let Some(v3) = v3 {
        match v3 {
            Ok(Answer::Accepted { version, .. }) => {
                report.protocols.insert("ssl3".into(), version == [3, 0]);
            }
            Ok(Answer::Refused(_)) => {
                report.protocols.insert("ssl3".into(), false);
            }
            Err(e) => report.errors.push(format!("SSL 3.0: {e}")),
        }
    }
    let mut legacy_accepted = Vec::new();
    for (v, answer) in legacy {
        match answer {
            Ok(Answer::Accepted {
                version,
                secure_renegotiation,
                ..
            }) => {
                let ok = version == v.wire();
                if ok {
                    legacy_accepted.push(v);
                    let all_secure = report.secure_renegotiation.unwrap_or(true);
                    report.secure_renegotiation = Some(all_secure && secure_renegotiation);
                }
                report.protocols.insert(proto_key(v).into(), ok);
            }
            Ok(Answer::Refused(_)) => {
                report.protocols.insert(proto_key(v).into(), false);
            }
            Err(e) => report.errors.push(format!("{}: {e}", v.name())),
        }
    }
    // Compression: offered DEFLATE at the best legacy version, does the server take it?
    if let Some(&best) = legacy_accepted.last() {
        match ex.hello(best, &all, true) {
            Ok(Answer::Accepted { compression, .. }) => report.compression = Some(compression != 0),
            Ok(Answer::Refused(why)) => report.errors.push(format!(
                "compression check at {}: refused ({why})",
                best.name()
            )),
            Err(e) => report
                .errors
                .push(format!("compression check at {}: {e}", best.name())),
        }
    }
    // A cipher scan that found no legacy version accepted still needs to know whether the
    // port speaks TLS at all (TLS 1.3 only, or not TLS): no handshake, no judgement.
    if scope.protocols || scope.certificate || legacy_accepted.is_empty() {
        match ex.handshake(false, false) {
            Ok(h) => {
                report.protocols.insert("tls1.3".into(), true);
                report.negotiated.get_or_insert(h.negotiated);
            }
            Err(HandshakeError::Refused(_)) => {
                report.protocols.insert("tls1.3".into(), false);
            }
            Err(HandshakeError::Io(e)) => report.errors.push(format!("TLS 1.3: {e}")),
        }
    }
    if scope.deep {
        enumerate(&mut report, addr, target, &legacy_accepted);
    }
    if let (true, Some(&best)) = (scope.deep, legacy_accepted.last()) {
        match heartbleed::check(addr, best, Some(target.name()), target.timeout) {
            Ok(h) => report.heartbleed = Some(matches!(h, heartbleed::Heartbleed::Vulnerable(_))),
            Err(e) => report
                .errors
                .push(format!("heartbleed check at {}: {e}", best.name())),
        }
    }
    // Downgrade protection: a hello below the best version the server accepts, marked as a
    // fallback, must be refused (RFC 7507).
    let tls13 = report.protocols.get("tls1.3") == Some(&true);
    let below_best = match (tls13, legacy_accepted.as_slice()) {
        (true, [.., top]) => Some(*top),
        (false, [.., below, _]) => Some(*below),
        _ => None,
    };
    if let Some(v) = below_best {
        let mut offer = all.clone();
        offer.push(0x5600); // TLS_FALLBACK_SCSV
        match ex.hello(v, &offer, false) {
            Ok(Answer::Refused(why)) if why.contains("inappropriate_fallback") => {
                report.fallback_scsv = Some(true);
            }
            // A TLS 1.3 server marks a lower version in its random, and clients abort: that
            // is downgrade protection too (rustls has no SCSV, only this).
            Ok(Answer::Accepted {
                downgrade_sentinel, ..
            }) => report.fallback_scsv = Some(downgrade_sentinel),
            Ok(Answer::Refused(why)) => report
                .errors
                .push(format!("fallback check at {}: refused ({why})", v.name())),
            Err(e) => report
                .errors
                .push(format!("fallback check at {}: {e}", v.name())),
        }
    }
    if scope.ciphers {
        let (mut weak, mut insecure) = (Vec::new(), Vec::new());
        for &v in legacy_accepted.iter().rev() {
            for (class, found) in [(Class::Insecure, &mut insecure), (Class::Weak, &mut weak)] {
                let mut offer: Vec<u16> = hello::SUITES
                    .iter()
                    .filter(|s| s.class == class && !found.contains(&s.name.to_string()))
                    .map(|s| s.id)
                    .collect();
                for _ in 0..=offer.len() {
                    if offer.is_empty() {
                        break;
                    }
                    match ex.hello(v, &offer, false) {
                        Ok(Answer::Accepted { version, suite, .. })
                            if version == v.wire() && offer.contains(&suite) =>
                        {
                            found.push(
                                hello::suite(suite).map_or_else(
                                    || format!("0x{suite:04X}"),
                                    |s| s.name.to_string(),
                                ),
                            );
                            offer.retain(|s| *s != suite);
                        }
                        Ok(_) => break,
                        Err(e) => {
                            report
                                .errors
                                .push(format!("cipher scan at {}: {e}", v.name()));
                            break;
                        }
                    }
                }
            }
        }
        // Insecure implies weak (weak is anything outside Mozilla "intermediate").
        let mut all_weak = insecure.clone();
        all_weak.extend(weak);
        // No version answered at all: no scan happened, so no list (not an empty one).
        if report.protocols.values().any(|accepted| *accepted) {
            report.weak_ciphers = Some(all_weak);
            report.insecure_ciphers = Some(insecure);
        }
    }
    if scope.certificate {
        match ex.handshake(true, scope.protocols) {
            Ok(h) => {
                report.negotiated = Some(h.negotiated);
                report.ocsp_stapled = Some(h.stapled);
                match h.resumed {
                    Some(Ok(resumed)) => report.resumption = Some(resumed),
                    // Could not check: said, never read as "not resumed".
                    Some(Err(e)) => report
                        .errors
                        .push(format!("resumption check: no second handshake: {e}")),
                    None => {}
                }
                certificate(&mut report, target, &h.chain);
            }
            Err(e) => report
                .errors
                .push(format!("{NO_MODERN_HANDSHAKE}: {}", e.text())),
        }
    }
    Ok(report)
}

fn all_suites() -> Vec<u16> {
    hello::SUITES.iter().map(|s| s.id).collect()
}

/// TLS 1.3 suites, groups, DH prime size and suite order (a cipher scan's extras).
fn enumerate(report: &mut TlsReport, addr: SocketAddr, target: &Target, legacy: &[Version]) {
    let asker = enumerate::Asker {
        addr,
        sni: Some(target.name()),
        timeout: target.timeout,
    };
    let names =
        |ids: Vec<u16>| -> Vec<String> { ids.into_iter().map(suites::suite_name).collect() };
    let tls13 = report.protocols.get("tls1.3") == Some(&true);
    if tls13 {
        match asker.tls13_suites() {
            Ok(ids) => report.tls13_suites = Some(names(ids)),
            Err(e) => report.errors.push(format!("TLS 1.3 suites: {e}")),
        }
    }
    let group_version = if tls13 {
        Some(Version::Tls13)
    } else {
        legacy.last().copied()
    };
    if let Some(v) = group_version {
        match asker.groups(v) {
            Ok(ids) => {
                let known: Vec<&suites::Group> =
                    ids.iter().filter_map(|g| suites::group(*g)).collect();
                report.weak_groups = Some(
                    known
                        .iter()
                        .filter(|g| g.weak)
                        .map(|g| g.name.to_string())
                        .collect(),
                );
                report.groups = Some(
                    ids.iter()
                        .map(|g| {
                            suites::group(*g)
                                .map_or_else(|| format!("0x{g:04X}"), |g| g.name.to_string())
                        })
                        .collect(),
                );
            }
            Err(e) => report.errors.push(format!("groups at {}: {e}", v.name())),
        }
    }
    // Weak curves are TLS ≤ 1.2 only in OpenSSL: ask there too when TLS 1.3 answered.
    if let (true, Some(&best)) = (tls13, legacy.last()) {
        match asker.groups(best) {
            Ok(ids) => {
                let weak = report.weak_groups.get_or_insert_with(Vec::new);
                for g in ids
                    .iter()
                    .filter_map(|g| suites::group(*g))
                    .filter(|g| g.weak)
                {
                    if !weak.iter().any(|w| w == g.name) {
                        weak.push(g.name.to_string());
                    }
                }
            }
            Err(e) => report
                .errors
                .push(format!("groups at {}: {e}", best.name())),
        }
    }
    if legacy.contains(&Version::Tls12) {
        match renegotiation::client_initiated(addr, Some(target.name()), target.timeout) {
            Ok(Some(accepted)) => report.client_renegotiation = Some(accepted),
            Ok(None) => report.errors.push(
                "client-initiated renegotiation: the server takes no ECDHE (x25519, P-256) AES-GCM suite, the only ones this check speaks".into(),
            ),
            Err(e) => report
                .errors
                .push(format!("client-initiated renegotiation: {e}")),
        }
    }
    if let Some(&best) = legacy.last() {
        match robot::check(addr, best, Some(target.name()), target.timeout) {
            Ok(robot::Robot::NoRsaKeyExchange) => {}
            Ok(robot::Robot::NotVulnerable) => report.robot = Some(false),
            Ok(robot::Robot::Vulnerable(answers)) => {
                report.robot = Some(true);
                report.robot_answers = Some(answers);
            }
            Err(e) => report.errors.push(format!("ROBOT at {}: {e}", best.name())),
        }
        match asker.dh_bits(best) {
            Ok(bits) => report.dh_bits = bits,
            Err(e) => report
                .errors
                .push(format!("DH parameters at {}: {e}", best.name())),
        }
        match asker.server_order(best) {
            Ok(order) => {
                report.cipher_order =
                    order.map(|server| if server { "server" } else { "client" }.into());
            }
            Err(e) => report
                .errors
                .push(format!("cipher order at {}: {e}", best.name())),
        }
    }
}

fn proto_key(v: Version) -> &'static str {
    match v {
        Version::Tls10 => "tls1.0",
        Version::Tls11 => "tls1.1",
        Version::Tls12 => "tls1.2",
        Version::Tls13 => "tls1.3",
        Version::Ssl3 => "ssl3",
    }
}

/// How a scan's error starts when the certificate's chain could not be judged.
pub const CHAIN_NOT_JUDGED: &str = "chain not judged";
/// The prefix of the error when only legacy versions gave a handshake: the audit reports it
/// as the `tls.handshake.failed` finding.
pub const NO_MODERN_HANDSHAKE: &str = "certificate: no TLS 1.2+ handshake";

fn certificate(report: &mut TlsReport, target: &Target, chain: &[Vec<u8>]) {
    let now = jiff::Timestamp::now().as_second();
    match cert::facts(chain, target.name(), now) {
        Ok(facts) => {
            match trust(target, chain, &facts) {
                Ok((trusted, error)) => {
                    report.chain_incomplete = Some(
                        !trusted
                            && error.as_deref() == Some("unknown issuer")
                            && cert::ends_without_issuer(chain),
                    );
                    report.trusted = Some(trusted);
                    report.trust_error = error;
                }
                // Nothing to verify against: the chain is not judged (`trusted` stays
                // unknown) and the scan says why.
                Err(e) => report.errors.push(format!("{CHAIN_NOT_JUDGED}: {e}")),
            }
            report.certificate = Some(facts);
        }
        Err(e) => report.errors.push(e),
    }
}

impl crate::Observe for TlsProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let target = Target {
            host: ctx.expand(&self.host)?,
            port: ctx.port(&self.port)?,
            sni: self.sni.as_ref().map(|s| ctx.expand(s)).transpose()?,
            address: ctx.optional_ip(self.address.as_ref())?,
            ca_file: ctx.optional_path(self.ca_file.as_ref())?,
            timeout: self.timeout.map_or(Duration::from_secs(5), |s| s.0),
        };
        let scope = Scope {
            deep: false,
            protocols: self.min_protocol != MinProtocol::None || self.require_tls13,
            ciphers: self.no_weak_ciphers || self.no_insecure_ciphers,
            certificate: self.certificate,
        };
        let report = ctx.cache.memo((target.clone(), scope), || {
            scan_sharing(&target, scope, Some(&ctx.cache))
        })?;
        could_not_check(&report, self)?;
        let mut obs = Observation::new(
            serde_json::to_value(&report).unwrap_or_default(),
            format!("tls {} ({})", report.target, report.address),
        );
        self.judge(&report, &mut obs.findings);
        Ok(obs)
    }
}
