//! The commented profile `shipcheck init` writes for a pack: every variable with its doc,
//! type and default, the endpoints, and the gate settings.

/// A commented profile for `pack`, written by `shipcheck init`. `pack_ref` is how the
/// profile names the pack (a built-in name or a path); `deployment` names the deployment.
pub fn template(
    pack: &crate::pack::Pack,
    pack_ref: &str,
    deployment: &crate::deployment::DeploymentId,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# shipcheck profile: which packs apply to this deployment, with which values."
    );
    let _ = writeln!(
        out,
        "# Run it with: shipcheck check --profile shipcheck.yaml [--env staging]"
    );
    let _ = writeln!(out, "# Schema: shipcheck schema profile");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# The deployment this profile checks: its runs, attestations, waivers and sign-offs"
    );
    let _ = writeln!(
        out,
        "# belong to it, wherever the profile is checked out. Labels are free-form."
    );
    let _ = writeln!(out, "deployment: {deployment}");
    let _ = writeln!(out, "# labels: {{team: payments, region: eu-west-1}}");
    let _ = writeln!(out);
    let _ = writeln!(out, "packs:");
    let _ = writeln!(out, "  - {pack_ref}  # {} {}", pack.title, pack.version);
    let _ = writeln!(out);
    let _ = writeln!(out, "# Environment used when --env is not given.");
    let _ = writeln!(out, "environment: production");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# Values shared by every environment. Relative paths start at this file's folder."
    );
    let _ = writeln!(out, "vars:");
    let mut uncommented = 0;
    for v in &pack.variables {
        let _ = writeln!(
            out,
            "  # {}{}",
            v.doc.trim(),
            if v.required { " (required)" } else { "" }
        );
        if !v.allowed.is_empty() {
            let _ = writeln!(out, "  # one of: {}", v.allowed.join(", "));
        } else if v.kind != crate::pack::vartype::VarType::String {
            let _ = writeln!(out, "  # {}", v.kind.expected());
        }
        if v.secret {
            let _ = writeln!(
                out,
                "  # secret: prefer ${{env:NAME}} references in the pack over literal values here"
            );
        }
        match &v.default {
            Some(d) => {
                let _ = writeln!(out, "  # {}: {}", v.name.value, yaml_scalar(d));
            }
            None => {
                uncommented += 1;
                let _ = writeln!(out, "  {}: \"\"", v.name.value);
            }
        }
    }
    if uncommented == 0 {
        let _ = writeln!(out, "  {{}}");
    }
    if !pack.endpoints.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "# Endpoints the live items reach, built from the variables above. Set any part for this"
        );
        let _ = writeln!(
            out,
            "# deployment: url (http:// for a plain-HTTP front door), address, ca_file, host_header,"
        );
        let _ = writeln!(out, "# user_agent (docs/packs.md, Endpoints).");
        let _ = writeln!(out, "# endpoints:");
        for (name, e) in &pack.endpoints {
            let _ = writeln!(
                out,
                "#   {name}: {{url: {}}}{}",
                yaml_scalar(&e.url.value),
                e.doc
                    .as_ref()
                    .map(|d| format!("  # {d}"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "# Per-environment values override `vars`.");
    let _ = writeln!(out, "environments:");
    let _ = writeln!(out, "  production:");
    let _ = writeln!(out, "    vars: {{}}");
    let _ = writeln!(out, "  staging:");
    let _ = writeln!(out, "    vars: {{}}");
    let optional: Vec<&str> = pack
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .filter(|i| i.optional)
        .map(|i| i.id.value.as_str())
        .collect();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# Optional items are not_applicable unless enabled here (by id, pack:id or tag:NAME)."
    );
    if optional.is_empty() {
        let _ = writeln!(out, "enable: []");
    } else {
        let _ = writeln!(
            out,
            "# optional items of this pack: {}",
            optional.join(", ")
        );
        let _ = writeln!(out, "enable: []");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "# Accepted exceptions. An expired waiver stops waiving; one that names no item is an error."
    );
    let _ = writeln!(out, "waivers: []");
    let _ = writeln!(out, "#  - item: some.item-id");
    let _ = writeln!(
        out,
        "#    reason: TLS terminates at the load balancer until the migration in JIRA-123"
    );
    let _ = writeln!(out, "#    owner: alice@example.com");
    let _ = writeln!(out, "#    expires: 2026-12-31");
    let _ = writeln!(out);
    let _ = writeln!(out, "# What blocks the gate (command-line flags override).");
    let _ = writeln!(out, "gate:");
    let _ = writeln!(
        out,
        "  fail_on: low        # lowest severity whose fail/error blocks: critical, high, medium, low, info"
    );
    let _ = writeln!(
        out,
        "  allow_pending: false  # whether unattested manual items may pass the gate"
    );
    let _ = writeln!(
        out,
        "  require_signoff: []  # roles whose sign-off `shipcheck gate` requires, e.g. [security, operations]"
    );
    out
}

fn yaml_scalar(s: &str) -> String {
    if s.is_empty()
        || s.contains([
            '#', ':', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`',
        ])
        || s.trim() != s
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}
