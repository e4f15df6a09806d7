//! The security headers of every response, and the Content-Security-Policy: only this
//! server's stylesheet, and the HTML report's own inline style and script by hash.

/// The policy every response carries.
pub fn content_security_policy() -> String {
    use base64::Engine;
    let hash = |text: &str| {
        use sha2::Digest;
        let d = sha2::Sha256::digest(text.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(d)
        )
    };
    format!(
        "default-src 'none'; style-src 'self' {}; script-src {}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        hash(shipcheck_report::html::CSS),
        hash(shipcheck_report::html::SCRIPT)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_policy_admits_the_report_by_hash_only() {
        let csp = super::content_security_policy();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'sha256-") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
    }
}
