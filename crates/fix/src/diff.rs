//! A planned change shown as a unified diff, with every secret masked (masked before the
//! diff is made, so no line of it, context lines included, can hold one): the values known
//! to be secret, and the value of every key whose name looks secret (`token`, `password`…).

/// The unified diff of `before` → `after` for `path`, secrets replaced by `<secret: N chars>`.
pub fn unified(path: &str, before: &str, after: &str, secrets: &[String]) -> String {
    let (b, a) = (mask(before, secrets), mask(after, secrets));
    similar::TextDiff::from_lines(&b, &a)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// `text` with each secret (longest first) replaced by its length.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        out = out.replace(
            s.as_str(),
            &format!("<secret: {} chars>", s.chars().count()),
        );
    }
    mask_keyed(&out)
}

/// `key: value`, `key = value`, `KEY=value` pairs (quoted or not), anywhere in a line.
fn pairs() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*[:=][ \t]*(?P<val>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,}\]#;]+)"#,
        )
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
    })
}

/// The value of each pair whose key looks secret, replaced by its length.
fn mask_keyed(text: &str) -> String {
    pairs()
        .replace_all(text, |c: &regex::Captures<'_>| {
            let (whole, key, val) = (&c[0], &c["key"], &c["val"]);
            let inner = val.trim_matches(['"', '\'']);
            if !shipcheck_core::redact::looks_secret(key)
                || inner.starts_with("<secret:")
                || inner.is_empty()
            {
                return whole.to_string();
            }
            let at = whole.len() - val.len();
            format!("{}<secret: {} chars>", &whole[..at], inner.chars().count())
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_the_diff() {
        let d = unified(
            "gateway.env",
            "A=1\nTOKEN=weak-token\n",
            "A=1\nTOKEN=0123456789abcdef\n",
            &["weak-token".into(), "0123456789abcdef".into()],
        );
        assert!(d.contains("-TOKEN=<secret: 10 chars>"), "{d}");
        assert!(d.contains("+TOKEN=<secret: 16 chars>"), "{d}");
        assert!(!d.contains("weak-token") && !d.contains("0123456789abcdef"));
        assert!(
            d.starts_with("--- a/gateway.env\n+++ b/gateway.env\n"),
            "{d}"
        );
    }

    #[test]
    fn context_lines_with_secret_keys_are_masked_too() {
        let before = "A=1\nDB_PASSWORD=hunter22\nauth: { mode: \"token\", token: \"changeme-gateway\" },\nrateLimit: 1\nPORT=80\n";
        let after = before.replace("rateLimit: 1\n", "");
        let d = unified("f", before, &after, &[]);
        assert!(
            !d.contains("hunter22") && !d.contains("changeme-gateway"),
            "{d}"
        );
        assert!(d.contains("DB_PASSWORD=<secret: 8 chars>"), "{d}");
        assert!(d.contains("token: <secret: 16 chars>"), "{d}");
        assert!(
            d.contains("mode: \"token\""),
            "a value that names a secret is not one: {d}"
        );
    }
}
