//! The pack's YAML text. Values are written as JSON (valid YAML), so any text a checklist
//! holds is quoted safely; each guess and proposal is a comment the author reviews.

use serde_json::Value;

use crate::Item;

/// `value` as a YAML flow value.
pub fn flow(value: &Value) -> String {
    value.to_string()
}

fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

/// One section, its items indented under a `- ` at `indent` spaces.
pub fn section(out: &mut String, indent: usize, id: &str, title: &str, items: &[Item]) {
    let pad = " ".repeat(indent);
    out.push_str(&format!(
        "{pad}- id: {id}\n{pad}  title: {}\n{pad}  items:\n",
        quoted(title)
    ));
    for item in items {
        self::item(out, indent + 4, item);
    }
}

fn item(out: &mut String, indent: usize, item: &Item) {
    let pad = " ".repeat(indent);
    let roles: Vec<&str> = item.roles.value.iter().map(|r| r.as_str()).collect();
    out.push_str(&format!("{pad}- id: {}\n", item.id));
    out.push_str(&format!("{pad}  title: {}\n", quoted(&item.title)));
    out.push_str(&format!(
        "{pad}  # guessed: severity from {}; phase from {}; roles from {}\n",
        item.severity.from, item.phase.from, item.roles.from
    ));
    out.push_str(&format!(
        "{pad}  severity: {}\n",
        item.severity.value.as_str()
    ));
    out.push_str(&format!("{pad}  phase: {}\n", item.phase.value.as_str()));
    out.push_str(&format!("{pad}  why: {}\n", quoted(&item.why)));
    out.push_str(&format!("{pad}  fix: {}\n", quoted(&item.fix)));
    out.push_str(&format!("{pad}  source: {}\n", flow(&item.source)));
    match &item.proposal {
        Some((p, from)) => {
            out.push_str(&format!(
                "{pad}  # proposed from `{}` (line {}): {}\n{pad}  review: true  # accept the check below by removing this line\n",
                from.text.replace('\n', " "),
                from.line,
                p.what
            ));
            out.push_str(&format!("{pad}  check: {}\n", flow(&p.check)));
        }
        None => {
            out.push_str(&format!(
                "{pad}  attest: {}\n",
                flow(&serde_json::json!({"roles": roles}))
            ));
        }
    }
    for (cmd, line, note) in &item.unproposed {
        out.push_str(&format!(
            "{pad}  # also near it: `{}` (line {line}): {note}\n",
            cmd.replace('\n', " ")
        ));
    }
}
