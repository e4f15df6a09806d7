//! The hash chain: each record's hash covers its sequence number, kind, time, body and the
//! previous record's hash; the head (last seq and hash) is authenticated with an HMAC key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hash of one record (lower-case hex SHA-256).
pub fn link(seq: i64, kind: &str, created_at: &str, prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [seq.to_string().as_str(), kind, created_at, prev_hash, body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    shipcheck_core::hex::hex(&h.finalize())
}

/// HMAC-SHA256 of the chain head under `key` (hex).
pub fn head_mac(key: &[u8], seq: i64, hash: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("shipcheck-ledger-head\n{seq}\n{hash}").as_bytes());
    shipcheck_core::hex::hex(&mac.finalize().into_bytes())
}

/// Constant-time comparison of two hex MACs.
pub fn mac_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// SHA-256 of bytes (hex), for evidence files stored by content.
pub fn digest(bytes: &[u8]) -> String {
    shipcheck_core::hex::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_depend_on_every_field() {
        let base = link(1, "run", "t", GENESIS, "{}");
        assert_ne!(base, link(2, "run", "t", GENESIS, "{}"));
        assert_ne!(base, link(1, "waiver", "t", GENESIS, "{}"));
        assert_ne!(base, link(1, "run", "u", GENESIS, "{}"));
        assert_ne!(base, link(1, "run", "t", GENESIS, "{ }"));
        // Length prefixes: moving a byte between fields changes the hash.
        assert_ne!(
            link(1, "ab", "c", GENESIS, ""),
            link(1, "a", "bc", GENESIS, "")
        );
        let mac = head_mac(b"key", 3, &base);
        assert!(mac_eq(&mac, &head_mac(b"key", 3, &base)));
        assert!(!mac_eq(&mac, &head_mac(b"other", 3, &base)));
    }
}
