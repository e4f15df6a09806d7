//! Rate limits: one token bucket per client address and class of request (sign-in, API,
//! pages). Hand-written: `governor` brings its own clock, hashing and dashmap for what is
//! here a map under one mutex, refilled lazily, with a bounded number of entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// The most clients remembered; beyond it the idlest half is forgotten.
const MAX_CLIENTS: usize = 10_000;

/// How many requests a client may make at once, and how fast it earns more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_second: f64,
}

impl Rate {
    /// Reads `BURST/SECONDS`, e.g. `30/10s` (30 at once, 3 a second after).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("`{text}` is not a rate: write BURST/PERIOD, e.g. 30/10s or 5/1m");
        let (burst, period) = text.split_once('/').ok_or_else(bad)?;
        let burst: u32 = burst.trim().parse().map_err(|_| bad())?;
        let period = shipcheck_core::duration::Span::parse(period.trim()).map_err(|_| bad())?;
        let secs = period.0.as_secs_f64();
        if burst == 0 || secs <= 0.0 {
            return Err(bad());
        }
        Ok(Rate {
            burst,
            per_second: f64::from(burst) / secs,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    SignIn,
    Api,
    Page,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets.
pub struct Limiter {
    rates: HashMap<Class, Rate>,
    buckets: Mutex<HashMap<(IpAddr, Class), Bucket>>,
}

impl Limiter {
    pub fn new(api: Rate, sign_in: Rate) -> Limiter {
        let rates = HashMap::from([
            (Class::Api, api),
            (Class::Page, api),
            (Class::SignIn, sign_in),
        ]);
        Limiter {
            rates,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `ip`'s bucket of `class`: false when it is empty.
    pub fn allow(&self, ip: IpAddr, class: Class, now: Instant) -> bool {
        let Some(rate) = self.rates.get(&class).copied() else {
            return true;
        };
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&(ip, class)) {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cut);
        }
        let bucket = buckets.entry((ip, class)).or_insert(Bucket {
            tokens: f64::from(rate.burst),
            at: now,
        });
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64() * rate.per_second;
        bucket.tokens = (bucket.tokens + earned).min(f64::from(rate.burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_cut_then_refilled() {
        let rate = Rate::parse("3/3s").unwrap();
        let l = Limiter::new(rate, rate);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.allow(ip, Class::Api, t0)));
        assert!(!l.allow(ip, Class::Api, t0));
        // Another client, and another class, have their own buckets.
        assert!(l.allow("127.0.0.2".parse().unwrap(), Class::Api, t0));
        assert!(l.allow(ip, Class::SignIn, t0));
        assert!(l.allow(ip, Class::Api, t0 + Duration::from_millis(1100)));
        assert!(!l.allow(ip, Class::Api, t0 + Duration::from_millis(1100)));
    }

    #[test]
    fn rates_are_read_with_their_errors() {
        assert_eq!(Rate::parse("60/1m").unwrap().per_second, 1.0);
        for bad in ["", "0/1s", "10", "x/1s", "10/soon"] {
            let e = Rate::parse(bad).unwrap_err();
            assert!(e.contains("BURST/PERIOD"), "{e}");
        }
    }
}
