//! Deployment identity: the name every record (run, attestation, waiver, sign-off, baseline)
//! belongs to, together with an environment. A profile names its deployment
//! (`deployment: payments-gateway`); one that does not gets a name derived from where it
//! lives (the folder of a `shipcheck.yaml`, else the file's stem), the same derivation the
//! ledger applies to runs recorded before deployments existed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Longest deployment name, label key or label value.
pub const MAX_LEN: usize = 63;

/// A validated deployment name: lowercase letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit, at most [`MAX_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeploymentId(String);

impl DeploymentId {
    /// Checks a name as written in a profile or on the command line.
    pub fn parse(text: &str) -> Result<DeploymentId, String> {
        check_name(text, "deployment name")?;
        Ok(DeploymentId(text.to_string()))
    }

    /// The name derived from a profile's path: its folder's name for a `shipcheck.yaml` (or
    /// `.yml`), else the file's stem; lowercased, other characters turned into `-`.
    pub fn derived_from(profile_path: &Path) -> DeploymentId {
        let stem = profile_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = if stem == "shipcheck" {
            profile_path
                .parent()
                .and_then(Path::file_name)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            stem
        };
        DeploymentId(slug(&base))
    }

    /// The deployment of a recorded run: its `deployment` field, else (a run recorded before
    /// deployments existed) the name derived from its profile's path (`profile_id`, else
    /// `profile`).
    pub fn of_recorded_run(deployment: &str, profile_id: &str, profile: &str) -> String {
        if !deployment.is_empty() {
            return deployment.to_string();
        }
        let path = if profile_id.is_empty() {
            profile
        } else {
            profile_id
        };
        Self::derived_from(Path::new(path)).0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `text` as a valid name: lowercase, runs of other characters as one `-`, trimmed, cut to
/// [`MAX_LEN`]; `default` when nothing is left.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(MAX_LEN)
        .collect();
    let trimmed = trimmed.trim_end_matches(['-', '.', '_']).to_string();
    if trimmed.is_empty() {
        "default".into()
    } else {
        trimmed
    }
}

fn check_name(text: &str, what: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.len() > MAX_LEN {
        return Err(format!(
            "the {what} `{text}` is longer than {MAX_LEN} characters"
        ));
    }
    if let Some(bad) = text.chars().find(|c| !ok_char(*c)) {
        return Err(format!(
            "the {what} `{text}` holds `{bad}`: use lowercase letters, digits, `-`, `_` and `.` (e.g. `{}`)",
            slug(text)
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "the {what} `{text}` must start with a letter or a digit"
        ));
    }
    Ok(())
}

/// Checks a profile's `labels:` (`team: payments`): keys are names as above (a `/` is also
/// allowed, as in `example.com/tier`), values are non-empty single-line text of at most
/// [`MAX_LEN`] characters. The first problem, with the key.
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    for (k, v) in labels {
        let key_ok = k
            .split('/')
            .all(|part| check_name(part, "label key").is_ok());
        if !key_ok {
            return Err((
                k.clone(),
                format!(
                    "label key `{k}`: use lowercase letters, digits, `-`, `_`, `.` and `/` (e.g. `{}`)",
                    slug(k)
                ),
            ));
        }
        if v.trim().is_empty() || v.contains(['\n', '\r']) || v.chars().count() > MAX_LEN {
            return Err((
                k.clone(),
                format!("label `{k}`: the value must be one line of 1 to {MAX_LEN} characters"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_a_name_from_where_the_profile_lives() {
        let d = |p: &str| DeploymentId::derived_from(Path::new(p)).to_string();
        assert_eq!(d("/srv/checkouts/payments/shipcheck.yaml"), "payments");
        assert_eq!(
            d("/builds/Org/Payments Gateway/shipcheck.yml"),
            "payments-gateway"
        );
        assert_eq!(d("deploy/prod-eu.yaml"), "prod-eu");
        assert_eq!(d("shipcheck.yaml"), "default");
        assert_eq!(d("/tmp/.tmpAb3/shipcheck.yaml"), "tmpab3");
        let long = format!("/x/{}/shipcheck.yaml", "a".repeat(100));
        assert_eq!(d(&long).len(), MAX_LEN);
        // Every derived name is itself valid.
        for p in [
            "/a/ü-ß/shipcheck.yaml",
            "/a/--/shipcheck.yaml",
            "/a/x..y/z.yaml",
        ] {
            assert!(DeploymentId::parse(&d(p)).is_ok(), "{p} -> {}", d(p));
        }
    }

    #[test]
    fn names_are_checked_with_a_suggestion() {
        assert!(DeploymentId::parse("payments-gateway").is_ok());
        let e = DeploymentId::parse("Payments Gateway").unwrap_err();
        assert!(e.contains("`payments-gateway`"), "{e}");
        assert!(DeploymentId::parse("").is_err());
        assert!(DeploymentId::parse("-x").is_err());
        assert!(DeploymentId::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn labels_are_checked() {
        let l = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(check_labels(&l("team", "payments")).is_ok());
        assert!(check_labels(&l("example.com/tier", "1")).is_ok());
        assert_eq!(check_labels(&l("Team", "x")).unwrap_err().0, "Team");
        assert!(check_labels(&l("team", "")).is_err());
        assert!(check_labels(&l("team", "a\nb")).is_err());
    }
}
