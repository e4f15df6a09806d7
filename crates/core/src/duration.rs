//! Human durations in pack and profile files (`30s`, `26h`, `90d`, `1w`), kept as a
//! plain string in YAML and JSON so files stay readable.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time written as a number and a unit: `ms`, `s`, `m`, `h`, `d` or `w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    /// Parses `90d`, `26h`, `1h30m`; a bare number is seconds.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty duration".into());
        }
        if let Ok(secs) = text.parse::<u64>() {
            return Ok(Span(Duration::from_secs(secs)));
        }
        let mut total: u128 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "`{text}` is not a duration such as 30s, 15m, 26h, 90d or 1w"
                ));
            }
            let n: u128 = rest[..digits]
                .parse()
                .map_err(|_| format!("`{text}`: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let millis: u128 = match &rest[..unit_len] {
                "ms" => 1,
                "s" | "sec" => 1_000,
                "m" | "min" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                other => {
                    return Err(format!(
                        "`{text}`: unknown unit `{other}` (use ms, s, m, h, d or w)"
                    ));
                }
            };
            rest = &rest[unit_len..];
            total = total.saturating_add(n.saturating_mul(millis));
        }
        let millis = u64::try_from(total).map_err(|_| format!("`{text}`: too long"))?;
        Ok(Span(Duration::from_millis(millis)))
    }
}

/// The instant `span` after `from`; a span too long for the clock (a pack's
/// `timeout: 18446744073709551615`, in seconds) is a year, which means none.
pub fn deadline(from: std::time::Instant, span: Duration) -> std::time::Instant {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    from.checked_add(span).unwrap_or_else(|| from + YEAR)
}

impl Span {
    /// A rough human age such as `3h` or `2d`, for evidence.
    pub fn approx(&self) -> String {
        let s = self.0.as_secs();
        match s {
            0..60 => format!("{s}s old"),
            60..3600 => format!("{}m old", s / 60),
            3600..172_800 => format!("{}h old", s / 3600),
            _ => format!("{}d old", s / 86_400),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Span(Duration::from_secs(s))),
            Raw::Text(t) => Span::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for Span {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: a number and a unit (ms, s, m, h, d, w), e.g. 30s, 26h, 90d; a bare number is seconds.",
            "anyOf": [
                {"type": "string", "pattern": "^([0-9]+(ms|s|sec|m|min|h|d|w))+$"},
                {"type": "integer", "minimum": 0}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_past_the_clock_is_a_year_away() {
        let now = std::time::Instant::now();
        assert_eq!(
            deadline(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let far = deadline(now, Duration::from_secs(u64::MAX));
        assert!(far > now + Duration::from_secs(300 * 24 * 3600));
    }

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(
            Span::parse("90d").unwrap().0,
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(Span::parse("1h30m").unwrap().0, Duration::from_secs(5_400));
        assert_eq!(Span::parse("45").unwrap().0, Duration::from_secs(45));
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert!(Span::parse("10 years").is_err());
        assert!(Span::parse("h").is_err());
        assert_eq!(Span::parse("26h").unwrap().to_string(), "26h");
    }
}
