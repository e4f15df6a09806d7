//! Which values of a profile are secret, so diagnostics show them as `*`: values of secret
//! variables, values under secret-looking names, and (for a file that does not parse) values
//! after secret-looking keys in the text itself.

use serde_json::Value;

use super::ProfileFile;

/// Values given for variables whose names look secret (`api_token`, `db_password`...).
pub(super) fn secret_looking_values(file: &ProfileFile) -> Vec<String> {
    file.vars
        .iter()
        .chain(file.environments.values().flat_map(|e| e.vars.iter()))
        .filter(|(k, _)| crate::redact::looks_secret(k))
        .flat_map(|(_, v)| scalars(&v.value))
        .collect()
}

/// Every scalar inside a value (a secret given as a map or a list is masked whole).
pub(super) fn scalars(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(scalars).collect(),
        Value::Object(m) => m.values().flat_map(scalars).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// Values written after a secret-looking key anywhere in YAML text (`api_token: abc`,
/// `{password: "x"}`), quoted or not, even when the text does not parse.
pub(super) fn secret_looking_text_values(text: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| {
            regex::Regex::new(
                r#"["']?([A-Za-z0-9_.-]+)["']?[ \t]*:[ \t]*("(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^,}\]\n#]+)"#,
            )
            .ok()
        })
        .as_ref()
    else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter(|c| crate::redact::looks_secret(&c[1]))
        .map(|c| c[2].trim().trim_matches(['"', '\'']).to_string())
        .filter(|v| v.chars().count() >= 4)
        .collect()
}

pub(super) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
