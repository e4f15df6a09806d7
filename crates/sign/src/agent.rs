//! A signature from ssh-agent, for keys whose private half stays in the agent (a
//! passphrase-protected key after `ssh-add`, a hardware token, a forwarded agent).
//!
//! Hand-written: the request is one message of the agent protocol
//! (draft-miller-ssh-agent, SSH_AGENTC_SIGN_REQUEST), and the maintained agent crates pull
//! in an async runtime or another `ssh-key` generation.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ssh_key::Signature;
use ssh_key::public::KeyData;

const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
const FAILURE: u8 = 5;
/// Ask for `rsa-sha2-512` signatures from RSA keys (never SHA-1).
const RSA_SHA2_512: u32 = 4;
/// Largest answer read: a signature is under 1 KB.
const MAX_ANSWER: u32 = 64 << 10;
/// How long the agent may take: it may ask its user to confirm (`ssh-add -c`).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Asks the agent at `socket` to sign `data` with `key`.
pub fn sign(socket: &Path, key: &KeyData, data: &[u8]) -> Result<Signature, String> {
    let blob = ssh_key::PublicKey::from(key.clone())
        .to_bytes()
        .map_err(|e| e.to_string())?;
    let flags = match key {
        KeyData::Rsa(_) => RSA_SHA2_512,
        _ => 0,
    };
    let mut body = vec![SIGN_REQUEST];
    put_string(&mut body, &blob);
    put_string(&mut body, data);
    body.extend_from_slice(&flags.to_be_bytes());
    let mut request = Vec::with_capacity(body.len() + 4);
    put_string(&mut request, &body);

    let shown = socket.display();
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot reach ssh-agent at {shown}: {e}"))?;
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    stream
        .write_all(&request)
        .map_err(|e| format!("ssh-agent at {shown}: {e}"))?;
    let mut len = [0u8; 4];
    stream
        .read_exact(&mut len)
        .map_err(|e| format!("ssh-agent at {shown} did not answer: {e}"))?;
    let len = u32::from_be_bytes(len);
    if len == 0 || len > MAX_ANSWER {
        return Err(format!("ssh-agent at {shown} sent a malformed answer"));
    }
    let mut answer = vec![0u8; len as usize];
    stream
        .read_exact(&mut answer)
        .map_err(|e| format!("ssh-agent at {shown} did not answer in full: {e}"))?;
    match answer[0] {
        SIGN_RESPONSE => {
            let mut rest = &answer[1..];
            let sig = take_string(&mut rest)
                .ok_or_else(|| format!("ssh-agent at {shown} sent a malformed signature"))?;
            Signature::try_from(sig)
                .map_err(|e| format!("ssh-agent at {shown} sent an unreadable signature: {e}"))
        }
        FAILURE => Err(format!(
            "ssh-agent at {shown} refused to sign: it does not hold this key (`ssh-add` it) or its user declined"
        )),
        other => Err(format!(
            "ssh-agent at {shown} answered with message type {other}, not a signature"
        )),
    }
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn take_string<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    let (s, rest) = (rest.get(..len)?, rest.get(len..)?);
    *input = rest;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_length_prefixed_and_bounded() {
        let mut out = Vec::new();
        put_string(&mut out, b"abc");
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
        let mut input: &[u8] = &out;
        assert_eq!(take_string(&mut input), Some(&b"abc"[..]));
        assert!(input.is_empty());
        let mut short: &[u8] = &[0, 0, 0, 9, 1];
        assert_eq!(take_string(&mut short), None);
        let mut none: &[u8] = &[0, 0];
        assert_eq!(take_string(&mut none), None);
    }
}
