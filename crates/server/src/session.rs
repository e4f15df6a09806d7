//! Browser sessions: sign-in with a token gives a random session id in an HttpOnly,
//! SameSite=Strict cookie (Secure under TLS), and a CSRF token that every form posts back.
//! Sessions live in the process's memory: a restart, or another replica, signs people out
//! (ARCHITECTURE.md says how to run replicas).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lasts without being renewed.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The most sessions kept at once; the oldest go first.
const MAX_SESSIONS: usize = 10_000;
pub const COOKIE: &str = "shipcheck_session";

/// One signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the token it signed in with: revoking the token ends the session.
    pub token_sha256: String,
    pub csrf: String,
    pub expires: Instant,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// Overrides [`SESSION_TTL`] (tests of expiry).
    pub ttl: Option<Duration>,
}

/// 32 random bytes from the operating system, hex.
pub fn random_hex() -> Result<String, crate::error::ApiError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            crate::error::ApiError::Internal("the system's random generator failed".into())
        })?;
    Ok(shipcheck_core::hex::hex(&bytes))
}

impl Sessions {
    /// Sessions that last `ttl`.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl: Some(ttl),
            ..Sessions::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Starts a session for the token with this digest: (session id, its CSRF token).
    pub fn start(
        &self,
        token_sha256: String,
        now: Instant,
    ) -> Result<(String, String), crate::error::ApiError> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                token_sha256,
                csrf: csrf.clone(),
                expires: now + self.ttl.unwrap_or(SESSION_TTL),
            },
        );
        Ok((id, csrf))
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.lock();
        match map.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// Compares two secrets of equal length in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions {
            ttl: Some(Duration::from_secs(10)),
            ..Sessions::default()
        };
        let t0 = Instant::now();
        let (id, csrf) = s.start("digest".into(), t0).unwrap();
        assert_ne!(id, csrf);
        assert_eq!(id.len(), 64);
        assert!(s.get(&id, t0 + Duration::from_secs(9)).is_some());
        assert!(s.get(&id, t0 + Duration::from_secs(11)).is_none());
        let (id, _) = s.start("digest".into(), t0).unwrap();
        s.end(&id);
        assert!(s.get(&id, t0).is_none());
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
