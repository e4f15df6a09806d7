//! The scheduler's clock: the wall clock, or, for tests only, a faster one so that a week
//! of phases runs in seconds.
//!
//! `SHIPCHECK_TEST_CLOCK=ORIGIN_MS:SCALE` (test only; never set it in production) makes
//! the time `ORIGIN_MS + (wall − ORIGIN_MS) × SCALE`: it is read from the wall clock, so
//! several processes given the same value share one time.

use std::time::Duration;

/// The variable of the test clock.
pub const TEST_CLOCK_ENV: &str = "SHIPCHECK_TEST_CLOCK";

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    origin_ms: i64,
    scale: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            origin_ms: 0,
            scale: 1.0,
        }
    }
}

impl Clock {
    /// The test clock of `$SHIPCHECK_TEST_CLOCK`, else the wall clock.
    pub fn from_env() -> Result<Clock, String> {
        match std::env::var(TEST_CLOCK_ENV) {
            Err(_) => Ok(Clock::default()),
            Ok(text) => Clock::parse(&text),
        }
    }

    /// `ORIGIN_MS:SCALE`.
    pub fn parse(text: &str) -> Result<Clock, String> {
        let bad =
            || format!("{TEST_CLOCK_ENV}=`{text}`: write ORIGIN_MS:SCALE, e.g. 1796000000000:3600");
        let (origin, scale) = text.split_once(':').ok_or_else(bad)?;
        let origin_ms: i64 = origin.trim().parse().map_err(|_| bad())?;
        let scale: f64 = scale.trim().parse().map_err(|_| bad())?;
        if !(1.0..=1e7).contains(&scale) {
            return Err(bad());
        }
        Ok(Clock { origin_ms, scale })
    }

    /// How many times faster than the wall clock.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let wall = jiff::Timestamp::now().as_millisecond();
        if self.scale == 1.0 {
            return wall;
        }
        self.origin_ms + ((wall - self.origin_ms) as f64 * self.scale) as i64
    }

    pub fn now(&self) -> jiff::Timestamp {
        to_timestamp(self.now_ms())
    }

    /// A span of wall-clock time in this clock's milliseconds.
    pub fn of_wall(&self, d: Duration) -> i64 {
        (d.as_millis() as f64 * self.scale) as i64
    }
}

/// Unix milliseconds as a timestamp (clamped to jiff's range).
pub fn to_timestamp(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_runs_faster_from_its_origin() {
        let origin = jiff::Timestamp::now().as_millisecond() - 1000;
        let c = Clock::parse(&format!("{origin}:3600")).unwrap();
        let ahead = c.now_ms() - origin;
        assert!(ahead >= 3_600_000, "{ahead}");
        assert_eq!(c.of_wall(Duration::from_millis(10)), 36_000);
        assert!(Clock::parse("soon").is_err());
        assert!(Clock::parse("1:0.5").is_err(), "never slower than the wall");
        let wall = Clock::default();
        assert!((wall.now_ms() - jiff::Timestamp::now().as_millisecond()).abs() < 1000);
    }
}
