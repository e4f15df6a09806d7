//! TLS client plumbing shared by the probes and the PostgreSQL ledger: ring as rustls'
//! provider, trust anchors, client configurations (verifying, or capturing whatever chain
//! the server presents), and tokio-postgres over rustls ([`pg`]).

pub mod pg;
mod trust;

pub use trust::{SystemVerifier, roots};

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Installs ring as rustls' process-wide crypto provider (reqwest needs one). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Records the chain a server presents, accepting it whatever it is: trust is judged
/// separately, after the handshake.
#[derive(Debug)]
pub struct Capture {
    pub chain: Mutex<Vec<Vec<u8>>>,
    /// The OCSP response the server stapled (empty: none).
    pub ocsp: Mutex<Vec<u8>>,
    pub provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.to_vec()];
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
        *self.chain.lock().unwrap_or_else(|p| p.into_inner()) = chain;
        *self.ocsp.lock().unwrap_or_else(|p| p.into_inner()) = ocsp_response.to_vec();
        Ok(ServerCertVerified::assertion())
    }

    // Handshake signatures are not checked: this connection only observes what the server
    // presents (no secret is sent over it), and checking would make keys the crypto library
    // refuses (RSA < 2048) unobservable.
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self
            .provider
            .signature_verification_algorithms
            .supported_schemes();
        schemes.extend([
            SignatureScheme::RSA_PKCS1_SHA1,
            SignatureScheme::ECDSA_SHA1_Legacy,
        ]);
        schemes
    }
}

/// A rustls client configuration for HTTP probes: trust from `ca_file` or the system, or
/// no verification at all when `insecure` (to test HTTP behaviour behind a bad certificate).
pub fn client_config(
    ca_file: Option<&Path>,
    insecure: bool,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Capture {
                chain: Mutex::new(Vec::new()),
                ocsp: Mutex::new(Vec::new()),
                provider: provider(),
            }))
            .with_no_client_auth()
    } else if let Some(ca_file) = ca_file {
        builder
            .with_root_certificates(roots(Some(ca_file))?)
            .with_no_client_auth()
    } else {
        // The system's anchors are read at the first certificate to verify: a client that
        // only ever speaks plain HTTP never reads them.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SystemVerifier::new(provider())))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
