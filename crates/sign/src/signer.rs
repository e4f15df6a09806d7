//! The key a person signs with (`--sign-with PATH`): an OpenSSH private key file, or a
//! public key file whose private half is in ssh-agent (`$SSH_AUTH_SOCK`).

use std::path::{Path, PathBuf};

use ssh_key::public::KeyData;
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// The agent's socket.
pub const AGENT_ENV: &str = "SSH_AUTH_SOCK";

/// A key that can sign.
pub enum Signer {
    File(Box<PrivateKey>),
    Agent { socket: PathBuf, key: PublicKey },
}

/// Why a key cannot sign; never shows the key file's content.
#[derive(Debug, thiserror::Error)]
#[error("--sign-with {path}: {message}")]
pub struct SignerError {
    pub path: String,
    pub message: String,
}

impl Signer {
    /// The signer named by `path`: a private key file signs itself; a public key (`.pub`)
    /// signs through ssh-agent.
    pub fn from_path(path: &Path) -> Result<Signer, SignerError> {
        let bad = |message: String| SignerError {
            path: path.display().to_string(),
            message,
        };
        let bytes = shipcheck_core::bounded::read_bounded(path, 64 << 10)
            .map_err(|e| bad(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("PRIVATE KEY-----") {
            if !text.contains("BEGIN OPENSSH PRIVATE KEY") {
                return Err(bad(
                    "a PEM private key; give an OpenSSH key (`ssh-keygen -p -f KEY` converts it)"
                        .into(),
                ));
            }
            let key = PrivateKey::from_openssh(text.as_bytes())
                .map_err(|e| bad(format!("not a readable OpenSSH private key: {e}")))?;
            if key.is_encrypted() {
                return Err(bad(format!(
                    "the key is protected by a passphrase: add it to ssh-agent (`ssh-add {}`) and give its public key (`--sign-with {}.pub`)",
                    path.display(),
                    path.display()
                )));
            }
            if let ssh_key::Algorithm::Rsa { .. } = key.algorithm() {
                // ssh-key 0.6.7 builds the RSA private key from the wrong primes, and the
                // rsa crate's private-key operations are not constant-time (RUSTSEC-2023-0071):
                // RSA keys sign through ssh-agent, which OpenSSH implements.
                return Err(bad(format!(
                    "an RSA key signs through ssh-agent: `ssh-add {}`, then --sign-with {}.pub",
                    path.display(),
                    path.display()
                )));
            }
            return Ok(Signer::File(Box::new(key)));
        }
        let key = PublicKey::from_openssh(text.trim()).map_err(|e| {
            bad(format!(
                "neither an OpenSSH private key nor a public key: {e}"
            ))
        })?;
        let socket = std::env::var_os(AGENT_ENV)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "a public key, to sign with through ssh-agent, and {AGENT_ENV} is not set"
                ))
            })?;
        Ok(Signer::Agent {
            socket: socket.into(),
            key,
        })
    }

    /// The signing key's public half.
    pub fn public_key(&self) -> &KeyData {
        match self {
            Signer::File(k) => k.public_key().key_data(),
            Signer::Agent { key, .. } => key.key_data(),
        }
    }

    /// A plain signature of `data` (no SSHSIG wrapping), as the key's algorithm makes it:
    /// what a DSSE envelope carries.
    pub fn sign_raw(&self, data: &[u8]) -> Result<ssh_key::Signature, String> {
        match self {
            Signer::File(key) => signature::Signer::try_sign(key.as_ref(), data)
                .map_err(|e| format!("cannot sign: {e}")),
            Signer::Agent { socket, key } => crate::agent::sign(socket, key.key_data(), data),
        }
    }

    /// An armored SSH signature of `message` in `namespace` (SHA-512; RSA keys sign with
    /// rsa-sha2-512).
    pub fn sign(&self, namespace: &str, message: &[u8]) -> Result<String, String> {
        let sig = match self {
            Signer::File(key) => key
                .sign(namespace, HashAlg::Sha512, message)
                .map_err(|e| format!("cannot sign: {e}"))?,
            Signer::Agent { socket, key } => {
                let data = SshSig::signed_data(namespace, HashAlg::Sha512, message)
                    .map_err(|e| e.to_string())?;
                let signature = crate::agent::sign(socket, key.key_data(), &data)?;
                SshSig::new(
                    key.key_data().clone(),
                    namespace,
                    HashAlg::Sha512,
                    signature,
                )
                .map_err(|e| e.to_string())?
            }
        };
        // What the agent (or the key) made must verify before it is recorded.
        crate::allowed_signers::check(&sig, namespace, message)
            .map_err(|e| format!("the signature made does not verify: {e}"))?;
        sig.to_pem(LineEnding::LF).map_err(|e| e.to_string())
    }
}
