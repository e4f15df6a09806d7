//! Matchers judge a probe's observed value: equality, sets, numbers, containment, regex,
//! presence, length, a jq boolean, and secret strength ([`secret`]).

pub mod secret;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::observation::Finding;
use crate::text::Text;

/// One expectation over a value. Written as a one-key map: `- equals: "local"`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Matcher {
    /// The value equals this (strings, numbers, booleans, lists, maps).
    Equals(Value),
    NotEquals(Value),
    /// The value is one of these.
    OneOf(Vec<Value>),
    NotOneOf(Vec<Value>),
    /// Numeric comparisons; a numeric string counts as a number.
    Lt(f64),
    Lte(f64),
    Gt(f64),
    Gte(f64),
    /// A list holds this element, a string this substring, a map this key.
    Contains(Value),
    NotContains(Value),
    /// The value (as text) matches this regex.
    Matches(#[schemars(with = "String")] Text),
    NotMatches(#[schemars(with = "String")] Text),
    /// `true`: the value is present (not null); `false`: it is absent.
    Exists(bool),
    /// Length of a string (characters), list or map.
    Length(LengthSpec),
    /// A jq expression over the value that must yield `true`.
    Jq(#[schemars(with = "String")] Text),
    /// Secret strength: length, placeholders, entropy, format, reuse.
    Secret(secret::SecretSpec),
}

/// Bounds on a length.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LengthSpec {
    #[serde(default)]
    pub min: Option<usize>,
    #[serde(default)]
    pub max: Option<usize>,
    #[serde(default)]
    pub equals: Option<usize>,
}

/// The result of one matcher: findings, or an error when it could not judge.
pub type Judgement = Result<Vec<Finding>, String>;

impl Matcher {
    /// The regex or jq text inside, for load-time validation.
    pub fn validate(&self) -> Option<(String, &Text)> {
        match self {
            Matcher::Matches(t) | Matcher::NotMatches(t) => {
                crate::pattern::compile(&t.value).err().map(|e| {
                    (
                        format!("invalid regex: {}", crate::diag::one_line(&e.to_string())),
                        t,
                    )
                })
            }
            Matcher::Jq(t) => crate::jq::check(&t.value)
                .err()
                .map(|e| (format!("invalid jq expression `{}`: {e}", t.value), t)),
            _ => None,
        }
    }

    /// Judges `value`. `secret` means the value must never be shown: findings then
    /// describe it by length only.
    pub fn judge(&self, value: &Value, secret: bool) -> Judgement {
        let shown = || show(value, secret);
        let one = |ok: bool, expected: String| Ok(vec![Finding::new(ok, expected, shown())]);
        match self {
            Matcher::Equals(want) => one(
                loose_eq(value, want),
                format!("equals {}", show(want, secret)),
            ),
            Matcher::NotEquals(want) => one(
                !loose_eq(value, want),
                format!("not equal to {}", show(want, secret)),
            ),
            Matcher::OneOf(set) => one(
                set.iter().any(|w| loose_eq(value, w)),
                format!("one of {}", list(set, secret)),
            ),
            Matcher::NotOneOf(set) => one(
                !set.iter().any(|w| loose_eq(value, w)),
                format!("none of {}", list(set, secret)),
            ),
            Matcher::Lt(n) | Matcher::Lte(n) | Matcher::Gt(n) | Matcher::Gte(n) => {
                let (op, test): (&str, fn(f64, f64) -> bool) = match self {
                    Matcher::Lt(_) => ("<", |a, b| a < b),
                    Matcher::Lte(_) => ("≤", |a, b| a <= b),
                    Matcher::Gt(_) => (">", |a, b| a > b),
                    _ => ("≥", |a, b| a >= b),
                };
                match as_number(value) {
                    Some(x) => one(test(x, *n), format!("{op} {}", fmt_num(*n))),
                    None if value.is_null() => {
                        one(false, format!("{op} {} (a number)", fmt_num(*n)))
                    }
                    None => Err(format!(
                        "expected a number to compare with {op} {}, found {}",
                        fmt_num(*n),
                        shown()
                    )),
                }
            }
            Matcher::Contains(want) | Matcher::NotContains(want) => {
                let must = matches!(self, Matcher::Contains(_));
                let has = match value {
                    Value::Array(items) => items.iter().any(|i| loose_eq(i, want)),
                    Value::String(s) => want.as_str().is_some_and(|w| s.contains(w)),
                    Value::Object(map) => want.as_str().is_some_and(|w| map.contains_key(w)),
                    Value::Null => false,
                    _ => {
                        return Err(format!(
                            "`contains` needs a list, string or map, found {}",
                            shown()
                        ));
                    }
                };
                let verb = if must { "contains" } else { "does not contain" };
                one(has == must, format!("{verb} {}", show(want, secret)))
            }
            Matcher::Matches(re) | Matcher::NotMatches(re) => {
                let must = matches!(self, Matcher::Matches(_));
                let rx = crate::pattern::compile(&re.value)
                    .map_err(|e| format!("invalid regex: {e}"))?;
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => {
                        return one(
                            !must,
                            format!(
                                "{} /{}/",
                                if must { "matches" } else { "does not match" },
                                re.value
                            ),
                        );
                    }
                    other => other.to_string(),
                };
                let hit = rx.is_match(&text);
                one(
                    hit == must,
                    format!(
                        "{} /{}/",
                        if must { "matches" } else { "does not match" },
                        re.value
                    ),
                )
            }
            Matcher::Exists(want) => one(
                value.is_null() != *want,
                if *want {
                    "is set".into()
                } else {
                    "is not set".into()
                },
            ),
            Matcher::Length(spec) => {
                let len = match value {
                    Value::String(s) => s.chars().count(),
                    Value::Array(a) => a.len(),
                    Value::Object(m) => m.len(),
                    Value::Null => 0,
                    _ => {
                        return Err(format!(
                            "`length` needs a string, list or map, found {}",
                            shown()
                        ));
                    }
                };
                let mut expected = Vec::new();
                let mut ok = true;
                if let Some(min) = spec.min {
                    ok &= len >= min;
                    expected.push(format!("length ≥ {min}"));
                }
                if let Some(max) = spec.max {
                    ok &= len <= max;
                    expected.push(format!("length ≤ {max}"));
                }
                if let Some(eq) = spec.equals {
                    ok &= len == eq;
                    expected.push(format!("length = {eq}"));
                }
                Ok(vec![Finding::new(
                    ok,
                    expected.join(", "),
                    format!("length {len}"),
                )])
            }
            Matcher::Jq(code) => one(
                crate::jq::holds(&code.value, value)?,
                format!("jq `{}` is true", code.value),
            ),
            Matcher::Secret(spec) => Ok(spec.judge(value)),
        }
    }
}

/// Equality where `"8080"` equals `8080` and `1.0` equals `1`, as config files disagree.
fn loose_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) if a.is_number() || b.is_number() => x == y,
        _ => match (a, b) {
            (Value::String(s), Value::Bool(t)) | (Value::Bool(t), Value::String(s)) => {
                s == &t.to_string()
            }
            _ => false,
        },
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn list(set: &[Value], secret: bool) -> String {
    let items: Vec<String> = set.iter().map(|v| show(v, secret)).collect();
    format!("[{}]", items.join(", "))
}

/// A value as evidence: compact JSON cut at 200 characters, or a mask for secrets.
pub fn show(value: &Value, secret: bool) -> String {
    if secret {
        return crate::redact::mask_value(value);
    }
    let text = match value {
        Value::Null => "(not set)".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(yaml: &str) -> Matcher {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn ok(m: &Matcher, v: Value) -> bool {
        m.judge(&v, false).unwrap().iter().all(|f| f.ok)
    }

    #[test]
    fn basic_matchers() {
        assert!(ok(&parse("equals: local"), json!("local")));
        assert!(ok(&parse("equals: 8080"), json!("8080")));
        assert!(!ok(&parse("equals: local"), json!("remote")));
        assert!(ok(&parse("one_of: [a, b]"), json!("b")));
        assert!(!ok(&parse("not_one_of: [a, b]"), json!("b")));
        assert!(ok(&parse("lte: 100"), json!(100)));
        assert!(!ok(&parse("gt: 100"), json!("100")));
        assert!(!ok(&parse("gte: 1"), Value::Null));
        assert!(parse("gte: 1").judge(&json!("abc"), false).is_err());
        assert!(!ok(&parse("not_contains: '*'"), json!(["https://a", "*"])));
        assert!(ok(&parse("contains: b"), json!("abc")));
        assert!(ok(&parse("contains: k"), json!({"k": 1})));
        assert!(ok(&parse("matches: '^[0-9a-f]{4}$'"), json!("beef")));
        assert!(ok(&parse("not_matches: 'x'"), Value::Null));
        assert!(ok(&parse("exists: false"), Value::Null));
        assert!(!ok(&parse("exists: true"), Value::Null));
        assert!(ok(&parse("length: {min: 2, max: 3}"), json!([1, 2])));
        assert!(!ok(&parse("length: {equals: 2}"), json!("abc")));
        assert!(ok(&parse("jq: '. <= 100'"), json!(99)));
        assert!(!ok(
            &parse("jq: 'all(.[]; startswith(\"https://\"))'"),
            json!(["http://x"])
        ));
    }

    #[test]
    fn secrets_are_masked_in_findings() {
        let m = parse("equals: hunter2hunter2");
        let f = m.judge(&json!("hunter2hunter2"), true).unwrap();
        assert!(!format!("{f:?}").contains("hunter2"), "{f:?}");
    }
}
