//! What an item's words and headings suggest: its phase, severity and roles. Each guess
//! says what it was taken from, for the comment the author reviews.

use shipcheck_core::pack::{Phase, Role, Severity};

/// A guessed value and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Guess<T> {
    pub value: T,
    pub from: String,
}

/// Phrases that name a phase, most specific first.
const PHASES: &[(Phase, &[&str])] = &[
    (
        Phase::FirstHour,
        &[
            "first hour",
            "within an hour",
            "within 1 hour",
            "hour 1",
            "after an hour",
        ],
    ),
    (
        Phase::FirstDay,
        &[
            "day 1",
            "first day",
            "first 24 hours",
            "within 24 hours",
            "24h",
            "day one",
        ],
    ),
    (
        Phase::FirstWeek,
        &[
            "first week",
            "week 1",
            "within a week",
            "first 7 days",
            "week one",
        ],
    ),
    (
        Phase::PostDeployImmediate,
        &[
            "immediately after",
            "right after",
            "just after",
            "post-deploy",
            "post deploy",
            "after deploy",
            "after going live",
            "after launch",
            "smoke test",
            "verification after",
        ],
    ),
    (
        Phase::Periodic,
        &[
            "ongoing",
            "monthly",
            "weekly",
            "quarterly",
            "periodic",
            "regularly",
            "every month",
            "every week",
            "maintenance",
            "recurring",
            "annually",
            "review schedule",
        ],
    ),
    (
        Phase::PreDeploy,
        &[
            "before deploy",
            "pre-deploy",
            "pre deploy",
            "before going live",
            "before launch",
            "pre-launch",
            "pre-production",
            "before production",
            "preparation",
            "prerequisites",
        ],
    ),
];

/// The phase: the item's own words first, then its headings from the nearest out.
pub fn phase(text: &str, headings: &[&str]) -> Guess<Phase> {
    let own = std::iter::once(("the item", text));
    let heads = headings.iter().rev().map(|h| ("the heading", *h));
    for (place, words) in own.chain(heads) {
        let lower = words.to_lowercase();
        for (phase, phrases) in PHASES {
            if let Some(p) = phrases.iter().find(|p| lower.contains(*p)) {
                let shown = if place == "the item" {
                    format!("\"{p}\" in the item")
                } else {
                    format!("\"{p}\" in the heading \"{words}\"")
                };
                return Guess {
                    value: *phase,
                    from: shown,
                };
            }
        }
    }
    Guess {
        value: Phase::PreDeploy,
        from: "no phase words: the default".into(),
    }
}

/// Words that raise or lower a severity, strongest first.
const SEVERITIES: &[(Severity, &[&str])] = &[
    (
        Severity::Critical,
        &[
            "critical", "never", "must not", "mustn't", "do not", "don't",
        ],
    ),
    (
        Severity::High,
        &[
            "must",
            "security",
            "secure",
            "secret",
            "password",
            "token",
            "credential",
            "tls",
            "encrypt",
            "auth",
            "private key",
            "firewall",
            "required",
        ],
    ),
    (
        Severity::Low,
        &[
            "consider",
            "optional",
            "nice to have",
            "could",
            "may ",
            "if needed",
            "recommended",
        ],
    ),
    (Severity::Medium, &["should"]),
];

/// The severity from the item's words (and its headings when they say nothing).
pub fn severity(text: &str, headings: &[&str]) -> Guess<Severity> {
    for (place, words) in std::iter::once(("the item", text))
        .chain(headings.iter().rev().map(|h| ("the heading", *h)))
    {
        let lower = format!("{} ", words.to_lowercase());
        for (severity, cues) in SEVERITIES {
            if let Some(w) = cues.iter().find(|w| contains_word(&lower, w)) {
                return Guess {
                    value: *severity,
                    from: format!("\"{}\" in {place}", w.trim()),
                };
            }
        }
    }
    Guess {
        value: Severity::Medium,
        from: "no severity words: the default".into(),
    }
}

/// Words that name who checks an item.
const ROLES: &[(Role, &[&str])] = &[
    (
        Role::Security,
        &["security team", "security", "secops", "ciso", "pentest"],
    ),
    (
        Role::Compliance,
        &[
            "compliance",
            "audit",
            "gdpr",
            "soc 2",
            "soc2",
            "legal",
            "hipaa",
            "pci",
        ],
    ),
    (
        Role::Operations,
        &[
            "on-call",
            "on call",
            "sre",
            "ops",
            "operations",
            "dba",
            "database administrator",
            "sysadmin",
            "infrastructure",
        ],
    ),
    (
        Role::Development,
        &[
            "developer",
            "dev team",
            "engineering",
            "engineer",
            "code review",
        ],
    ),
    (
        Role::Management,
        &[
            "manager",
            "stakeholder",
            "product owner",
            "leadership",
            "management",
        ],
    ),
];

/// The roles named by the item's words or its headings (operations when none is).
pub fn roles(text: &str, headings: &[&str]) -> Guess<Vec<Role>> {
    for (place, words) in std::iter::once(("the item", text))
        .chain(headings.iter().rev().map(|h| ("the heading", *h)))
    {
        let lower = words.to_lowercase();
        let found: Vec<(Role, &str)> = ROLES
            .iter()
            .filter_map(|(r, cues)| {
                cues.iter()
                    .find(|c| contains_word(&lower, c))
                    .map(|c| (*r, *c))
            })
            .collect();
        if !found.is_empty() {
            let words: Vec<String> = found.iter().map(|(_, w)| format!("\"{w}\"")).collect();
            return Guess {
                value: found.iter().map(|(r, _)| *r).collect(),
                from: format!("{} in {place}", words.join(", ")),
            };
        }
    }
    Guess {
        value: vec![Role::Operations],
        from: "no role words: operations".into(),
    }
}

/// Whether `cue` occurs in `text` at word boundaries (a plural `s` allowed).
fn contains_word(text: &str, cue: &str) -> bool {
    let cue = cue.trim_end();
    text.match_indices(cue).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        // A plural counts: "tokens" is "token".
        let rest = &text[i + cue.len()..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        let after = rest.chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_headings_decide() {
        assert_eq!(
            phase("Check error rates", &["Launch", "First hour"]).value,
            Phase::FirstHour
        );
        assert_eq!(
            phase("Rotate keys monthly", &["Before deploy"]).value,
            Phase::Periodic
        );
        assert_eq!(phase("Check it", &["Day 1"]).value, Phase::FirstDay);
        assert_eq!(phase("Check it", &[]).from, "no phase words: the default");
        assert_eq!(
            severity("Never expose the admin port", &[]).value,
            Severity::Critical
        );
        assert_eq!(severity("Tokens are rotated", &[]).value, Severity::High);
        assert_eq!(severity("Consider a CDN", &[]).value, Severity::Low);
        assert_eq!(
            severity("Dashboards should exist", &[]).value,
            Severity::Medium
        );
        // "mustard" is not "must".
        assert_eq!(severity("mustard", &[]).value, Severity::Medium);
        assert_eq!(
            roles("The DBA checks restores", &[]).value,
            vec![Role::Operations]
        );
        assert_eq!(
            roles("Pen test", &["Security team sign-off"]).value,
            vec![Role::Security]
        );
        assert_eq!(roles("Something", &[]).from, "no role words: operations");
    }
}
