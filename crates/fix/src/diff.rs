//! A planned change shown as a unified diff, with every secret masked (masked before the
//! diff is made, so no line of it can hold one).

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
    out
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
}
