//! What a server accepts beyond versions and legacy suites, asked with hand-built hellos
//! (no key exchange is ever completed): its TLS 1.3 suites and its groups (by elimination:
//! offer all, remove what it picks, ask again), whether it imposes its own suite order, and
//! the size of its finite-field DH prime. Each question is one connection.

use std::net::SocketAddr;
use std::time::Duration;

use super::hello::{self, Answer, Offer, Version};

/// Where and how to ask.
#[derive(Clone, Copy)]
pub struct Asker<'a> {
    pub addr: SocketAddr,
    pub sni: Option<&'a str>,
    pub timeout: Duration,
}

impl Asker<'_> {
    fn ask(&self, offer: Offer) -> Result<(Answer, hello::Opened), String> {
        hello::open(self.addr, &offer.hello(), self.timeout)
    }

    /// The TLS 1.3 suites accepted, in the server's order of preference. The server answers
    /// an empty `key_share` with a HelloRetryRequest that names its suite.
    pub fn tls13_suites(&self) -> Result<Vec<u16>, String> {
        let mut offer: Vec<u16> = hello::SUITES13.iter().map(|s| s.id).collect();
        let mut found = Vec::new();
        while !offer.is_empty() {
            match self.ask(Offer::new(Version::Tls13, &offer, self.sni))?.0 {
                Answer::Accepted { version, suite, .. }
                    if version == [3, 4] && offer.contains(&suite) =>
                {
                    found.push(suite);
                    offer.retain(|s| *s != suite);
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// The groups accepted at `version`. TLS 1.3 names the group in its HelloRetryRequest;
    /// at TLS ≤ 1.2 the ServerKeyExchange of an ECDHE suite names the curve.
    pub fn groups(&self, version: Version) -> Result<Vec<u16>, String> {
        let suites: Vec<u16> = if version == Version::Tls13 {
            hello::SUITES13.iter().map(|s| s.id).collect()
        } else {
            hello::SUITES
                .iter()
                .filter(|s| s.name.starts_with("ECDHE-") || s.name.starts_with("AECDH-"))
                .map(|s| s.id)
                .collect()
        };
        let mut offer: Vec<u16> = hello::GROUPS.iter().map(|g| g.id).collect();
        let mut found = Vec::new();
        while !offer.is_empty() {
            let o = Offer {
                groups: Some(&offer),
                ..Offer::new(version, &suites, self.sni)
            };
            let picked = match self.ask(o)? {
                (Answer::Accepted { group, .. }, _) if version == Version::Tls13 => group,
                // A flight cut short is an error, never the end of the list.
                (Answer::Accepted { .. }, mut conn) => named_curve(&conn.flight()?),
                (Answer::Refused(_), _) => None,
            };
            match picked {
                Some(g) if offer.contains(&g) => {
                    found.push(g);
                    offer.retain(|x| *x != g);
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// Whether the server picks by its own preference (`Some(true)`), by the client's
    /// (`Some(false)`), or cannot be told (`None`: it accepts one suite of those offered).
    /// Asked at `version` with every known suite, in one order and then reversed.
    pub fn server_order(&self, version: Version) -> Result<Option<bool>, String> {
        let mut ids: Vec<u16> = hello::SUITES.iter().map(|s| s.id).collect();
        let first = self.picked(version, &ids)?;
        ids.reverse();
        let second = self.picked(version, &ids)?;
        match (first, second) {
            (Some(a), Some(b)) if a == b => {
                // The same pick either way: server order, unless it accepts only that one.
                let rest: Vec<u16> = ids.iter().copied().filter(|s| *s != a).collect();
                Ok(self.picked(version, &rest)?.map(|_| true))
            }
            (Some(_), Some(_)) => Ok(Some(false)),
            _ => Ok(None),
        }
    }

    fn picked(&self, version: Version, suites: &[u16]) -> Result<Option<u16>, String> {
        Ok(match self.ask(Offer::new(version, suites, self.sni))?.0 {
            Answer::Accepted {
                version: v, suite, ..
            } if v == version.wire() => Some(suite),
            _ => None,
        })
    }

    /// The bit length of the prime of the server's finite-field DHE key exchange at
    /// `version`, or `None` when it takes no DHE suite.
    pub fn dh_bits(&self, version: Version) -> Result<Option<usize>, String> {
        let suites: Vec<u16> = hello::SUITES
            .iter()
            .filter(|s| {
                s.name.starts_with("DHE-")
                    || s.name.starts_with("EDH-")
                    || s.name.starts_with("ADH-")
                    || s.name.starts_with("EXP-EDH-")
            })
            .map(|s| s.id)
            .collect();
        // Offer no finite-field group, so a server that knows RFC 7919 does not refuse.
        let groups = [0x001D, 0x0017];
        let o = Offer {
            groups: Some(&groups),
            ..Offer::new(version, &suites, self.sni)
        };
        match self.ask(o)? {
            (Answer::Accepted { suite, .. }, mut conn) if suites.contains(&suite) => {
                let messages = conn.flight()?;
                Ok(dh_prime_bits(&messages))
            }
            _ => Ok(None),
        }
    }
}

/// The named curve of an ECDHE ServerKeyExchange (curve_type 3, then the group).
pub(crate) fn named_curve(messages: &[(u8, Vec<u8>)]) -> Option<u16> {
    let (_, ske) = messages.iter().find(|(t, _)| *t == 12)?;
    match ske.as_slice() {
        [3, a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// The bit length of `dh_p` in a DHE ServerKeyExchange (its first field).
pub(crate) fn dh_prime_bits(messages: &[(u8, Vec<u8>)]) -> Option<usize> {
    let (_, ske) = messages.iter().find(|(t, _)| *t == 12)?;
    let len = u16::from_be_bytes([*ske.first()?, *ske.get(1)?]) as usize;
    let p = ske.get(2..2 + len)?;
    let lead = p.iter().position(|b| *b != 0)?;
    Some((p.len() - lead - 1) * 8 + (8 - p[lead].leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_key_exchange_fields() {
        let ecdhe = vec![(2u8, vec![]), (12u8, vec![3, 0x00, 0x1D, 32])];
        assert_eq!(named_curve(&ecdhe), Some(0x001D));
        assert_eq!(named_curve(&[(12u8, vec![1, 2])]), None);
        let mut dhe = vec![0x00, 0x81, 0x00, 0x80];
        dhe.extend_from_slice(&[0u8; 127]);
        assert_eq!(dh_prime_bits(&[(12u8, dhe)]), Some(1024));
        assert_eq!(dh_prime_bits(&[(12u8, vec![0, 4, 0, 0])]), None);
        assert_eq!(dh_prime_bits(&[]), None);
    }
}
