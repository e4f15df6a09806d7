//! The security headers a browser acts on: clickjacking protection (X-Frame-Options, or
//! CSP `frame-ancestors`, which overrides it) and `X-Content-Type-Options: nosniff`, read as
//! the HTML and Fetch standards have browsers read them, plus any header asked for.

use std::collections::BTreeMap;

use crate::Finding;

/// Headers the security-headers behaviour reports.
pub const SECURITY_HEADERS: &[&str] = &[
    "x-frame-options",
    "x-content-type-options",
    "content-security-policy",
    "strict-transport-security",
    "referrer-policy",
    "permissions-policy",
];

/// The security headers judged: clickjacking protection, nosniff, and the extra ones asked for.
#[derive(Clone, Debug)]
pub struct HeaderVerdict {
    /// X-Frame-Options, or CSP `frame-ancestors`.
    pub frame: Finding,
    /// `X-Content-Type-Options: nosniff`.
    pub nosniff: Finding,
    /// One finding per header of `also`.
    pub also: Vec<Finding>,
}

impl HeaderVerdict {
    /// Every finding, in order.
    pub fn findings(self) -> Vec<Finding> {
        let mut out = vec![self.frame, self.nosniff];
        out.extend(self.also);
        out
    }
}

/// Judges the baseline security headers plus `also`.
pub fn judge_security_headers(h: &BTreeMap<String, String>, also: &[String]) -> HeaderVerdict {
    let framed = framing(h);
    let frame = Finding::new(
        framed.is_ok(),
        "X-Frame-Options or CSP frame-ancestors",
        framed.unwrap_or_else(|why| why),
    );
    // Fetch's "determine nosniff": the first value decides.
    let xcto = h.get("x-content-type-options");
    let nosniff = Finding::new(
        xcto.and_then(|v| values(v).into_iter().next())
            .is_some_and(|v| v.eq_ignore_ascii_case("nosniff")),
        "X-Content-Type-Options: nosniff",
        xcto.cloned().unwrap_or_else(|| "absent".into()),
    );
    let also = also
        .iter()
        .map(|name| {
            let v = h.get(&name.to_ascii_lowercase());
            Finding::new(
                v.is_some(),
                format!("{name} present"),
                v.cloned().unwrap_or_else(|| "absent".into()),
            )
        })
        .collect();
    HeaderVerdict {
        frame,
        nosniff,
        also,
    }
}

/// Whether framing by other sites is refused, as the HTML standard has browsers decide: a
/// CSP `frame-ancestors` (in any enforced policy) overrides X-Frame-Options; of the latter
/// only `DENY` and `SAMEORIGIN` protect (`ALLOW-FROM` is ignored), and conflicting values
/// block. `Ok` says what protects, `Err` why nothing does.
fn framing(h: &BTreeMap<String, String>) -> Result<String, String> {
    let xfo = h.get("x-frame-options");
    let ancestors: Vec<String> = h
        .get("content-security-policy")
        .map(|csp| csp.split(',').filter_map(frame_ancestors).collect())
        .unwrap_or_default();
    if !ancestors.is_empty() {
        let overrides = if xfo.is_some() {
            " (it overrides X-Frame-Options)"
        } else {
            ""
        };
        return match ancestors.iter().find(|a| !allows_any_site(a)) {
            Some(a) => Ok(format!("CSP frame-ancestors {a}{overrides}")),
            None => Err(format!(
                "CSP frame-ancestors {} lets any site frame the page{overrides}",
                ancestors.join(" and ")
            )),
        };
    }
    let Some(v) = xfo else {
        return Err("neither".into());
    };
    let mut set: Vec<String> = values(v).iter().map(|x| x.to_ascii_lowercase()).collect();
    set.sort();
    set.dedup();
    let known = |x: &String| matches!(x.as_str(), "deny" | "sameorigin" | "allowall");
    let protects = match set.as_slice() {
        [one] => one == "deny" || one == "sameorigin",
        many => many.len() > 1 && many.iter().any(known),
    };
    if protects {
        Ok(format!("X-Frame-Options: {v}"))
    } else {
        Err(format!(
            "X-Frame-Options: {v}, which does not refuse framing (only DENY or SAMEORIGIN do; ALLOW-FROM is ignored)"
        ))
    }
}

/// The source list of a policy's first `frame-ancestors` directive, if it has one.
fn frame_ancestors(policy: &str) -> Option<String> {
    let mut seen = Vec::new();
    for directive in policy.split(';') {
        let mut words = directive.split_ascii_whitespace();
        let Some(name) = words.next().map(str::to_ascii_lowercase) else {
            continue;
        };
        // A directive given twice: the first counts.
        if seen.contains(&name) {
            continue;
        }
        if name == "frame-ancestors" {
            let sources: Vec<&str> = words.collect();
            return Some(if sources.is_empty() {
                "(empty: 'none')".into()
            } else {
                sources.join(" ")
            });
        }
        seen.push(name);
    }
    None
}

/// `*`, a bare scheme (`https:`) or any host of a scheme (`https://*`).
fn allows_any_site(sources: &str) -> bool {
    sources.split_ascii_whitespace().any(|s| {
        s == "*"
            || (s.ends_with(':') && !s.contains('/'))
            || s.split_once("://").is_some_and(|(_, host)| {
                host == "*" || host.starts_with("*:") || host.starts_with("*/")
            })
    })
}

/// A header's values, split at commas (several headers arrive joined by `, `).
fn values(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(headers: &[(&str, &str)]) -> bool {
        let h = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        judge_security_headers(&h, &[]).frame.ok
    }

    fn nosniff(v: &str) -> bool {
        let h = [("x-content-type-options".to_string(), v.to_string())].into();
        judge_security_headers(&h, &[]).nosniff.ok
    }

    #[test]
    fn framing_is_judged_as_browsers_enforce_it() {
        let xfo = |v| frame(&[("x-frame-options", v)]);
        let csp = |v| frame(&[("content-security-policy", v)]);
        // Protection.
        assert!(xfo("DENY"));
        assert!(xfo("sameorigin"));
        assert!(
            xfo("DENY, DENY"),
            "an application and its proxy both sending it"
        );
        assert!(xfo("DENY, SAMEORIGIN"), "a conflict blocks framing");
        assert!(csp("default-src 'self'; frame-ancestors 'none'"));
        assert!(csp("FRAME-ANCESTORS 'self' https://app.example.com"));
        assert!(
            csp("frame-ancestors *, frame-ancestors 'self'"),
            "each policy applies"
        );
        // No protection: values browsers ignore, sources that allow any site.
        assert!(!xfo("ALLOW-FROM https://partner.example.com"));
        assert!(!xfo("ALLOWALL"));
        assert!(!xfo("yes"));
        assert!(!csp("frame-ancestors *"));
        assert!(!csp("frame-ancestors https:"));
        assert!(!csp("default-src 'self'; report-uri /frame-ancestors"));
        // frame-ancestors overrides X-Frame-Options.
        assert!(!frame(&[
            ("x-frame-options", "DENY"),
            ("content-security-policy", "frame-ancestors *"),
        ]));
        assert!(frame(&[
            ("x-frame-options", "ALLOWALL"),
            ("content-security-policy", "frame-ancestors 'none'"),
        ]));
    }

    #[test]
    fn nosniff_is_the_first_value() {
        assert!(nosniff("nosniff"));
        assert!(nosniff("NoSniff"));
        assert!(nosniff("nosniff, nosniff"));
        assert!(!nosniff("sniff, nosniff"));
        assert!(!nosniff(""));
    }
}
