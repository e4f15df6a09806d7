//! Audit reports for a terminal.

use super::*;
use shipcheck_core::text::printable;

/// Renders audit reports for a terminal.
pub fn render(reports: &[AuditReport], color: bool) -> String {
    use std::fmt::Write;
    let paint = |code: &str, t: &str| {
        if color {
            format!("\x1b[{code}m{t}\x1b[0m")
        } else {
            t.to_string()
        }
    };
    let mut out = String::new();
    for r in reports {
        // What a server sent (a certificate's names, headers) is printed with its control
        // characters escaped.
        let target = printable(&r.target);
        let _ = writeln!(
            out,
            "{}",
            paint("1", &format!("{} {target}  grade {}", r.kind, r.grade()))
        );
        if let Some(e) = &r.error {
            let _ = writeln!(
                out,
                "  {} could not check: {}",
                paint("35", "?"),
                printable(e)
            );
            continue;
        }
        for line in summary_lines(r) {
            let _ = writeln!(out, "  {}", printable(&line));
        }
        for e in &r.errors {
            let _ = writeln!(
                out,
                "  {} could not run: {}",
                paint("35", "?"),
                printable(e)
            );
        }
        if r.findings.is_empty() && r.errors.is_empty() {
            let _ = writeln!(out, "  {} no findings", paint("32", "✓"));
        }
        for f in &r.findings {
            let _ = writeln!(
                out,
                "  {} [{}] {}  {}",
                paint("31", "✗"),
                f.severity.as_str(),
                f.id,
                printable(&f.message)
            );
        }
    }
    if reports.len() > 1 {
        out.push_str(&summary_table(reports));
    }
    out
}

/// One row per target: grade, findings by severity, and whether every check ran.
fn summary_table(reports: &[AuditReport]) -> String {
    use std::fmt::Write;
    let width = reports
        .iter()
        .map(|r| printable(&r.target).chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "\n{:<width$}  kind      grade  crit  high  med  low  info  checked\n",
        "target"
    );
    for r in reports {
        let n = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
        let checked = if r.error.is_some() {
            "no"
        } else if r.errors.is_empty() {
            "all"
        } else {
            "partly"
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:<5}  {:>4}  {:>4}  {:>3}  {:>3}  {:>4}  {checked}",
            printable(&r.target),
            r.kind,
            r.grade(),
            n(Severity::Critical),
            n(Severity::High),
            n(Severity::Medium),
            n(Severity::Low),
            n(Severity::Info),
        );
    }
    out
}

fn summary_lines(r: &AuditReport) -> Vec<String> {
    let o = &r.observed;
    let mut v = Vec::new();
    match r.kind {
        "tls" => {
            if let Some(p) = o.get("protocols").and_then(Value::as_object) {
                let shown: Vec<String> = p
                    .iter()
                    .map(|(k, a)| {
                        format!(
                            "{k} {}",
                            if a.as_bool() == Some(true) {
                                "yes"
                            } else {
                                "no"
                            }
                        )
                    })
                    .collect();
                v.push(format!("protocols: {}", shown.join(" · ")));
            }
            if let Some(n) = o.get("negotiated").and_then(Value::as_str) {
                v.push(format!("negotiated: {n}"));
            }
            for (key, label) in [
                ("insecure_ciphers", "insecure ciphers"),
                ("weak_ciphers", "weak ciphers"),
                ("tls13_suites", "TLS 1.3 suites"),
                ("groups", "groups"),
            ] {
                if let Some(list) = o.get(key).and_then(Value::as_array) {
                    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                    // A scan cut short found what it found; "none" would claim the rest.
                    let cut_short = key.ends_with("_ciphers")
                        && r.errors.iter().any(|e| e.starts_with("cipher scan"));
                    v.push(format!(
                        "{label}: {}{}",
                        match (names.is_empty(), cut_short) {
                            (true, false) => "none".into(),
                            (true, true) => "none found".into(),
                            (false, _) => names.join(", "),
                        },
                        if cut_short {
                            " (the scan did not finish)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            if let Some(c) = o.get("certificate") {
                v.push(format!(
                    "certificate: {} · issuer {} · SANs {} · {} to {} ({} days left) · {} {} · {}",
                    c["subject"].as_str().unwrap_or("?"),
                    c["issuer"].as_str().unwrap_or("?"),
                    c["sans"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default(),
                    c["not_before"].as_str().unwrap_or("?"),
                    c["not_after"].as_str().unwrap_or("?"),
                    c["days_left"],
                    c["key_type"].as_str().unwrap_or("?"),
                    c["key_bits"],
                    c["signature_algorithm"].as_str().unwrap_or("?"),
                ));
                v.push(format!(
                    "trusted: {}",
                    if o["trusted"] == true {
                        "yes".to_string()
                    } else {
                        format!("no ({})", o["trust_error"].as_str().unwrap_or("?"))
                    }
                ));
            }
        }
        "http" => {
            v.push(format!("status: {}", o["status"]));
            if let Some(r) = o.get("redirect") {
                v.push(match r.get("error").and_then(Value::as_str) {
                    Some(e) => format!("redirect: {} → {e}", r["sent"].as_str().unwrap_or("")),
                    None => format!(
                        "redirect: {} → {} {}",
                        r["sent"].as_str().unwrap_or(""),
                        r["status"],
                        r["location"].as_str().unwrap_or("(no Location)")
                    ),
                });
            }
            if let Some(h) = o.get("strict-transport-security") {
                v.push(format!("hsts: {}", h.as_str().unwrap_or("(none)")));
            }
            if let Some(h) = o.get("security_headers").and_then(Value::as_object) {
                let shown: Vec<String> = h
                    .iter()
                    .filter(|(k, _)| *k != "strict-transport-security")
                    .map(|(k, x)| format!("{k}: {}", x.as_str().unwrap_or("")))
                    .collect();
                v.push(format!(
                    "headers: {}",
                    if shown.is_empty() {
                        "(none of the security headers)".to_string()
                    } else {
                        shown.join(" · ")
                    }
                ));
            }
            if let Some(c) = o.get("cors").and_then(Value::as_array) {
                let allowed: Vec<String> = c
                    .iter()
                    .filter(|x| !x["access-control-allow-origin"].is_null())
                    .map(|x| {
                        format!(
                            "{}{} → {}",
                            x["origin"].as_str().unwrap_or(""),
                            if x["preflight"] == true {
                                " (preflight)"
                            } else {
                                ""
                            },
                            x["access-control-allow-origin"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                v.push(format!(
                    "cors (hostile origins): {}",
                    if allowed.is_empty() {
                        "no Access-Control-Allow-Origin".to_string()
                    } else {
                        allowed.join(" · ")
                    }
                ));
            }
            if let Some(a) = o.get("auth") {
                v.push(format!(
                    "auth: without credentials {} · wrong token {}",
                    a["without_credentials"], a["wrong_token"]
                ));
            }
            if let Some(r) = o.get("rate_limit") {
                v.push(format!(
                    "rate limit: burst of {} → 429 at request {}",
                    r["burst"], r["limited_at"]
                ));
            }
        }
        "postgres" => {
            if let Some(map) = o.as_object() {
                v.extend(
                    map.iter()
                        .filter(|(k, _)| *k != "trust_rules")
                        .map(|(k, x)| {
                            format!(
                                "{k}: {}",
                                x.as_str().map_or_else(|| x.to_string(), String::from)
                            )
                        }),
                );
            }
        }
        _ => v.push(format!(
            "observed: {}",
            shipcheck_core::matcher::show(o, false)
        )),
    }
    v
}
