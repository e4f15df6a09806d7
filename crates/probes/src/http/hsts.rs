//! Strict-Transport-Security, read as RFC 6797 (section 6.1) has browsers read it: a header
//! that is not valid (a directive twice, no `max-age`, a value that is not a number, the
//! header sent twice) is ignored by them, so it never passes.

use crate::Finding;

/// Default minimum HSTS max-age, for pack items and `shipcheck probe http` alike: one year,
/// as the HSTS preload list and Mozilla's guidelines ask.
pub const HSTS_MIN_MAX_AGE: u64 = 31_536_000;

/// A valid Strict-Transport-Security header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hsts {
    pub max_age: u64,
    pub include_subdomains: bool,
    pub preload: bool,
}

/// Parses a header value (several headers arrive joined by `, `). Hand-written: the grammar
/// is four lines, and no maintained crate parses it on its own.
pub fn parse(value: &str) -> Result<Hsts, String> {
    if has_comma_outside_quotes(value) {
        return Err(format!(
            "`{value}`: Strict-Transport-Security is sent more than once (or holds a comma), which browsers need not honour: send it once"
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut hsts = Hsts {
        max_age: 0,
        include_subdomains: false,
        preload: false,
    };
    let mut max_age = None;
    for directive in value.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (name, arg) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (directive, None),
        };
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(format!(
                "`{value}`: the directive `{name}` is given twice, so browsers ignore the header (RFC 6797 6.1)"
            ));
        }
        seen.push(lower.clone());
        match (lower.as_str(), arg) {
            ("max-age", Some(v)) => {
                let digits = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                let digits = digits.unwrap_or(v);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "`{value}`: max-age `{v}` is not a number of seconds, so browsers ignore the header"
                    ));
                }
                // More digits than u64 holds: as long as any browser keeps it.
                max_age = Some(digits.parse().unwrap_or(u64::MAX));
            }
            ("max-age", None) => {
                return Err(format!("`{value}`: max-age has no value"));
            }
            ("includesubdomains", _) => hsts.include_subdomains = true,
            ("preload", _) => hsts.preload = true,
            // Unknown directives are ignored, as browsers do.
            _ => {}
        }
    }
    hsts.max_age = max_age.ok_or_else(|| {
        format!("`{value}`: no max-age, which the header needs: browsers ignore it")
    })?;
    Ok(hsts)
}

fn has_comma_outside_quotes(value: &str) -> bool {
    let mut quoted = false;
    value.chars().any(|c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
}

/// Judges a Strict-Transport-Security header.
pub fn judge_hsts(
    value: Option<&str>,
    min_max_age: u64,
    include_subdomains: bool,
    preload: bool,
) -> Vec<Finding> {
    let Some(v) = value else {
        return vec![Finding::new(
            false,
            "Strict-Transport-Security present",
            "absent",
        )];
    };
    let expected = format!("HSTS max-age ≥ {min_max_age}");
    let hsts = match parse(v) {
        Ok(h) => h,
        Err(e) => return vec![Finding::new(false, expected, e)],
    };
    let mut out = vec![Finding::new(
        hsts.max_age >= min_max_age,
        expected,
        v.to_string(),
    )];
    if include_subdomains {
        out.push(Finding::new(
            hsts.include_subdomains,
            "HSTS includeSubDomains",
            v.to_string(),
        ));
    }
    if preload {
        out.push(Finding::new(hsts.preload, "HSTS preload", v.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_age(v: &str) -> Option<u64> {
        parse(v).ok().map(|h| h.max_age)
    }

    #[test]
    fn hsts_rules() {
        assert_eq!(
            max_age("max-age=31536000; includeSubDomains"),
            Some(31_536_000)
        );
        assert_eq!(max_age("includeSubDomains; max-age=\"60\""), Some(60));
        assert!(
            judge_hsts(Some("max-age=100"), 31_536_000, false, false)
                .iter()
                .any(|f| !f.ok)
        );
        assert!(
            judge_hsts(
                Some("max-age=31536000; includeSubDomains"),
                31_536_000,
                true,
                false
            )
            .iter()
            .all(|f| f.ok)
        );
        assert!(!judge_hsts(None, 1, false, false)[0].ok);
        // Invalid headers, which browsers ignore: never a pass.
        for bad in [
            "max-age=31536000; max-age=0",
            "max-age=31536000; includeSubDomains; includesubdomains",
            "max-age=31536000, max-age=31536000",
            "max-age=31536000abc",
            "includeSubDomains",
        ] {
            assert!(
                judge_hsts(Some(bad), 1, false, false).iter().any(|f| !f.ok),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_reason_a_header_is_invalid_is_said() {
        let e = parse("max-age=31536000; max-age=0").expect_err("twice");
        assert!(e.contains("given twice"), "{e}");
        let e = parse("max-age=1, max-age=2").expect_err("sent twice");
        assert!(e.contains("more than once"), "{e}");
        assert_eq!(
            parse("MAX-AGE=\"5\";;IncludeSubDomains; preload; foo=bar"),
            Ok(Hsts {
                max_age: 5,
                include_subdomains: true,
                preload: true
            })
        );
    }
}
