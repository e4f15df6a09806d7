//! Trust anchors: a CA file's certificates, or the system's, read once per process (again
//! after [`SYSTEM_ROOTS_TTL`], for a long-running server) and only when a certificate is
//! to be verified.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How long the system's anchors, once read, are used before being read again.
pub const SYSTEM_ROOTS_TTL: Duration = Duration::from_secs(600);

/// Trust anchors: the PEM certificates of `ca_file`, else the system's roots.
pub fn roots(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, String> {
    use rustls::pki_types::pem::PemObject;
    let Some(path) = ca_file else {
        return system_roots();
    };
    let mut store = RootCertStore::empty();
    let bytes =
        shipcheck_core::bounded::read_bounded(path, shipcheck_core::bounded::MAX_FILE_BYTES)?;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert =
            cert.map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
        store
            .add(cert)
            .map_err(|e| format!("{}: unusable CA certificate: {e}", path.display()))?;
    }
    if store.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(Arc::new(store))
}

/// The system's anchors (rustls-native-certs: `SSL_CERT_FILE`, `SSL_CERT_DIR`, else the
/// distribution's bundle). Reading them parses every certificate of the bundle (tens of
/// milliseconds), so one read serves every client and check of the process; callers that
/// arrive while it runs wait for it.
fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static READ: Mutex<Option<(Instant, Arc<RootCertStore>)>> = Mutex::new(None);
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, store)) = read.as_ref()
        && at.elapsed() < SYSTEM_ROOTS_TTL
    {
        return Ok(Arc::clone(store));
    }
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(
            "no system trust anchors found (install ca-certificates, or give a CA file)".into(),
        );
    }
    let store = Arc::new(store);
    *read = Some((Instant::now(), Arc::clone(&store)));
    Ok(store)
}

/// Verifies server certificates against the system's anchors, read when the first
/// certificate is verified rather than when the client is built.
#[derive(Debug)]
pub struct SystemVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl SystemVerifier {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        SystemVerifier {
            provider,
            inner: OnceLock::new(),
        }
    }

    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.inner
            .get_or_init(|| {
                let roots = system_roots()?;
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&self.provider))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for SystemVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_holds_no_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let e = roots(Some(&f)).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
    }
}
