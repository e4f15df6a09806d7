//! `disk` probe spec: what a pack writes under `check: { disk: ... }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::text::Text;

/// Free space where a path lives.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskProbe {
    /// Any path on the file system to measure; `${var}` and `~/` expand.
    #[schemars(with = "String")]
    pub path: Text,
    /// Minimum free space available to unprivileged users, e.g. `10GiB`, `500MB`.
    #[serde(default)]
    pub min_free: Option<Size>,
    /// Minimum free share of the file system, in percent.
    #[serde(default)]
    pub min_free_percent: Option<f64>,
}

/// A size in bytes, written as a number or with a unit (`KB`, `MiB`, `GB`, `GiB`, `TB`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Size(n)),
            Raw::S(s) => parse_size(&s).map(Size).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes, as a number or with a unit: 10GiB, 500MB, 64KiB.",
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9.]+ ?([KMGT]i?B|B)?$"}]
        })
    }
}

/// Parses `10GiB`, `1.5 GB`, `4096`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 10GiB or 500MB"))?;
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}

/// Bytes in a short human form (`12.3 GiB`).
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

impl super::Spec for DiskProbe {
    fn templates(&self) -> Vec<&Text> {
        vec![&self.path]
    }
}
