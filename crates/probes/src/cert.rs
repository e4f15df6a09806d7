//! `cert` probe: a certificate file on disk, as the service will load it at its next start.
//! Live TLS is not always reachable from where shipcheck runs, and the files are the truth
//! for what a restart serves: they parse, cover the names, have days left, belong to the
//! key, and chain to the CA.

use std::path::Path;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use shipcheck_core::spec::cert::CertProbe;
use shipcheck_core::spec::tls::DEFAULT_MIN_DAYS_LEFT;

use super::{Finding, Observation, ProbeCtx};
use crate::tls::{Target, cert, trust};

impl crate::Observe for CertProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let path = ctx.path(&self.path)?;
        let shown = path.display().to_string();
        // Unreadable or missing: could not check.
        let pem = crate::read_bounded(&path, crate::MAX_FILE_BYTES).map_err(|e| e.to_string())?;
        let mut obs = Observation::new(json!({"path": shown}), format!("certificate file {shown}"));
        obs.location = Some(super::FileLocation {
            path: shown.clone(),
            line: None,
        });
        let chain: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
            .filter_map(Result::ok)
            .map(|c| c.as_ref().to_vec())
            .collect();
        // Read, but no certificate in it: the service would not start with it.
        if chain.is_empty() {
            obs.findings.push(Finding::new(
                false,
                "a PEM certificate",
                "no CERTIFICATE block in the file",
            ));
            return Ok(obs);
        }
        let names: Vec<String> = self
            .names
            .iter()
            .map(|n| ctx.expand(n))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|n| !n.trim().is_empty())
            .collect();
        let now = jiff::Timestamp::now().as_second();
        let first_name = names.first().cloned().unwrap_or_default();
        let facts = match cert::facts(&chain, &first_name, now) {
            Ok(f) => f,
            Err(e) => {
                obs.findings
                    .push(Finding::new(false, "a certificate that parses", e));
                return Ok(obs);
            }
        };
        let min_days = self.min_days_left.unwrap_or(DEFAULT_MIN_DAYS_LEFT);
        obs.findings.push(Finding::new(
            !facts.not_yet_valid,
            "valid now",
            format!("valid from {}", facts.not_before),
        ));
        obs.findings.push(Finding::new(
            facts.days_left >= min_days,
            format!("{min_days}+ days left"),
            format!("{} days left (until {})", facts.days_left, facts.not_after),
        ));
        for name in &names {
            obs.findings.push(Finding::new(
                cert::name_matches(name, &facts.sans),
                format!("covers {name}"),
                format!("names: {}", facts.sans.join(", ")),
            ));
        }
        let mut key_matches = None;
        if let Some(key) = &self.key {
            let key_path = ctx.path(key)?;
            let matches = key_belongs(&key_path, &chain[0])?;
            obs.findings.push(Finding::new(
                matches,
                "the private key belongs to the certificate",
                if matches {
                    "it does"
                } else {
                    "the key's public key is not the certificate's"
                },
            ));
            key_matches = Some(matches);
        }
        let mut trusted = None;
        let ca_file = ctx.optional_path(self.ca_file.as_ref())?;
        // Anchors that cannot be read (a CA file, or a host without a CA bundle) are
        // could-not-check, not "untrusted" (`trust` says so); a check that does not judge
        // the chain needs none.
        if self.trusted {
            let target = Target {
                host: first_name.clone(),
                port: 443,
                sni: None,
                address: None,
                ca_file,
                timeout: Duration::from_secs(5),
            };
            let (ok, why) = trust::trust(&target, &chain, &facts)?;
            obs.findings.push(Finding::new(
                ok,
                "chains to a trusted CA",
                why.unwrap_or_else(|| "it does".into()),
            ));
            trusted = Some(ok);
        }
        obs.value = json!({
            "path": shown,
            "subject": facts.subject,
            "issuer": facts.issuer,
            "sans": facts.sans,
            "not_after": facts.not_after,
            "days_left": facts.days_left,
            "chain_length": chain.len(),
            "key_type": facts.key_type,
            "key_bits": facts.key_bits,
            "key_matches": key_matches,
            "trusted": trusted,
        });
        Ok(obs)
    }
}

/// Whether the PEM private key at `path` is the key of `leaf` (DER): its public key, as
/// rustls' key provider derives it, equals the certificate's SubjectPublicKeyInfo.
fn key_belongs(path: &Path, leaf: &[u8]) -> Result<bool, String> {
    let pem = crate::read_bounded(path, 1 << 20).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|_| format!("{} holds no PEM private key", path.display()))?;
    let signing = shipcheck_net::provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("{}: cannot load the private key: {e}", path.display()))?;
    let public = signing.public_key().ok_or_else(|| {
        format!(
            "{}: cannot derive the public key of this kind of key",
            path.display()
        )
    })?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("cannot parse the certificate: {e}"))?;
    Ok(public.as_ref() == cert.public_key().raw)
}
